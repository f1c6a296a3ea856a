// Archive propagation over NATS JetStream, next to a plain local copy of the same files.
//
//   npx tsx bench/archive-propagation.ts [--json] [--scale 0.5]
//
// Also a module: `npm run bench` (bench/run.ts) calls measureArchivePropagation() in its run.
//
// Starts its own nats-server (free port, temp store), a writer in this process and a reader
// mirror in a second Node process (as on another worker), then measures:
//   - propagation latency: a file written on the writer's side → visible (downloaded, digest
//     checked, renamed into place) in the reader's mirror; p50/p99 over N files per size;
//     next to it, the same files copied into another local folder (copy + rename), which is
//     what "visible on another worker" costs with a shared disk and no store;
//   - upload throughput: uploadDir of a candidate-shaped folder (MB/s);
//   - sync throughput: a fresh mirror's full catch-up of that folder (MB/s);
//   - a local copy (fs.cp) of the same folder, in the same run, for comparison.
import { randomBytes } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { openNatsArchive, type ReconcileResult } from '../shared-fs/nats/index.js';
import { startNatsServer } from '../stack/nats-server.js';
import { projectRoot } from '../stack/state-dir.js';

const t00 = Date.now();
/** Run as a script (not imported by bench/run.ts): the CLI below, or the reader child. */
const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
const role = isMain && process.argv[2] === '--reader' ? 'reader' : 'writer';
/** Warnings to stderr; debug lines too with BENCH_DEBUG=1. */
const quiet = {
  info() {},
  debug: (m: string) => {
    if (process.env['BENCH_DEBUG']) process.stderr.write(`[${role} +${Date.now() - t00} ms] ${m}\n`);
  },
  warn: (m: string) => process.stderr.write(`[${role}] ${m}\n`),
};

// ---------------------------------------------------------------- reader mode (child process)

if (isMain && process.argv[2] === '--reader') {
  const [, , , servers, mirrorRoot] = process.argv;
  const archive = await openNatsArchive({
    servers: servers!,
    mirrorRoot: mirrorRoot!,
    log: quiet,
    onChange: (r: ReconcileResult) => {
      if (r.outcome === 'downloaded') process.stdout.write(`${JSON.stringify({ name: r.name, t: Date.now() })}\n`);
    },
  });
  await archive.startMirror();
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void archive.close().then(() => process.exit(0)));
} else if (isMain) {
  await main();
}

// ---------------------------------------------------------------- the benchmark

export interface SizeResult {
  size: string;
  bytes: number;
  files: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  uploadCallP50Ms: number;
  /** The same files copied into another local folder (copyFile + rename): the shared-disk case. */
  localCopyP50Ms: number;
  localCopyP99Ms: number;
}

export interface ThroughputResult {
  what: string;
  files: number;
  mb: number;
  ms: number;
  mbPerS: number;
}

export interface ArchivePropagationResult {
  server: string;
  node: string;
  cores: number;
  latency: SizeResult[];
  throughput: ThroughputResult[];
}

export interface ArchivePropagationOptions {
  /** Multiplies the file counts (default 1: 60/40/12 files per size, a 65 MB folder). */
  scale?: number;
  /** Progress lines (default: none). */
  say?: (message: string) => void;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const scaleArg = process.argv.indexOf('--scale');
  const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
  const result = await measureArchivePropagation({ scale, say: json ? undefined : (m) => process.stderr.write(`${m}\n`) });
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else printTables(result.latency, result.throughput);
}

/**
 * Starts its own nats-server and a reader process, measures, stops both and removes its files.
 */
