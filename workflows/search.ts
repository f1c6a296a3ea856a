// The search workflow: keeps `population` lineages going, each looping propose → validate →
// evaluate → select on its own (a lineage starts its next step as soon as its own step ends: no
// generation barrier), owns the budget, the Pareto frontier and migration, answers status queries
// and pause/resume/stop signals, and continues-as-new to keep each run's history small.
//
// Deterministic: no I/O here. Time is workflow time; ids come from (lineage, step, proposal).
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CandidateOutcome, SummaryLine } from '../contract/candidate.js';
import type { ArchiveActivities, ArchiveRef } from '../activities/types.js';
import { candidateWorkflow, type CandidateInput } from './candidate.js';
import { addToFrontier } from './frontier.js';
import { candidateWorkflowId, proposalCandidateId, seedCandidateId } from './ids.js';
import { applyRetry, applyStep, failureBackoffMs, planStep, type CandidateRef, type LineageState, type StepPlan } from './lineage.js';
import {
  pauseSignal,
  resumeSignal,
  retryCandidatesSignal,
  setBudgetUpdate,
  setPopulationUpdate,
  statusQuery,
  stopSignal,
} from './messages.js';
import type { RetryRequest, SearchInput, SearchPhase, SearchState, SearchStatus } from './search-types.js';

/** Generous bound on one evaluate activity; liveness comes from its heartbeat timeout. */
const EVALUATE_TIMEOUT_SEC = 6 * 3600;
/** A candidate is launched only with at least this share of the search's cost cap to spend. */
const MIN_ALLOWANCE_SHARE = 0.005;

