// The swarm on the nats archive backend, with real nats-servers and real worker processes:
// proposer and evaluator processes with mirrors of their own converge on the store; a proposer
// reads what an evaluator on another process wrote; nats-server SIGKILLed and restarted in the
// middle of a search does not stop it, and every mirror ends identical to the store.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { resumeSearch } from '../../client/resume.js';
import { startSearch, waitForSearch } from '../../client/search-client.js';
import type { LoadedSpec } from '../../contract/spec-file.js';
import { openNatsArchive, type NatsArchive } from '../../shared-fs/nats/index.js';
import { freePort } from '../../stack/dev-server.js';
import { startNatsServer, type NatsServer } from '../../stack/nats-server.js';
import { createWorkers, runWorkers, type Role } from '../../workers/create-workers.js';
import { taskQueues } from '../../workers/task-queues.js';
import { exampleSpec, repoRoot, tempDir } from '../support/swarm.js';
import { until } from '../support/waiting.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

async function natsServer(port?: number, storeDir?: string): Promise<NatsServer> {
  const dir = storeDir ?? (await tempDir('metaswarm-nats-'));
  const server = await startNatsServer({ storeDir: dir, stateDir: dir, stopGraceMs: 2_000, ...(port ? { port } : {}) });
  cleanups.push(() => server.stop());
  return server;
}

/** A NATS archive with a mirror of its own; `live: false` never syncs by itself (the worst lag). */
async function natsArchive(url: string, bucket: string, live = true): Promise<NatsArchive> {
  const archive = await openNatsArchive({ servers: url, bucket, mirrorRoot: await tempDir('metaswarm-mirror-'), resyncIntervalMs: 0 });
  cleanups.push(() => archive.close());
  if (live) await archive.startMirror();
  return archive;
}

/** In-process workers of `roles` on their own NATS archive (their own mirror). */
async function inProcessWorkers(queues: ReturnType<typeof taskQueues>, roles: Role[], archive: NatsArchive) {
  const address = inject('temporalAddress');
  const native = await NativeConnection.connect({ address });
  const running = runWorkers(
    await createWorkers({ connection: native, namespace: inject('temporalNamespace'), roles, queues, natsArchive: archive, evaluatorConcurrency: 4 }),
  );
  cleanups.push(async () => {
    await running.shutdown();
    await native.close();
  });
  const connection = await Connection.connect({ address });
  cleanups.push(() => connection.close());
  return new Client({ connection, namespace: inject('temporalNamespace') });
}

/** `metaswarm worker` processes, each with its own mirror folder. */
function workerProcess(role: Role, prefix: string, natsUrl: string, bucket: string, mirror: string): ResultPromise {
  const proc = execa(
    'node',
    [path.join(repoRoot, 'bin/metaswarm.js'), 'worker', '--role', role, '--queue-prefix', prefix, '--archive', 'nats', '--mirror', mirror],
    { env: { TEMPORAL_ADDRESS: inject('temporalAddress'), NATS_URL: natsUrl, METASWARM_ARCHIVE_BUCKET: bucket, METASWARM_LOG_LEVEL: 'warn' }, reject: false },
  );
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await Promise.race([proc, new Promise((r) => setTimeout(r, 10_000))]);
    proc.kill('SIGKILL');
  });
  return proc;
}

/** Relative path → sha256 of every file under `dir` (the mirror's own bookkeeping left out). */
async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name.startsWith('.metaswarm-mirror')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** `metaswarm archive pull`: the store's copy of the search, as a user gets it. */
async function pull(natsUrl: string, bucket: string, searchId: string): Promise<string> {
  const dir = await tempDir('metaswarm-pull-');
  const r = await execa('node', [path.join(repoRoot, 'bin/metaswarm.js'), 'archive', 'pull', searchId, dir, '--json'], {
    env: { NATS_URL: natsUrl, METASWARM_ARCHIVE_BUCKET: bucket, METASWARM_LOG_LEVEL: 'warn' },
    reject: false,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ searchId, failed: [], refused: [] });
  return path.join(dir, searchId);
}

async function natsSpec(bucket: string, overrides: Parameters<typeof exampleSpec>[1] = {}): Promise<LoadedSpec> {
  const loaded = await exampleSpec(await tempDir(), overrides);
  loaded.spec.archive = { ...loaded.spec.archive, backend: 'nats', bucket };
  return loaded;
}

