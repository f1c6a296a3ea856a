// Counts what the activities do without changing them: a Temporal activity interceptor that
// sees every attempt's input, result or error on this worker, and the attempt's schedule time.
//
// - recordOutcome's input carries the candidate's summary line: its status is the outcome.
// - validateCandidate / evaluateCandidate are evaluations: started, completed, failed, running.
// - propose / validateCandidate / evaluateCandidate results carry the model cost; evaluation
//   results carry instance and error counts. The input/output token split is not in the
//   evaluation result, so it is read from the eval summary.json the activity has just written
//   on this worker (only when the evaluation used tokens); results that carry a `usage` object
//   are counted from it directly.
// Accounting never fails an activity: a mistake here is logged once and the result passes on.
import { readFile } from 'node:fs/promises';
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import type { EvaluateInput, RecordInput } from '../activities/types.js';
import { ArchiveLayout } from '../shared-fs/archive-layout.js';
import { EVALUATION_ACTIVITIES, swarmMetrics, type SwarmMetrics } from './metrics.js';

/** The token counts of a gateway usage record (contract/candidate.ts ModelUsage). */
interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

export function activityMetricsInterceptor(metrics: SwarmMetrics = swarmMetrics): ActivityInterceptorsFactory {
  return (ctx) => ({ inbound: new ActivityMetricsInbound(ctx, metrics) });
}

let warned = false;
function warnOnce(err: unknown): void {
  if (warned) return;
  warned = true;
  process.stderr.write(`metaswarm telemetry: an activity could not be counted (metrics may be incomplete): ${String(err)}\n`);
}

class ActivityMetricsInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly metrics: SwarmMetrics,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { activityType: activity, taskQueue } = this.ctx.info;
    const evaluation = EVALUATION_ACTIVITIES.has(activity);
    guard(() => {
      // The current attempt's schedule time: a retry waits in the queue again. Clocks of the
      // server and this worker may differ a little; a negative wait is clamped to zero.
      const waitedMs = Date.now() - this.ctx.info.currentAttemptScheduledTimestampMs;
      this.metrics.queueWait.observe({ task_queue: taskQueue, activity_type: activity }, Math.max(0, waitedMs) / 1000);
      if (evaluation) {
        this.metrics.evaluationsStarted.inc({ activity_type: activity });
        this.metrics.evaluationsInProgress.inc({ activity_type: activity });
      }
    });
    let result: unknown;
    try {
      result = await next(input);
    } catch (err) {
      guard(() => {
        if (evaluation) this.metrics.evaluationsInProgress.dec({ activity_type: activity });
        if (this.isCancellation(err)) return;
        if (evaluation) this.metrics.evaluationsFailed.inc({ activity_type: activity });
        this.metrics.activityFailures.inc({ activity_type: activity, task_queue: taskQueue, error_type: errorType(err) });
      });
      throw err;
    }
    guard(() => {
      if (evaluation) {
        this.metrics.evaluationsInProgress.dec({ activity_type: activity });
        this.metrics.evaluationsCompleted.inc({ activity_type: activity });
      }
    });
    // Awaited, so a scrape after the activity completed sees its counts; the one file it may read
    // (a small summary.json on this worker's disk) costs a millisecond.
    await this.countResult(activity, input.args[0], result).catch(warnOnce);
    return result;
  }

  private isCancellation(err: unknown): boolean {
    return err instanceof CancelledFailure || this.ctx.cancellationSignal.aborted;
  }

  private async countResult(activity: string, arg: unknown, result: unknown): Promise<void> {
    const m = this.metrics;
    if (activity === 'recordOutcome') {
      const line = (arg as RecordInput | undefined)?.line;
      if (!line) return;
      m.candidates.inc({ status: line.status });
      if (line.status === 'failed') m.candidateFailures.inc({ stage: line.failureStage ?? 'unknown' });
      return;
    }
    if (!isObject(result)) return;
    if (activity === 'propose' || activity === 'validateCandidate') {
      if (result['ok'] === false) m.stepRejections.inc({ activity_type: activity });
      countCost(m, activity, result['costUsd']);
      countRefused(m, activity, result['refusedCalls']);
      if (isUsage(result['usage'])) countTokens(m, activity, result['usage']);
      return;
    }
    if (activity === 'evaluateCandidate') {
      const metrics = isObject(result['metrics']) ? result['metrics'] : {};
      const instances = num(result['instances']);
      const errors = num(result['errors']);
      m.evaluationInstances.inc({ result: 'error' }, errors);
      m.evaluationInstances.inc({ result: 'scored' }, Math.max(0, instances - errors));
      countCost(m, activity, metrics['costUsd']);
      countRefused(m, activity, result['refusedCalls']);
      const tokens = num(metrics['tokens']);
      if (isUsage(result['usage'])) countTokens(m, activity, result['usage']);
      // Results recorded before activities returned their usage: the total is all there is.
      else if (tokens > 0) m.modelTokens.inc({ activity_type: activity, type: 'unknown' }, tokens);
    }
  }
}

function guard(count: () => void): void {
  try {
    count();
  } catch (err) {
    warnOnce(err);
  }
}

/** A bounded label: the ApplicationFailure type (e.g. SpecError), else the error class name. */
function errorType(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'ApplicationFailure';
  if (err instanceof Error) return err.name;
  return 'unknown';
}

function countCost(m: SwarmMetrics, activity: string, costUsd: unknown): void {
  const usd = num(costUsd);
  if (usd > 0) m.modelCost.inc({ activity_type: activity }, usd);
}

function countRefused(m: SwarmMetrics, activity: string, refused: unknown): void {
  const n = num(refused);
  if (n > 0) m.modelCallsRefused.inc({ activity_type: activity }, n);
}

function countTokens(m: SwarmMetrics, activity: string, u: TokenUsage): void {
  const types: [string, number | undefined][] = [
    ['input', u.inputTokens],
    ['output', u.outputTokens],
    ['cache_read', u.cacheReadTokens],
    ['cache_write', u.cacheWriteTokens],
  ];
  for (const [type, n] of types) if (num(n) > 0) m.modelTokens.inc({ activity_type: activity, type }, num(n));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isUsage(v: unknown): v is TokenUsage {
  return isObject(v) && typeof v['inputTokens'] === 'number' && typeof v['outputTokens'] === 'number';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