export async function searchWorkflow(input: SearchInput): Promise<SearchStatus> {
  const { spec, searchId, queues } = input;
  const archiveRef: ArchiveRef =
    spec.archive.backend === 'nats'
      ? { root: spec.archive.path, searchId, backend: 'nats', ...(spec.archive.bucket ? { bucket: spec.archive.bucket } : {}) }
      : { root: spec.archive.path, searchId };
  const archive = proxyActivities<ArchiveActivities>({
    taskQueue: queues.workflows,
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
  });

  const state: SearchState = input.carried ?? initialState(input);
  state.run = input.carried ? input.carried.run + 1 : 1;
  let stopReason: string | undefined;
  let stopRequested = false;
  let draining = false;
  let finished: SearchPhase | undefined;
  let wake = 0;
  const bump = () => void (wake += 1);
  /** candidate id → lineage (null for seeds) of every candidate workflow running now. */
  const running = new Map<string, number | null>();
  const busyLineages = new Set<number>();
  const children = new CancellationScope();
  let recordChain: Promise<void> = Promise.resolve();

  const phase = (): SearchPhase =>
    finished ?? (stopRequested ? 'stopping' : state.paused ? 'paused' : 'running');

  const status = (): SearchStatus => ({
    searchId,
    phase: phase(),
    stopReason,
    archive: `${spec.archive.path}/${searchId}`,
    startedAt: new Date(state.startedAtMs).toISOString(),
    elapsedMs: Date.now() - state.startedAtMs,
    budget: {
      maxCandidates: state.maxCandidates,
      proposed: state.counts.proposed,
      maxWallTimeSec: spec.budget.maxWallTimeSec,
      maxCostUsd: spec.budget.maxCostUsd,
      spentUsd: state.spentUsd,
    },
    counts: { ...state.counts },
    population: state.population,
    baseline: state.baseline,
    best: state.best,
    lineages: state.lineages.map((l) => ({
      index: l.index,
      headId: l.headId,
      best: l.best,
      proposed: l.proposed,
      failed: l.failed,
      stall: l.stall,
      migrations: l.migrations,
      spentUsd: l.spentUsd,
      running: [...running].filter(([, lin]) => lin === l.index).map(([id]) => id),
      retired: l.retired,
    })),
    frontier: state.frontier,
    running: [...running.keys()],
    run: state.run,
  });

  setHandler(statusQuery, status);
  setHandler(pauseSignal, () => {
    state.paused = true;
    bump();
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    bump();
  });
  setHandler(retryCandidatesSignal, ({ candidates }) => retry(candidates));
  setHandler(stopSignal, (req) => {
    if (!stopRequested) {
      stopRequested = true;
      stopReason = req?.reason ?? 'stopped by request';
      children.cancel();
    }
    bump();
  });
  setHandler(
    setBudgetUpdate,
    ({ maxCandidates }) => {
      state.maxCandidates = maxCandidates;
      bump();
      return state.maxCandidates;
    },
    {
      validator: ({ maxCandidates }) => {
        if (!Number.isInteger(maxCandidates) || maxCandidates < state.counts.proposed) {
          throw new Error(`maxCandidates must be a whole number ≥ the ${state.counts.proposed} already proposed`);
        }
      },
    },
  );
  setHandler(
    setPopulationUpdate,
    ({ population }) => {
      resizePopulation(state, population);
      bump();
      return state.population;
    },
    {
      validator: ({ population }) => {
        if (!Number.isInteger(population) || population < 1) throw new Error('population must be a whole number ≥ 1');
      },
    },
  );

  /**
   * Appends to summary.jsonl and rewrites frontier.json. Chained, so one record activity runs at a
   * time per search and files are written in order without locks across workers.
   */
  const record = (outcome: CandidateOutcome, kind: SummaryLine['kind'], replace = false) => {
    const line: SummaryLine = { ...outcome, kind, recordedAt: new Date().toISOString() };
    const frontier = state.frontier;
    recordChain = recordChain
      .then(() => archive.recordOutcome({ archive: archiveRef, line, frontier, ...(replace ? { replace } : {}) }))
      .then(() => {
        if (!replace) state.recorded = (state.recorded ?? 0) + 1;
      })
      .catch((err) => log.warn('could not record a candidate in summary.jsonl', { id: outcome.id, err: String(err) }));
  };

  /** Books a finished candidate: counts, global best, frontier, summary line. */
  const book = (o: CandidateOutcome, kind: SummaryLine['kind'], replace = false) => {
    state.spentUsd += o.spentUsd ?? 0;
    if (o.status === 'evaluated' && o.metrics) {
      state.counts.evaluated += 1;
      const ref: CandidateRef = { id: o.id, lineage: o.lineage, generation: o.generation, score: o.metrics.score };
      if (!state.best || ref.score > state.best.score) state.best = ref;
      state.frontier = addToFrontier(
        state.frontier,
        { id: o.id, lineage: o.lineage, generation: o.generation, metrics: o.metrics },
        spec.objectives,
      );
    } else if (o.status === 'cancelled') {
      state.counts.cancelled += 1;
    } else {
      state.counts.failed += 1;
    }
    record(o, kind, replace);
  };

  /** Runs finished candidates again (infrastructure failures); their new outcome replaces the old. */
  const retry = (requests: readonly RetryRequest[]) => {
    for (const r of requests) {
      if (running.has(r.id) || stopRequested) continue;
      state.counts.failed = Math.max(0, state.counts.failed - 1); // booked again below
      void runCandidate({
        candidateId: r.id,
        kind: r.kind,
        lineage: r.lineage,
        step: r.step,
        generation: r.generation,
        parentIds: r.parentIds,
        reuseHarness: r.reuseHarness,
        ...(r.kind === 'seed' && !r.reuseHarness ? { seedDir: spec.seeds[r.lineage] } : {}),
      }).then((o) => {
        book(o, r.kind, true);
        const i = state.lineages.findIndex((l) => l.index === r.lineage);
        if (r.kind === 'proposal' && i >= 0) state.lineages[i] = applyRetry(state.lineages[i]!, o);
        if (r.kind === 'seed' && o.status === 'evaluated' && o.metrics) {
          const ref = { id: o.id, lineage: o.lineage, generation: 0, score: o.metrics.score };
          if (!state.baseline || ref.score > state.baseline.score) state.baseline = ref;
          for (const l of state.lineages) if (l.seedId === o.id && !l.best) l.best = ref;
        }
      });
    }
    bump();
  };

  /**
   * The search's cost cap is split into allowances: a candidate may spend its share of what is
   * neither spent nor promised to candidates still running, so calls in flight can never take
   * the search past the cap. Unspent allowance returns to the pool when the candidate ends.
   */
  const allowances = new Map<string, number>();
  const maxSlots = () => Math.max(1, state.population * spec.proposalsPerStep);
  const unallocatedUsd = () =>
    (spec.budget.maxCostUsd ?? Infinity) - state.spentUsd - [...allowances.values()].reduce((a, b) => a + b, 0);
  const nextAllowance = (): number | undefined =>
    spec.budget.maxCostUsd === undefined ? undefined : unallocatedUsd() / Math.max(1, maxSlots() - running.size);
  /**
   * Below this a candidate could not do useful work, so the cost budget counts as used: a small
   * share of the cap, or half of what a finished candidate spent on average (a candidate whose
   * calls the gateway refuses spends nothing, but teaches nothing either).
   */
  const costBudgetUsed = () => {
    if (spec.budget.maxCostUsd === undefined) return false;
    const finished = state.counts.evaluated + state.counts.failed;
    const typical = finished > 0 ? state.spentUsd / finished : 0;
    const allowance = nextAllowance() ?? 0;
    // The gateway reserves a call's worst case before forwarding it: an allowance no larger than
    // one at which a candidate already had calls refused would only starve the next one too.
    if (state.starvedAllowanceUsd !== undefined && allowance <= state.starvedAllowanceUsd) return true;
    return allowance < Math.max(spec.budget.maxCostUsd * MIN_ALLOWANCE_SHARE, typical / 2);
  };

  const runCandidate = async (
    c: Omit<
      CandidateInput,
      'archive' | 'taskDir' | 'specDir' | 'proposer' | 'evaluator' | 'gateway' | 'evaluateTimeoutSec' | 'heartbeatTimeoutSec' | 'queues'
    >,
  ): Promise<CandidateOutcome> => {
    const allowance = nextAllowance();
    if (allowance !== undefined) allowances.set(c.candidateId, allowance);
    const noteStarved = (o: CandidateOutcome) => {
      if (allowance !== undefined && (o.refusedCalls ?? 0) > 0) {
        state.starvedAllowanceUsd = Math.max(state.starvedAllowanceUsd ?? 0, allowance);
      }
      return o;
    };
    const childInput: CandidateInput = {
      ...c,
      archive: archiveRef,
      taskDir: spec.task,
      specDir: input.specDir,
      proposer: spec.proposer,
      evaluator: spec.evaluator,
      gateway: spec.gateway,
      ...(allowance !== undefined ? { costAllowanceUsd: allowance } : {}),
      evaluateTimeoutSec: EVALUATE_TIMEOUT_SEC,
      heartbeatTimeoutSec: spec.heartbeatTimeoutSec ?? 60,
      queues,
      ...(spec.archive.backend === 'nats' ? { knownCandidates: state.recorded ?? 0 } : {}),
    };
    running.set(c.candidateId, c.kind === 'seed' ? null : c.lineage);
    try {
      return noteStarved(
        await children.run(() =>
          executeChild(candidateWorkflow, {
            workflowId: candidateWorkflowId(searchId, c.candidateId),
            taskQueue: queues.workflows,
            args: [childInput],
          }),
        ),
      );
    } catch (err) {
      const base = { id: c.candidateId, lineage: c.lineage, step: c.step, generation: c.generation, parentIds: c.parentIds };
      if (isCancellation(err) || stopRequested) return { ...base, status: 'cancelled', error: 'cancelled' };
      return { ...base, status: 'failed', failureStage: 'infrastructure', error: String(err) };
    } finally {
      running.delete(c.candidateId);
      allowances.delete(c.candidateId);
      bump();
    }
  };

  const launchSeed = (seedIndex: number) => {
    const id = seedCandidateId(seedIndex);
    void runCandidate({
      candidateId: id,
      kind: 'seed',
      lineage: seedIndex,
      step: 0,
      generation: 0,
      parentIds: [],
      seedDir: spec.seeds[seedIndex],
    }).then((o) => {
      book(o, 'seed');
      const seed = state.seeds[seedIndex]!;
      seed.done = true;
      if (o.status === 'evaluated' && o.metrics) {
        seed.score = o.metrics.score;
        const ref: CandidateRef = { id, lineage: seedIndex, generation: 0, score: o.metrics.score };
        if (!state.baseline || ref.score > state.baseline.score) state.baseline = ref;
        for (const l of state.lineages) if (l.seedId === id && !l.best) l.best = ref;
      }
    });
  };

  const launchStep = (lineage: LineageState, count: number) => {
    const plan: StepPlan = planStep(lineage, state.best, spec.stallSteps);
    const step = lineage.nextStep;
    lineage.nextStep += 1;
    state.counts.proposed += count;
    busyLineages.add(lineage.index);
    if (plan.migratedFrom) log.info('lineage migrates to the global best', { lineage: lineage.index, parent: plan.parent.id });
    const proposals = Array.from({ length: count }, (_, p) =>
      runCandidate({
        candidateId: proposalCandidateId(lineage.index, step, p),
        kind: 'proposal',
        lineage: lineage.index,
        step,
        generation: plan.parent.generation + 1,
        parentIds: [plan.parent.id],
      }).then((o) => {
        book(o, 'proposal');
        return o;
      }),
    );
    void Promise.all(proposals).then((outcomes) => {
      const i = state.lineages.findIndex((l) => l.index === lineage.index);
      const next = applyStep(state.lineages[i]!, outcomes, plan);
      next.notBeforeMs = Date.now() + failureBackoffMs(next.failedSteps, spec.failureBackoffSec);
      state.lineages[i] = next;
      busyLineages.delete(lineage.index);
      bump();
    });
  };

  if (!input.carried) {
    await archive.initSearchArchive({ archive: archiveRef, resolvedSpec: { searchId, specDir: input.specDir, spec } });
  }
  // A fresh search starts every seed; a resumed one (state rebuilt from the archive) the seeds
  // that had not finished. After continue-as-new all seeds are done.
  for (const seed of state.seeds) if (!seed.done) launchSeed(seed.seedIndex);
  if (input.retry?.length) retry(input.retry);

  const wallLimitMs = spec.budget.maxWallTimeSec ? spec.budget.maxWallTimeSec * 1000 : undefined;
  for (;;) {
    const elapsed = Date.now() - state.startedAtMs;
    if (wallLimitMs !== undefined && elapsed >= wallLimitMs && !stopRequested) {
      stopRequested = true;
      stopReason = 'wall-time budget reached';
      children.cancel();
    }
    if (stopRequested) {
      if (running.size === 0) break;
    } else {
      const info = workflowInfo();
      if (!draining && (info.continueAsNewSuggested || info.historyLength >= spec.continueAsNewAfterEvents)) {
        draining = true; // start nothing new; continue-as-new once the running candidates are in
      }
      if (!state.paused && !draining) {
        for (const lineage of state.lineages) {
          const left = state.maxCandidates - state.counts.proposed;
          if (left <= 0 || costBudgetUsed()) break;
          const seedDone = state.seeds.find((s) => s.id === lineage.seedId)?.done ?? true;
          if (lineage.retired || busyLineages.has(lineage.index) || !seedDone) continue;
          if (lineage.notBeforeMs > Date.now()) continue; // backing off after failed steps
          launchStep(lineage, Math.min(spec.proposalsPerStep, left));
        }
      }
      if (running.size === 0 && busyLineages.size === 0) {
        if (draining) {
          await recordChain;
          await condition(allHandlersFinished);
          return await continueAsNew<typeof searchWorkflow>({ ...input, carried: state });
        }
        if (state.counts.proposed >= state.maxCandidates) {
          stopReason = 'candidate budget used';
          break;
        }
        if (costBudgetUsed()) {
          stopReason = 'cost budget used';
          break;
        }
      }
    }
    // Sleep until something happens: a candidate ends, a signal, the wall-time limit, or the end
    // of a lineage's back-off.
    const seen = wake;
    const deadlines = state.lineages
      .filter((l) => !l.retired && !busyLineages.has(l.index) && l.notBeforeMs > Date.now())
      .map((l) => l.notBeforeMs);
    if (wallLimitMs !== undefined && !stopRequested) deadlines.push(state.startedAtMs + wallLimitMs);
    if (deadlines.length > 0 && !stopRequested) {
      await condition(() => wake !== seen, Math.max(1, Math.min(...deadlines) - Date.now()));
    } else {
      await condition(() => wake !== seen);
    }
  }
  await recordChain;
  finished = stopRequested ? 'stopped' : 'completed';
  return status();
}

