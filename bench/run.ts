// `npm run bench`: measures the swarm in one run, each figure next to a baseline measured in the
// same run on the same machine:
//   1. evaluations/s through the whole swarm vs the same harness as direct subprocesses;
//   2. evaluator-slot utilization with heavy-tailed evaluations vs a generation barrier;
//   3. evaluations/s with 1 vs 4 evaluator worker processes (I/O-bound harness);
//   4. archive propagation through NATS JetStream vs a local copy (bench/archive-propagation.ts).
//
//   npm run bench [-- --quick] [--json] [--out FILE] [--only overhead,utilization,scaling,archive] [--seed N] [--keep]
//
// It starts everything it needs (a Temporal dev server, evaluator worker processes through the
// CLI on task queues of their own, a nats-server) and stops it all. Progress goes to stderr; the
// table (or with --json the JSON) to stdout; the JSON also to --out (default
// bench/results/latest.json, or latest-quick.json for --quick so a quick check never overwrites
// the figures of a full run).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureArchivePropagation } from './archive-propagation.js';
import { startBenchStack, type BenchStack } from './bench-stack.js';
import type { BenchContext } from './context.js';
import { machineInfo, sampleLoad } from './machine.js';
import { measureOverhead } from './overhead.js';
import { PRESETS } from './presets.js';
import { renderTable, type BenchResult } from './report.js';
import { measureScaling, type GrowableTarget } from './scaling.js';
import { round } from './stats.js';
import { measureUtilization } from './utilization.js';
import { prepareWorkload } from './workload.js';
import { projectRoot } from '../stack/state-dir.js';

const COMPARISONS = ['overhead', 'utilization', 'scaling', 'archive'] as const;
type Comparison = (typeof COMPARISONS)[number];

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    [
      'npm run bench [-- options]   measure the swarm next to its baselines (see bench/run.ts)',
      '  --quick            small sizes (~1.5 min on 2 cores; the default run takes ~4 min)',
      '  --json             print the JSON result instead of the table',
      '  --out FILE         where the JSON goes (default bench/results/latest.json, latest-quick.json with --quick)',
      `  --only LIST        some of: ${COMPARISONS.join(',')}`,
      '  --seed N           seed of the heavy-tailed evaluation times (default 1)',
      '  --keep             keep the work folder (archives, worker logs, harness logs)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const preset = args.quick ? 'quick' : 'full';
const sizes = PRESETS[preset];
const seed = Number(args.seed);
if (!Number.isInteger(seed)) fail(`--seed must be a whole number, not ${args.seed}`);
const only = new Set<Comparison>(
  args.only
    ? args.only.split(',').map((c) => {
        if (!(COMPARISONS as readonly string[]).includes(c)) fail(`--only: unknown comparison ${c} (known: ${COMPARISONS.join(', ')})`);
        return c as Comparison;
      })
    : COMPARISONS,
);
const outFile = path.resolve(args.out ?? path.join(projectRoot(), 'bench', 'results', preset === 'quick' ? 'latest-quick.json' : 'latest.json'));

const started = Date.now();
const say = (m: string) => process.stderr.write(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${m}\n`);

try {
  const result = await run();
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
  say(`figures written to ${outFile}`);
  process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : renderTable(result));
  // Native Temporal handles can keep the loop alive a little after everything closed.
  process.stdout.write('', () => process.exit(0));
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

async function run(): Promise<BenchResult> {
  const machine = machineInfo();
  const load = sampleLoad();
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'metaswarm-bench-'));
  say(`${preset} run on ${machine.cores} cores (${machine.cpuModel}), load average ${os.loadavg()[0]!.toFixed(2)}; work folder ${workDir}`);
  const result: Omit<BenchResult, 'load' | 'durationSec'> = {
    benchmark: 'metaswarm npm run bench',
    preset,
    seed,
    machine,
    python: '',
  };
  let stack: BenchStack | undefined;
  try {
    const workload = await prepareWorkload(workDir);
    result.python = workload.python;
    const dirs = { archive: path.join(workDir, 'archive'), direct: path.join(workDir, 'logs', 'direct') };
    await mkdir(dirs.direct, { recursive: true });

    const swarmWanted = only.has('overhead') || only.has('utilization') || only.has('scaling');
    if (swarmWanted) {
      stack = await startBenchStack({ workDir, say });
      const ctx: BenchContext = { stack, workload, archiveDir: dirs.archive, directLogDir: dirs.direct, say };
      const s = sizes;
      // The swarms' workers start at once (their start-up is seconds of CPU each), before any
      // measurement, and each set is stopped as soon as its measurement is done. Comparison 3
      // starts with one evaluator process and adds the others between its two runs.
      const mainPop = Math.max(only.has('overhead') ? s.overhead.population : 0, only.has('utilization') ? s.utilization.population : 0);
      const [main, scaling] = await Promise.all([
        mainPop > 0 ? startTarget(stack, workDir, 'main', 1, mainPop, mainPop) : undefined,
        only.has('scaling') ? startTarget(stack, workDir, 'scaling', s.scaling.workers[0], s.scaling.perProcessConcurrency, s.scaling.population) : undefined,
      ]);
      say('swarm workers are polling');
      if (main) {
        if (only.has('overhead')) result.overhead = await measureOverhead(ctx, main, s.overhead);
        if (only.has('utilization')) result.utilization = await measureUtilization(ctx, main, s.utilization, seed);
        await main.stop();
      }
      if (scaling) {
        result.scaling = await measureScaling(ctx, scaling, s.scaling);
        await scaling.stop();
      }
      // The Temporal server and workers are gone before the archive benchmark starts.
      await stack.stop();
      stack = undefined;
    }
    if (only.has('archive')) {
      say(`4/4 archive propagation over NATS JetStream (scale ${sizes.archiveScale})`);
      result.archive = await measureArchivePropagation({ scale: sizes.archiveScale, say: (m) => say(`4/4 ${m}`) });
    }
  } finally {
    await stack?.stop();
    if (args.keep) say(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
  return { ...result, load: load.stop(), durationSec: round((Date.now() - started) / 1000, 1) };
}

/**
 * Workflow + proposer workers in this process and `processes` evaluator processes (each running
 * `concurrency` evaluations at once) on one task-queue prefix.
 */
async function startTarget(
  stack: BenchStack,
  workDir: string,
  name: string,
  processes: number,
  concurrency: number,
  population: number,
): Promise<GrowableTarget & { stop(): Promise<void> }> {
  const prefix = stack.prefix(name);
  const logDir = path.join(workDir, 'logs', name);
  await mkdir(logDir, { recursive: true });
  const evaluators = (count: number) => stack.startEvaluators(prefix, { count, concurrency, env: { BENCH_LOG_DIR: logDir } });
  const [swarm, first] = await Promise.all([
    // A proposal per lineage at once: the proposer is never what a comparison waits for.
    stack.startSwarm(prefix, { proposerConcurrency: population }),
    evaluators(processes),
  ]);
  const sets = [first];
  return {
    queues: swarm.queues,
    logDir,
    evaluatorProcesses: () => sets.reduce((a, e) => a + e.identities.length, 0),
    async addEvaluators(count) {
      sets.push(await evaluators(count));
    },
    async stop() {
      await Promise.all([swarm.shutdown(), ...sets.map((e) => e.stop())]);
    },
  };
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