const summaryOf = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; status: string; parentIds: string[]; kind: string });

describe('nats archive backend', () => {
  it('proposer and evaluator processes with their own mirrors share one archive and converge on it', async () => {
    const nats = await natsServer();
    const bucket = `t${randomBytes(3).toString('hex')}`;
    const prefix = `nats-${randomBytes(3).toString('hex')}`;
    const queues = taskQueues(prefix);
    const workflowArchive = await natsArchive(nats.url, bucket);
    const client = await inProcessWorkers(queues, ['workflow'], workflowArchive);
    const mirrors = { proposer: await tempDir('metaswarm-mirror-p-'), evaluator: await tempDir('metaswarm-mirror-e-') };
    workerProcess('proposer', prefix, nats.url, bucket, mirrors.proposer);
    workerProcess('evaluator', prefix, nats.url, bucket, mirrors.evaluator);

    const searchId = await startSearch(client, await natsSpec(bucket, { population: 2, budget: { maxCandidates: 4 } }), queues);
    const final = await waitForSearch(client, searchId);
    expect(final.phase).toBe('completed');
    // One seed (the example has one) and 4 proposals, all evaluated.
    expect(final.counts).toMatchObject({ proposed: 4, evaluated: 5, failed: 0 });

    // The store holds the whole search: every candidate once, each with its harness and evaluation.
    const pulled = await pull(nats.url, bucket, searchId);
    const lines = summaryOf(await readFile(path.join(pulled, 'summary.jsonl'), 'utf8'));
    expect(lines.map((l) => l.id).sort()).toEqual([...new Set(lines.map((l) => l.id))].sort());
    expect(lines).toHaveLength(5);
    for (const l of lines) {
      for (const f of ['meta.json', 'harness/main.py', 'eval/search/summary.json']) {
        await expect(readFile(path.join(pulled, 'candidates', l.id, f)), `${l.id}/${f}`).resolves.toBeTruthy();
      }
    }
    // Every proposal was made on the proposer process from its parent's evaluation, which the
    // evaluator process wrote: the proposer's rationale quotes the failures it read there.
    for (const l of lines.filter((x) => x.kind === 'proposal')) {
      const rationale = await readFile(path.join(pulled, 'candidates', l.id, 'proposal', 'rationale.md'), 'utf8');
      expect(rationale, `${l.id} (parent ${l.parentIds[0]})`).not.toMatch(/no usable search evaluation/);
      expect(rationale).toMatch(/evaluated on/);
    }

    // Every mirror (the workflow worker's and both processes') converges on the store, file for file.
    const store = await digests(pulled);
    for (const dir of [workflowArchive.mirrorRoot, mirrors.proposer, mirrors.evaluator]) {
      await until(`mirror ${dir} equal to the store`, async () => JSON.stringify(await digests(path.join(dir, searchId))) === JSON.stringify(store), 20_000);
    }
  }, 240_000);

  it('a proposer whose mirror lags behind still works from every candidate the search knows', async () => {
    const nats = await natsServer();
    const bucket = `t${randomBytes(3).toString('hex')}`;
    const queues = taskQueues(`natsl-${randomBytes(3).toString('hex')}`);
    const client = await inProcessWorkers(queues, ['workflow', 'evaluator'], await natsArchive(nats.url, bucket));
    // This mirror never updates by itself: only the proposer's wait for known candidates fills it.
    const lagging = await natsArchive(nats.url, bucket, false);
    await inProcessWorkers(queues, ['proposer'], lagging);

    const searchId = await startSearch(client, await natsSpec(bucket, { population: 1, budget: { maxCandidates: 3 } }), queues);
    const final = await waitForSearch(client, searchId);
    expect(final.phase).toBe('completed');
    expect(final.counts).toMatchObject({ proposed: 3, evaluated: 4, failed: 0 });
    const pulled = await pull(nats.url, bucket, searchId);
    const lines = summaryOf(await readFile(path.join(pulled, 'summary.jsonl'), 'utf8'));
    for (const l of lines.filter((x) => x.kind === 'proposal')) {
      const rationale = await readFile(path.join(pulled, 'candidates', l.id, 'proposal', 'rationale.md'), 'utf8');
      expect(rationale, `${l.id} (parent ${l.parentIds[0]})`).toMatch(/evaluated on/);
      // Its parent, evaluation and all, was in the proposer's mirror, byte for byte.
      const parent = l.parentIds[0]!;
      const inStore = await digests(path.join(pulled, 'candidates', parent));
      expect(await digests(path.join(lagging.mirrorRoot, searchId, 'candidates', parent))).toEqual(inStore);
    }
  }, 240_000);

  it('resumes a terminated search from the records in the NATS store', async () => {
    const nats = await natsServer();
    const bucket = `t${randomBytes(3).toString('hex')}`;
    const queues = taskQueues(`natsr-${randomBytes(3).toString('hex')}`);
    const client = await inProcessWorkers(queues, ['workflow', 'proposer', 'evaluator'], await natsArchive(nats.url, bucket));
    const searchId = await startSearch(client, await natsSpec(bucket, { population: 1, budget: { maxCandidates: 4 } }), queues);
    const handle = client.workflow.getHandle(searchId);
    await until('two candidates evaluated', async () => (await handle.query<{ counts: { evaluated: number } }>('status')).counts.evaluated >= 2, 60_000);
    await handle.terminate('test: simulated crash of the search');
    const before = new Set(summaryOf((await readFile(path.join(await pull(nats.url, bucket, searchId), 'summary.jsonl'), 'utf8'))).map((l) => l.id));

    // The client finds NATS in the environment, as on a cluster.
    process.env.NATS_URL = nats.url;
    try {
      await resumeSearch(client, searchId, queues);
    } finally {
      delete process.env.NATS_URL;
    }
    const final = await waitForSearch(client, searchId);
    expect(final.phase).toBe('completed');
    const lines = summaryOf(await readFile(path.join(await pull(nats.url, bucket, searchId), 'summary.jsonl'), 'utf8'));
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.id)).size).toBe(5);
    // What was recorded before the crash is kept as it was, not run again.
    expect(lines.slice(0, before.size).map((l) => l.id)).toEqual([...before]);
  }, 240_000);

  it('completes a search when nats-server is SIGKILLed and restarted in the middle of it', async () => {
    const port = await freePort();
    const storeDir = await tempDir('metaswarm-nats-');
    let nats = await natsServer(port, storeDir);
    const bucket = `t${randomBytes(3).toString('hex')}`;
    const queues = taskQueues(`natsk-${randomBytes(3).toString('hex')}`);
    // Workflow and proposer on one archive, evaluators on another (two mirrors, one process).
    const a = await natsArchive(nats.url, bucket);
    const b = await natsArchive(nats.url, bucket);
    const client = await inProcessWorkers(queues, ['workflow', 'proposer'], a);
    await inProcessWorkers(queues, ['evaluator'], b);

    const searchId = await startSearch(client, await natsSpec(bucket, { population: 2, budget: { maxCandidates: 6 }, heartbeatTimeoutSec: 10 }), queues);
    const done = waitForSearch(client, searchId);
    // Kill it once the search is under way (a candidate recorded), while others are in flight.
    await until('two candidates evaluated', async () => (await client.workflow.getHandle(searchId).query<{ counts: { evaluated: number } }>('status')).counts.evaluated >= 2, 60_000);
    await nats.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_000));
    nats = await natsServer(port, storeDir);

    const final = await done;
    expect(final.phase).toBe('completed');
    expect(final.counts).toMatchObject({ proposed: 6, evaluated: 7, failed: 0 });
    const pulled = await pull(nats.url, bucket, searchId);
    const lines = summaryOf(await readFile(path.join(pulled, 'summary.jsonl'), 'utf8'));
    expect(lines).toHaveLength(7);
    expect(new Set(lines.map((l) => l.id)).size).toBe(7);
    // Both mirrors end identical to the store (digests, file for file), and say so themselves.
    const store = await digests(pulled);
    for (const m of [a, b]) {
      await until(`mirror ${m.mirrorRoot} equal to the store`, async () => JSON.stringify(await digests(path.join(m.mirrorRoot, searchId))) === JSON.stringify(store), 30_000);
      const check = await m.verifyMirror({ prefix: searchId });
      expect(check).toMatchObject({ missing: [], different: [] });
    }
  }, 240_000);
});
