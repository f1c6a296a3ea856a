// Comparison 2: evaluator-slot utilization with heavy-tailed evaluation times, the swarm (no
// generation barrier: a lineage starts its next step as soon as its own ends) against a
// generation-barrier scheduler on the same inputs.
//
// Heavy tail: some candidates (all their instances) and some (candidate, instance) pairs sleep
// 10-50x the base, deterministic from --seed and the candidate and instance ids
// (examples/bench-swarm/seed/main.py).
//
// The barrier baseline is an in-process scheduler that runs real work, not a simulation: the
// harness folders the swarm archived, run as subprocesses (bench/direct-runner.ts) on the same
// instances, so every run sleeps exactly as long as it did in the swarm. Each candidate does what
// it did in the swarm (a validation run of the first instance, then all instances
// `instanceConcurrency` at a time) and a generation is `population` candidates at once, so the
// number of slots is the same. Generations: the seeds, then the proposals by (step, lineage) in
// groups of `population`; the next one starts only when the whole previous one has finished.
// It proposes nothing and talks to no server, so it is the barrier at its cheapest.
//
// Utilization = busy slot-seconds / (slots × wall), slots = population × instanceConcurrency,
// busy = Σ over harness runs (validation runs included, in both) of the time the harness process
// ran, as the harness itself logged it (bench/harness-log.ts).
import type { UtilizationSizes } from './presets.js';
import { runGenerations, type DirectCandidate } from './direct-runner.js';
import { busySeconds, peakConcurrency, readHarnessLog, type HarnessRunRecord } from './harness-log.js';
import { byGeneration, runSwarmSearch, type SwarmCandidate } from './swarm-run.js';
import { round } from './stats.js';
import type { BenchContext, SwarmTarget } from './context.js';
import { benchInstances, type TailSpec } from './workload.js';

export interface ScheduleFigures {
  wallMs: number;
  busySlotSec: number;
  utilization: number;
  /** Most harness processes at once (≤ slots). */
  peakConcurrency: number;
}

export interface UtilizationResult {
  settings: UtilizationSizes & { slots: number; seed: number };
  workload: {
    candidates: number;
    evaluations: number;
    /** Evaluations plus one validation run per candidate. */
    harnessRuns: number;
    /** Runs that slept more than 2x the base (the tail). */
    slowRuns: number;
    /** Σ sleep of all runs, seconds: the work, the same in both schedules. */
    sleepSec: number;
  };
  swarm: ScheduleFigures & { failed: number };
  barrier: ScheduleFigures & { generations: number };
  /** swarm utilization ÷ barrier utilization. */
  ratio: number;
  /** Both schedules made the same harness runs with the same sleeps. */
  sameWork: boolean;
}

export async function measureUtilization(ctx: BenchContext, target: SwarmTarget, s: UtilizationSizes, seed: number): Promise<UtilizationResult> {
  const tag = 'tail';
  const tail: TailSpec = { seed, pCandidate: s.pCandidate, pInstance: s.pInstance, min: s.tailMin, max: s.tailMax };
  const instances = benchInstances(s.instances, s.sleepMs, tag, tail);
  const task = await ctx.workload.task(tag, instances);
  const seeds = await ctx.workload.seeds(tag, s.population);
  const spec = ctx.workload.spec({
    name: 'bench-tail',
    task,
    seeds,
    population: s.population,
    instanceConcurrency: s.instanceConcurrency,
    maxCandidates: s.maxCandidates,
    archive: ctx.archiveDir,
  });
  const slots = s.population * s.instanceConcurrency;
  ctx.say(`2/4 utilization: swarm search, ${slots} slots, ${s.maxCandidates + s.population} candidates × ${s.instances} instances of ${s.sleepMs} ms (some ${s.tailMin}-${s.tailMax}x)`);
  const swarm = await runSwarmSearch(ctx.stack.client, spec, target.queues);
  const swarmRuns = await readHarnessLog(target.logDir, tag);

  const evaluated = swarm.candidates.filter((c) => c.instances > 0).sort(byGeneration);
  const generations = generationsOf(evaluated, s.population);
  ctx.say(`2/4 utilization: generation barrier, the same ${evaluated.length} harness folders in ${generations.length} generations`);
  const barrier = await runGenerations(generations, {
    instances,
    concurrency: s.instanceConcurrency,
    validate: true,
    env: { BENCH_LOG_DIR: ctx.directLogDir },
  });
  const barrierRuns = await readHarnessLog(ctx.directLogDir, tag);

  const figures = (wallMs: number, runs: HarnessRunRecord[]): ScheduleFigures => {
    const busy = busySeconds(runs);
    return {
      wallMs: Math.round(wallMs),
      busySlotSec: round(busy, 2),
      utilization: round(busy / (slots * (wallMs / 1000)), 3),
      peakConcurrency: peakConcurrency(runs),
    };
  };
  const swarmFigures = figures(swarm.wallMs, swarmRuns);
  const barrierFigures = figures(barrier.wallMs, barrierRuns);
  return {
    settings: { ...s, slots, seed },
    workload: {
      candidates: evaluated.length,
      evaluations: swarm.evaluations,
      harnessRuns: swarmRuns.length,
      slowRuns: swarmRuns.filter((r) => r.sleepMs > 2 * s.sleepMs).length,
      sleepSec: round(swarmRuns.reduce((a, r) => a + r.sleepMs, 0) / 1000, 2),
    },
    swarm: { ...swarmFigures, failed: swarm.failed },
    barrier: { ...barrierFigures, generations: barrier.generations },
    ratio: round(swarmFigures.utilization / barrierFigures.utilization, 3),
    sameWork: sameRuns(swarmRuns, barrierRuns),
  };
}

/** Seeds (generation 0), then the proposals in groups of `population`. */
function generationsOf(candidates: SwarmCandidate[], population: number): DirectCandidate[][] {
  const seeds = candidates.filter((c) => c.kind === 'seed');
  const proposals = candidates.filter((c) => c.kind === 'proposal');
  const gens: DirectCandidate[][] = seeds.length ? [seeds] : [];
  for (let i = 0; i < proposals.length; i += population) gens.push(proposals.slice(i, i + population));
  return gens;
}

function sameRuns(a: HarnessRunRecord[], b: HarnessRunRecord[]): boolean {
  const key = (rs: HarnessRunRecord[]) => rs.map((r) => `${r.candidate}/${r.instance}/${r.sleepMs}`).sort().join('\n');
  return key(a) === key(b);
}