function initialState(input: SearchInput): SearchState {
  const { spec } = input;
  const seeds = spec.seeds.map((_, i) => ({ id: seedCandidateId(i), seedIndex: i, done: false }));
  const lineages = Array.from({ length: spec.population }, (_, i) => newLineage(i, seeds[i % seeds.length]!.id));
  return {
    startedAtMs: Date.now(),
    paused: false,
    maxCandidates: spec.budget.maxCandidates,
    population: spec.population,
    seeds,
    lineages,
    counts: { proposed: 0, evaluated: 0, failed: 0, cancelled: 0 },
    spentUsd: 0,
    frontier: [],
    run: 1,
  };
}

function newLineage(index: number, seedId: string, from?: CandidateRef): LineageState {
  return {
    index,
    seedId,
    nextStep: 1,
    headId: from?.id ?? seedId,
    headGeneration: from?.generation ?? 0,
    best: from,
    stall: 0,
    proposed: 0,
    failed: 0,
    migrations: 0,
    retired: false,
    failedSteps: 0,
    notBeforeMs: 0,
    spentUsd: 0,
  };
}

/** Grows the population with lineages that start from the global best, or retires the newest. */
function resizePopulation(state: SearchState, population: number): void {
  const active = state.lineages.filter((l) => !l.retired);
  if (population > active.length) {
    for (let n = active.length; n < population; n++) {
      const seedId = state.seeds[state.lineages.length % state.seeds.length]!.id;
      state.lineages.push(newLineage(state.lineages.length, seedId, state.best));
    }
  } else {
    for (const l of active.slice(population)) l.retired = true;
  }
  state.population = population;
}
