// The baselines' engine: the same harness folders on the same instances, run directly as
// subprocesses from this process (spawn, stdin JSON, stdout JSON), with no Temporal, no archive,
// no scratch copies and no proposer. Two schedules:
//   - lanes: `lanes` candidates at once, each on its instances `concurrency` at a time, the next
//     candidate as soon as a lane is free (what the swarm does, minus the swarm);
//   - generations: every candidate of a generation at once, the next generation only when the
//     whole previous one is done (a generation barrier).
import { spawn } from 'node:child_process';
import { loadHarnessManifest } from '../evaluators/harness-manifest.js';
import { scrubbedEnv } from '../process-control/env.js';
import type { BenchInstance } from './workload.js';
import { nowMs } from './stats.js';

export interface DirectCandidate {
  id: string;
  harnessDir: string;
}

export interface DirectOptions {
  instances: BenchInstance[];
  /** Instances of one candidate at once (the evaluator's `concurrency`). */
  concurrency: number;
  /** Run the first instance once more before the evaluation, as validateCandidate does. */
  validate: boolean;
  /** The harness's environment: the evaluator's basics plus these (BENCH_LOG_DIR). */
  env: Record<string, string>;
}

export interface LanesResult {
  wallMs: number;
  evaluations: number;
  /** Per candidate: from its first process start to its last process exit. */
  candidateMs: number[];
}

export async function runLanes(candidates: DirectCandidate[], lanes: number, o: DirectOptions): Promise<LanesResult> {
  const candidateMs: number[] = [];
  const t0 = nowMs();
  await bounded(candidates, lanes, async (c) => {
    const start = nowMs();
    await evaluateDirect(c, o);
    candidateMs.push(nowMs() - start);
  });
  return { wallMs: nowMs() - t0, evaluations: candidates.length * o.instances.length, candidateMs };
}

export interface GenerationsResult {
  wallMs: number;
  evaluations: number;
  generations: number;
}

export async function runGenerations(generations: DirectCandidate[][], o: DirectOptions): Promise<GenerationsResult> {
  const t0 = nowMs();
  let evaluations = 0;
  for (const generation of generations) {
    await Promise.all(generation.map((c) => evaluateDirect(c, o)));
    evaluations += generation.length * o.instances.length;
  }
  return { wallMs: nowMs() - t0, evaluations, generations: generations.length };
}

/** One candidate: (validation run, then) its instances, `concurrency` at a time. */
export async function evaluateDirect(c: DirectCandidate, o: DirectOptions): Promise<void> {
  const { manifest } = await loadHarnessManifest(c.harnessDir);
  const env = scrubbedEnv([], o.env);
  if (o.validate && o.instances[0]) await runHarness(manifest.entry, c.harnessDir, o.instances[0], env);
  await bounded(o.instances, o.concurrency, (instance) => runHarness(manifest.entry, c.harnessDir, instance, env).then(() => undefined));
}

/**
 * Runs the entry once on `instance` in `cwd` and checks that it answered. The harness folder is
 * used in place: the bench harness writes nothing there.
 */
export function runHarness(entry: readonly string[], cwd: string, instance: BenchInstance, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(entry[0]!, entry.slice(1), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    // A harness that exits without reading stdin makes the write fail (EPIPE); its exit code says why.
    child.stdin.on('error', () => undefined);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0) return reject(new Error(`${entry.join(' ')} on ${instance.id} in ${cwd} exited ${code}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
      try {
        const output = JSON.parse(stdout) as { answer?: unknown };
        if (output.answer !== instance.expected) throw new Error(`answered ${JSON.stringify(output.answer)}`);
        resolve(output);
      } catch (e) {
        reject(new Error(`${entry.join(' ')} on ${instance.id} in ${cwd}: bad output (${(e as Error).message}): ${stdout.slice(0, 200)}`));
      }
    });
    child.stdin.end(JSON.stringify({ id: instance.id, input: instance.input }));
  });
}

/** `work` on every item, at most `limit` at once; the first failure rejects (after the rest settle). */
export async function bounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.error;
}
