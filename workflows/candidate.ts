// One candidate's life: propose (or import a seed) → validate → evaluate, with meta.json written
// at the start and the end. A child workflow of the search, so each candidate has its own small
// history (visible on its own in the Temporal UI) and the search's history grows by a few events
// per candidate.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { CandidateMeta, CandidateOutcome, FailureStage, Metrics } from '../contract/candidate.js';
import type { EvaluatorSpec, GatewaySpec, ProposerSpec } from '../contract/spec.js';
import type { ArchiveActivities, ArchiveRef, EvaluatorActivities, ProposerActivities } from '../activities/types.js';
import type { TaskQueues } from './search-types.js';

export interface CandidateInput {
  archive: ArchiveRef;
  candidateId: string;
  kind: 'seed' | 'proposal';
  lineage: number;
  step: number;
  generation: number;
  parentIds: string[];
  /** For seeds: the seed harness folder to import. */
  seedDir?: string;
  /**
   * A retry of a candidate that failed for an infrastructure reason after its harness was
   * archived: validate and evaluate that harness again, without a new proposal.
   */
  reuseHarness?: boolean;
  taskDir: string;
  specDir: string;
  proposer: ProposerSpec;
  evaluator: EvaluatorSpec;
  gateway: GatewaySpec;
  /** What this candidate may spend on model calls in all (from the search's cost budget). */
  costAllowanceUsd?: number;
  /**
   * An activity silent this long is presumed dead and retried elsewhere. Optional: candidates
   * started before it existed (recorded histories) use 60 s.
   */
  heartbeatTimeoutSec?: number;
  /** Upper bound for one full evaluation (instances × timeout ÷ concurrency, plus slack). */
  evaluateTimeoutSec: number;
  queues: TaskQueues;
  /** Candidates the search had recorded when it started this one (the proposer waits for them: nats backend). */
  knownCandidates?: number;
}

const RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 };

export async function candidateWorkflow(input: CandidateInput): Promise<CandidateOutcome> {
  const heartbeatTimeout = `${input.heartbeatTimeoutSec ?? 60}s`;
  const archive = proxyActivities<ArchiveActivities>({
    taskQueue: input.queues.workflows,
    startToCloseTimeout: '2m',
    retry: { ...RETRY, maximumAttempts: 10 },
  });
  const proposer = proxyActivities<ProposerActivities>({
    taskQueue: input.queues.proposers,
    startToCloseTimeout: `${input.proposer.timeoutSec + 120}s`,
    heartbeatTimeout,
    retry: RETRY,
  });
  const evaluator = proxyActivities<EvaluatorActivities>({
    taskQueue: input.queues.evaluators,
    startToCloseTimeout: `${input.evaluateTimeoutSec}s`,
    heartbeatTimeout,
    retry: RETRY,
  });

  const createdAt = new Date().toISOString();
  const timings: Record<string, number> = {};
  const meta = (status: CandidateMeta['status'], extra: Partial<CandidateMeta> = {}): CandidateMeta => ({
    searchId: input.archive.searchId,
    id: input.candidateId,
    kind: input.kind,
    lineage: input.lineage,
    step: input.step,
    generation: input.generation,
    parentIds: input.parentIds,
    proposer: input.kind === 'seed' ? 'seed' : input.proposer.kind,
    status,
    timings: { ...timings },
    createdAt,
    updatedAt: new Date().toISOString(),
    ...extra,
  });
  const base = {
    id: input.candidateId,
    lineage: input.lineage,
    step: input.step,
    generation: input.generation,
    parentIds: input.parentIds,
  };
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await run();
    } finally {
      timings[`${name}Ms`] = Date.now() - start;
    }
  };

  // Model spend so far; each step may use what is left of the candidate's allowance.
  let spentUsd = 0;
  let refusedCalls = 0;
  const allowanceLeft = () =>
    input.costAllowanceUsd === undefined ? {} : { costAllowanceUsd: Math.max(0, input.costAllowanceUsd - spentUsd) };
  const evalWork = () => ({ split: 'search' as const, evaluator: input.evaluator, gateway: input.gateway, lineage: input.lineage, ...allowanceLeft() });

  let outcome: CandidateOutcome;
  try {
    await archive.writeCandidateMeta({ archive: input.archive, meta: meta('proposing') });
    const work = { archive: input.archive, candidateId: input.candidateId, taskDir: input.taskDir };
    let failed: { stage: FailureStage; reason: string } | undefined;
    if (input.reuseHarness) {
      // The harness in the archive is the one to evaluate again.
    } else if (input.kind === 'seed') {
      if (!input.seedDir) throw ApplicationFailure.nonRetryable('a seed candidate needs seedDir');
      const seedDir = input.seedDir;
      await timed('import', () => archive.importSeed({ ...work, seedDir }));
    } else {
      const proposed = await timed('propose', () =>
        proposer.propose({
          ...work,
          parentIds: input.parentIds,
          proposer: input.proposer,
          specDir: input.specDir,
          evaluatorKind: input.evaluator.kind,
          ...(input.knownCandidates !== undefined ? { knownCandidates: input.knownCandidates } : {}),
          ...allowanceLeft(),
        }),
      );
      spentUsd += proposed.costUsd ?? 0;
      if (!proposed.ok) failed = { stage: 'propose', reason: proposed.reason };
    }
    if (!failed) {
      const valid = await timed('validate', () => evaluator.validateCandidate({ ...work, ...evalWork() }));
      spentUsd += valid.costUsd ?? 0;
      refusedCalls += valid.refusedCalls ?? 0;
      if (!valid.ok) failed = { stage: 'validate', reason: valid.reason };
    }
    let metrics: Metrics | undefined;
    if (!failed) {
      const evaluated = await timed('evaluate', () => evaluator.evaluateCandidate({ ...work, ...evalWork() }));
      metrics = evaluated.metrics;
      spentUsd += metrics.costUsd;
      refusedCalls += evaluated.refusedCalls ?? 0;
    }
    outcome = failed
      ? { ...base, status: 'failed', failureStage: failed.stage, error: failed.reason, spentUsd, refusedCalls }
      : { ...base, status: 'evaluated', metrics, spentUsd, refusedCalls };
  } catch (err) {
    if (isCancellation(err)) {
      // Record the cancellation even though this workflow is being cancelled.
      await CancellationScope.nonCancellable(() =>
        archive.writeCandidateMeta({ archive: input.archive, meta: meta('cancelled', { error: 'cancelled' }) }),
      );
      throw err;
    }
    // Retries are exhausted or the failure is not retryable: the candidate fails, the search goes on.
    const reason = describeFailure(err);
    outcome = { ...base, status: 'failed', failureStage: 'infrastructure', error: reason, spentUsd };
  }
  await archive.writeCandidateMeta({
    archive: input.archive,
    meta: meta(outcome.status, {
      failureStage: outcome.failureStage,
      error: outcome.error,
      metrics: outcome.metrics,
      spentUsd,
      timings: { ...timings, totalMs: Date.now() - Date.parse(createdAt) },
    }),
  });
  return outcome;
}

function describeFailure(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
