// Comparison 3: throughput with 1 vs 4 evaluator worker processes, the same per-process
// concurrency, on an I/O-bound harness (it sleeps: a model call is a wait, not CPU). The same
// search (same population, candidates and instances) runs twice on the same task queues: first
// with one evaluator process polling them, then with three more started beside it. The
// population is large enough to keep four processes busy, so the difference is how many
// evaluation slots the swarm can fill.
import type { ScalingSizes } from './presets.js';
import { runSwarmSearch } from './swarm-run.js';
import { round } from './stats.js';
import type { BenchContext, SwarmTarget } from './context.js';
import { benchInstances } from './workload.js';

export interface ScalingRun {
  workers: number;
  candidates: number;
  failed: number;
  evaluations: number;
  wallMs: number;
  evalsPerSec: number;
}

export interface ScalingResult {
  settings: ScalingSizes;
  runs: [ScalingRun, ScalingRun];
  /** evaluations/s with the larger number of workers ÷ with the smaller. */
  speedup: number;
  /** The same number of evaluations in both runs (the searches did the same work). */
  sameEvaluations: boolean;
}

/** A swarm whose evaluator processes can be added to (bench/run.ts). */
export interface GrowableTarget extends SwarmTarget {
  evaluatorProcesses(): number;
  addEvaluators(count: number): Promise<void>;
}

export async function measureScaling(ctx: BenchContext, target: GrowableTarget, s: ScalingSizes): Promise<ScalingResult> {
  const tag = 'io';
  const instances = benchInstances(s.instances, s.sleepMs, tag);
  const task = await ctx.workload.task(tag, instances);
  const seeds = await ctx.workload.seeds(tag, s.population);
  const runs: ScalingRun[] = [];
  for (const workers of s.workers) {
    if (target.evaluatorProcesses() < workers) {
      ctx.say(`3/4 scaling: starting ${workers - target.evaluatorProcesses()} more evaluator process(es)`);
      await target.addEvaluators(workers - target.evaluatorProcesses());
    }
    const spec = ctx.workload.spec({
      name: `bench-io-${workers}w`,
      task,
      seeds,
      population: s.population,
      instanceConcurrency: s.instanceConcurrency,
      maxCandidates: s.maxCandidates,
      archive: ctx.archiveDir,
    });
    ctx.say(`3/4 scaling: ${workers} evaluator process(es), evaluations at once per process: ${s.perProcessConcurrency}; ${s.maxCandidates + s.population} candidates × ${s.instances} instances of ${s.sleepMs} ms`);
    const run = await runSwarmSearch(ctx.stack.client, spec, target.queues);
    runs.push({
      workers,
      candidates: run.candidates.length,
      failed: run.failed,
      evaluations: run.evaluations,
      wallMs: Math.round(run.wallMs),
      evalsPerSec: round(run.evaluations / (run.wallMs / 1000), 2),
    });
  }
  const [one, many] = runs as [ScalingRun, ScalingRun];
  return {
    settings: s,
    runs: [one, many],
    speedup: round(many.evalsPerSec / one.evalsPerSec, 2),
    sameEvaluations: one.evaluations === many.evaluations,
  };
}
