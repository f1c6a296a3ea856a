// The benchmark's inputs, made in its own work folder from examples/bench-swarm: a sleeping
// harness (seeds), a proposer that copies the parent with a tweak, task suites of the run's
// sizes, and the search specs. Everything is deterministic: the same sizes and seed give the same
// instances and the same sleeps.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { resolveSpec, type LoadedSpec } from '../contract/spec-file.js';
import type { SearchSpecInput } from '../contract/spec.js';
import { projectRoot } from '../stack/state-dir.js';

export const EXAMPLE_DIR = path.join(projectRoot(), 'examples', 'bench-swarm');

/** Heavy tail of evaluation times (see examples/bench-swarm/seed/main.py). */
export interface TailSpec {
  seed: number;
  /** Share of candidates whose every instance is slow. */
  pCandidate: number;
  /** Share of (candidate, instance) pairs that are slow. */
  pInstance: number;
  /** Slow means this many times the base sleep, uniformly in [min, max]. */
  min: number;
  max: number;
}

export interface BenchInstance {
  id: string;
  input: { sleepMs: number; answer: string; tag: string; tail?: TailSpec };
  expected: string;
}

export interface Workload {
  /** The working copy of examples/bench-swarm (the specs' folder: `{specDir}`). */
  dir: string;
  /** The Python interpreter the harness and the proposer run with. */
  python: string;
  /** A task suite with these instances, in its own folder under the work folder. */
  task(name: string, instances: BenchInstance[]): Promise<string>;
  /**
   * `count` seed harness folders, each naming its own candidate (`seed-<i>`, the id the search
   * gives it), so the seeds' sleeps differ as the proposals' do.
   */
  seeds(name: string, count: number): Promise<string[]>;
  spec(s: SpecSizes): LoadedSpec;
}

export interface SpecSizes {
  name: string;
  task: string;
  seeds: string[];
  population: number;
  instanceConcurrency: number;
  maxCandidates: number;
  archive: string;
}

/**
 * The fastest Python at hand: BENCH_PYTHON, else the system's /usr/bin/python3, else the real
 * executable behind `python3` on the PATH. A pyenv shim costs ~0.1 s per start, which would be
 * charged to every evaluation of the swarm and the baseline alike and hide what we measure.
 */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): string {
  if (env['BENCH_PYTHON']) return env['BENCH_PYTHON'];
  for (const p of ['/usr/bin/python3']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch (err) {
    throw new Error(`the benchmark needs Python 3 (python3 on the PATH, or BENCH_PYTHON): ${(err as Error).message}`);
  }
}

export async function prepareWorkload(workDir: string): Promise<Workload> {
  const python = resolvePython();
  const dir = path.join(workDir, 'example');
  await cp(EXAMPLE_DIR, dir, { recursive: true });
  // The seed's entry runs with this interpreter (the harness.yaml explains why).
  const manifest = path.join(dir, 'seed', 'harness.yaml');
  const parsed = parse(await readFile(manifest, 'utf8')) as { entry: string[] };
  await writeFile(manifest, stringify({ ...parsed, entry: parsed.entry.map((a, i) => (i === 0 && a === 'python3' ? python : a)) }));

  return {
    dir,
    python,
    async task(name, instances) {
      const taskDir = path.join(workDir, name, 'task');
      await mkdir(taskDir, { recursive: true });
      for (const f of ['task.yaml', 'instructions.md']) await cp(path.join(dir, 'task', f), path.join(taskDir, f));
      const jsonl = (xs: BenchInstance[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
      await writeFile(path.join(taskDir, 'search.jsonl'), jsonl(instances));
      await writeFile(path.join(taskDir, 'test.jsonl'), jsonl(instances.slice(0, 1)));
      return taskDir;
    },
    async seeds(name, count) {
      const dirs: string[] = [];
      for (let i = 0; i < count; i++) {
        const seedDir = path.join(workDir, name, 'seeds', `seed-${i}`);
        await cp(path.join(dir, 'seed'), seedDir, { recursive: true });
        await writeFile(path.join(seedDir, 'tweak.json'), JSON.stringify({ candidate: `seed-${i}`, generation: 0 }));
        dirs.push(seedDir);
      }
      return dirs;
    },
    spec(s) {
      const raw: SearchSpecInput = {
        name: s.name,
        task: s.task,
        seeds: s.seeds,
        population: s.population,
        proposalsPerStep: 1,
        budget: { maxCandidates: s.maxCandidates },
        objectives: { maximize: 'score', minimize: [] },
        failureBackoffSec: 1,
        proposer: { kind: 'command', command: [python, '-S', '{specDir}/proposer/propose.py'], timeoutSec: 60 },
        evaluator: {
          kind: 'process',
          concurrency: s.instanceConcurrency,
          // Far above the slowest tail (50x the base sleep): a timeout would be a bench bug.
          instanceTimeoutSec: 300,
          // The harness logs its busy intervals there (examples/bench-swarm/seed/main.py).
          passEnv: ['BENCH_LOG_DIR'],
        },
        gateway: { enabled: false },
        archive: { path: s.archive },
      };
      const specFile = path.join(dir, `${s.name}.yaml`);
      return { spec: resolveSpec(raw, dir, `bench spec ${s.name}`), specFile, specDir: dir };
    },
  };
}

/** `n` instances `i01…` sleeping `sleepMs` (times the tail factor when `tail` is given). */
export function benchInstances(n: number, sleepMs: number, tag: string, tail?: TailSpec): BenchInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${String(i + 1).padStart(2, '0')}`,
    input: { sleepMs, answer: 'ok', tag, ...(tail ? { tail } : {}) },
    expected: 'ok',
  }));
}
