// Comparison 1: evaluations per second through the whole swarm, against the same harness on
// the same instances run directly as subprocesses with the same concurrency.
//
// The swarm: a search with `population` lineages (so at most that many candidates at once), each
// candidate proposed by the bench proposer, validated on one instance and evaluated on all
// instances `instanceConcurrency` at a time by an evaluator worker process. Evaluations = instance
// runs of evaluateCandidate (validation runs are overhead, not counted).
// The direct baseline: the same harness on the same instances, `population` candidates at once,
// each on its instances `instanceConcurrency` at a time: the same number of harness processes at
// once, the same processes, nothing around them. It runs twice, just before the swarm (on the
// seed folders, as many candidates as the swarm will evaluate) and just after it (on the very
// harness folders the swarm archived), and its wall time is the mean of the two: on a shared
// machine the load drifts, and a baseline on one side only would charge the drift to the swarm
// (or credit it). Without a heavy tail every candidate sleeps the same, so the seed folders and
// the proposals differ only in the name in tweak.json.
//
// added latency per evaluation = slots × (swarm wall − direct wall) / evaluations: how much
// longer each evaluation held one of the `population × instanceConcurrency` slots through the
// swarm (proposal, validation, activity and workflow scheduling, archive writes, scratch copies).
// added latency per candidate = population × (swarm wall − direct wall) / candidates: the same
// per candidate lane; most of the swarm's cost is per candidate, so more instances per candidate
// make the per-evaluation figure smaller.
// CPU per evaluation: the CPU time this process, the Temporal server and the evaluator processes
// (with the harness and proposer processes they ran) used during each run, per evaluation
// (bench/cpu.ts; Linux). On 2 shared cores both runs are bound by the CPU share they get, which
// moves with the others' load; the CPU they cost does not.
import type { OverheadSizes } from './presets.js';
import { runLanes } from './direct-runner.js';
import { byGeneration, runSwarmSearch } from './swarm-run.js';
import { cpuMeter } from './cpu.js';
import { pct, round } from './stats.js';
import type { BenchContext, SwarmTarget } from './context.js';
import { benchInstances } from './workload.js';

export interface OverheadResult {
  settings: OverheadSizes & { slots: number; evaluatorProcesses: number };
  swarm: {
    candidates: number;
    failed: number;
    evaluations: number;
    wallMs: number;
    evalsPerSec: number;
    /** meta.json totalMs: propose (or import) → validate → evaluate → recorded. */
    candidateP50Ms: number;
    candidateP99Ms: number;
    /** The evaluateCandidate activity as the candidate workflow timed it. */
    evaluateP50Ms: number;
    /** CPU milliseconds per evaluation (null where /proc is not there). */
    cpuMsPerEval: number | null;
  };
  direct: {
    candidates: number;
    evaluations: number;
    /** The runs before and after the swarm together, for this many evaluations (their mean). */
    wallMs: number;
    beforeWallMs: number;
    afterWallMs: number;
    evalsPerSec: number;
    /** One candidate's instances, start of the first process to exit of the last. */
    candidateP50Ms: number;
    candidateP99Ms: number;
    cpuMsPerEval: number | null;
  };
  /** swarm evaluations/s ÷ direct evaluations/s. */
  ratio: number;
  addedLatencyPerEvalMs: number;
  addedLatencyPerCandidateMs: number;
}

export async function measureOverhead(ctx: BenchContext, target: SwarmTarget, s: OverheadSizes): Promise<OverheadResult> {
  const tag = 'overhead';
  const instances = benchInstances(s.instances, s.sleepMs, tag);
  const task = await ctx.workload.task(tag, instances);
  const seeds = await ctx.workload.seeds(tag, s.population);
  const spec = ctx.workload.spec({
    name: 'bench-overhead',
    task,
    seeds,
    population: s.population,
    instanceConcurrency: s.instanceConcurrency,
    maxCandidates: s.maxCandidates,
    archive: ctx.archiveDir,
  });
  const lanes = { instances, concurrency: s.instanceConcurrency, validate: false, env: { BENCH_LOG_DIR: ctx.directLogDir } };
  const expected = s.maxCandidates + s.population;
  ctx.say(`1/4 overhead: direct subprocesses before the swarm, ${expected} candidates`);
  const pids = ctx.stack.cpuPids();
  let cpu = await cpuMeter(pids);
  const before = await runLanes(
    Array.from({ length: expected }, (_, i) => ({ id: `before-${i}`, harnessDir: seeds[i % seeds.length]! })),
    s.population,
    lanes,
  );
  const beforeCpu = await cpu.since();
  cpu = await cpuMeter(pids);
  ctx.say(`1/4 overhead: swarm search, ${s.population} lineages × ${s.instanceConcurrency} instances at once, ${s.maxCandidates + s.population} candidates × ${s.instances} instances of ${s.sleepMs} ms`);
  const swarm = await runSwarmSearch(ctx.stack.client, spec, target.queues);
  const swarmCpu = await cpu.since();
  const evaluated = swarm.candidates.filter((c) => c.instances > 0).sort(byGeneration);

  ctx.say(`1/4 overhead: direct subprocesses after the swarm, the same ${evaluated.length} harness folders`);
  cpu = await cpuMeter(pids);
  const after = await runLanes(evaluated, s.population, lanes);
  const afterCpu = await cpu.since();
  // Both runs together (the same count when no candidate failed: then this is the mean wall).
  const directRate = (before.evaluations + after.evaluations) / ((before.wallMs + after.wallMs) / 1000);
  const direct = {
    evaluations: after.evaluations,
    wallMs: (after.evaluations / directRate) * 1000,
    candidateMs: [...before.candidateMs, ...after.candidateMs],
  };

  const slots = s.population * s.instanceConcurrency;
  const swarmRate = swarm.evaluations / (swarm.wallMs / 1000);
  const totals = evaluated.map((c) => c.timings['totalMs'] ?? 0);
  const evaluates = evaluated.map((c) => c.timings['evaluateMs'] ?? 0);
  return {
    settings: { ...s, slots, evaluatorProcesses: 1 },
    swarm: {
      candidates: swarm.candidates.length,
      failed: swarm.failed,
      evaluations: swarm.evaluations,
      wallMs: Math.round(swarm.wallMs),
      evalsPerSec: round(swarmRate, 2),
      candidateP50Ms: pct(totals, 50),
      candidateP99Ms: pct(totals, 99),
      evaluateP50Ms: pct(evaluates, 50),
      cpuMsPerEval: swarmCpu === undefined ? null : round((swarmCpu * 1000) / Math.max(1, swarm.evaluations), 1),
    },
    direct: {
      candidates: evaluated.length,
      evaluations: direct.evaluations,
      wallMs: Math.round(direct.wallMs),
      beforeWallMs: Math.round(before.wallMs),
      afterWallMs: Math.round(after.wallMs),
      evalsPerSec: round(directRate, 2),
      candidateP50Ms: Math.round(pct(direct.candidateMs, 50)),
      candidateP99Ms: Math.round(pct(direct.candidateMs, 99)),
      cpuMsPerEval:
        beforeCpu === undefined || afterCpu === undefined ? null : round(((beforeCpu + afterCpu) * 1000) / (before.evaluations + after.evaluations), 1),
    },
    ratio: round(swarmRate / directRate, 3),
    addedLatencyPerEvalMs: round((slots * (swarm.wallMs - direct.wallMs)) / Math.max(1, swarm.evaluations), 1),
    addedLatencyPerCandidateMs: Math.round((s.population * (swarm.wallMs - direct.wallMs)) / Math.max(1, evaluated.length)),
  };
}