export async function measureArchivePropagation(options: ArchivePropagationOptions = {}): Promise<ArchivePropagationResult> {
  const scale = options.scale ?? 1;
  const say = options.say ?? (() => {});
  const base = await mkdtemp(path.join(os.tmpdir(), 'metaswarm-bench-'));
  const server = await startNatsServer({ storeDir: path.join(base, 'store'), logFile: path.join(base, 'nats.log'), stopGraceMs: 2_000 });
  const writer = await openNatsArchive({ servers: server.url, mirrorRoot: path.join(base, 'writer'), log: quiet });
  const child = execa(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--reader', server.url, path.join(base, 'reader')], {
    cwd: projectRoot(),
    stdin: 'pipe',
    stderr: 'inherit',
    reject: false,
  });
  const visible = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { ready?: boolean; name?: string; t?: number };
    if (msg.ready) ready();
    if (msg.name && msg.t) {
      visible.set(msg.name, msg.t);
      waiters.get(msg.name)?.();
    }
  });
  const seen = (name: string) => (visible.has(name) ? Promise.resolve() : new Promise<void>((r) => waiters.set(name, r)));

  try {
    await Promise.race([isReady, child.then(() => Promise.reject(new Error('the reader process exited')))]);
    const nodeVersion = process.version;
    say(`nats-server ${server.url}, node ${nodeVersion}, ${os.cpus().length} cores; reader mirror in a second process`);

    // 1. Propagation latency, one file at a time (no queueing), per size.
    const sizes: Array<[string, number, number]> = [
      ['4 KB', 4 * 1024, Math.max(5, Math.round(60 * scale))],
      ['256 KB', 256 * 1024, Math.max(5, Math.round(40 * scale))],
      ['4 MB', 4 * 1024 * 1024, Math.max(3, Math.round(12 * scale))],
    ];
    const latency: SizeResult[] = [];
    const staging = path.join(base, 'staging');
    await mkdir(staging, { recursive: true });
    for (const [label, bytes, n] of sizes) {
      const lat: number[] = [];
      const calls: number[] = [];
      const local: number[] = [];
      const localDir = path.join(base, 'local-mirror', String(bytes));
      await mkdir(localDir, { recursive: true });
      for (let i = 0; i < n; i++) {
        const file = path.join(staging, `${bytes}-${i}`);
        await writeFile(file, randomBytes(bytes));
        const name = `bench-latency/candidates/c-${bytes}/eval/search/instances/i${i}/trace.jsonl`;
        const written = Date.now();
        await writer.uploadFile(name, file);
        calls.push(Date.now() - written);
        await seen(name);
        lat.push(visible.get(name)! - written);
        // The baseline: the same file into another folder on the same disk, published by rename
        // as the archive's atomic writes do (sub-millisecond, so measured in fractions of a ms).
        const t0 = process.hrtime.bigint();
        await copyFile(file, path.join(localDir, `.tmp-${i}`));
        await rename(path.join(localDir, `.tmp-${i}`), path.join(localDir, `f${i}`));
        local.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      latency.push({
        size: label,
        bytes,
        files: n,
        p50Ms: pct(lat, 50),
        p99Ms: pct(lat, 99),
        maxMs: Math.max(...lat),
        uploadCallP50Ms: pct(calls, 50),
        localCopyP50Ms: round2(pct(local, 50)),
        localCopyP99Ms: round2(pct(local, 99)),
      });
      say(`latency ${label}: p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms over ${n} files (local copy p50 ${round2(pct(local, 50))} ms)`);
    }

    // 2. Throughput on a candidate-shaped folder: many small files, some traces, a few big ones.
    const dataset = path.join(base, 'dataset', 'c1');
    const shape: Array<[number, number]> = [
      [Math.round(200 * scale) || 1, 4 * 1024],
      [Math.round(100 * scale) || 1, 256 * 1024],
      [Math.round(10 * scale) || 1, 4 * 1024 * 1024],
    ];
    let files = 0;
    let total = 0;
    for (const [count, bytes] of shape) {
      for (let i = 0; i < count; i++) {
        const f = path.join(dataset, 'eval', 'search', 'instances', `i${bytes}-${i}`, i % 2 ? 'trace.jsonl' : 'result.json');
        await mkdir(path.dirname(f), { recursive: true });
        await writeFile(f, randomBytes(bytes));
        files++;
        total += bytes;
      }
    }
    await writeFile(path.join(dataset, 'meta.json'), '{"id":"c1"}');
    files++;
    const mb = total / (1024 * 1024);
    say(`dataset: ${files} files, ${mb.toFixed(1)} MB`);
    const throughput: ThroughputResult[] = [];
    const measure = async (what: string, run: () => Promise<unknown>) => {
      const t0 = process.hrtime.bigint();
      await run();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      throughput.push({ what, files, mb: round(mb), ms: Math.round(ms), mbPerS: round(mb / (ms / 1000)) });
      say(`${what}: ${Math.round(ms)} ms, ${round(mb / (ms / 1000))} MB/s`);
    };

    await measure('local copy (fs.cp)', () => cp(dataset, path.join(base, 'local-copy', 'c1'), { recursive: true }));
    await measure('upload (uploadDir to the store)', () => writer.uploadDir('bench-sync/candidates/c1', dataset));
    // The same folder with fresh content (prepared before the clock starts), uploaded under a new
    // name: from the first byte written to the store until the reader's mirror holds every file.
    const dataset2 = path.join(base, 'dataset2', 'c1');
    await cp(dataset, dataset2, { recursive: true });
    for (const [count, bytes] of shape) {
      for (let i = 0; i < count; i++) {
        await writeFile(path.join(dataset2, 'eval', 'search', 'instances', `i${bytes}-${i}`, i % 2 ? 'trace.jsonl' : 'result.json'), randomBytes(bytes));
      }
    }
    await measure('upload + propagation (uploadDir → every file in the other mirror)', async () => {
      const names = (await writer.uploadDir('bench-sync2/candidates/c1', dataset2)).names;
      await Promise.all(names.map((n) => seen(n)));
    });
    const fresh = await openNatsArchive({ servers: server.url, mirrorRoot: path.join(base, 'fresh'), log: quiet });
    try {
      await measure('sync (a fresh mirror catches up, syncMirror)', () => fresh.syncMirror({ prefix: 'bench-sync' }));
    } finally {
      await fresh.close();
    }

    return { server: 'nats-server (loopback)', node: nodeVersion, cores: os.cpus().length, latency, throughput };
  } finally {
    child.stdin?.end();
    await Promise.race([child, new Promise((r) => setTimeout(r, 5_000))]);
    child.kill();
    await writer.close();
    await server.stop();
    await rm(base, { recursive: true, force: true });
  }
}

function printTables(latency: SizeResult[], throughput: ThroughputResult[]): void {
  const out: string[] = [];
  out.push('propagation latency (written on the writer → visible in the other mirror)');
  out.push(`  ${'size'.padEnd(8)} ${'files'.padStart(5)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'upload call p50 ms'.padStart(19)} ${'local copy p50/p99 ms'.padStart(22)}`);
  for (const l of latency) {
    out.push(`  ${l.size.padEnd(8)} ${String(l.files).padStart(5)} ${String(l.p50Ms).padStart(8)} ${String(l.p99Ms).padStart(8)} ${String(l.maxMs).padStart(8)} ${String(l.uploadCallP50Ms).padStart(19)} ${`${l.localCopyP50Ms} / ${l.localCopyP99Ms}`.padStart(22)}`);
  }
  out.push('throughput (same files, same run)');
  for (const t of throughput) out.push(`  ${t.what.padEnd(72)} ${String(t.ms).padStart(7)} ms ${String(t.mbPerS).padStart(8)} MB/s  (${t.files} files, ${t.mb} MB)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
