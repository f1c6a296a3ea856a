// metaswarm's own Prometheus metrics: what a person running a swarm looks at (candidates and
// their outcomes, evaluations, failures, model spend, how long work waits for a worker). The
// Temporal SDK's runtime metrics come from its own exporter and are merged in at scrape time
// (see health-server.ts); these live in a prom-client registry because the SDK's custom metric
// meter only has integer counters, and cost in USD is not an integer.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The activities that evaluate a harness (validation runs it on one instance). */
export const EVALUATION_ACTIVITIES: ReadonlySet<string> = new Set(['validateCandidate', 'evaluateCandidate']);

/**
 * Queue waits range from milliseconds (an idle swarm) to many minutes (a backlog on busy
 * evaluators); the buckets cover both, so a KEDA or alert threshold can sit anywhere.
 */
const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class SwarmMetrics {
  readonly registry = new Registry();

  readonly candidates = new Counter({
    name: 'metaswarm_candidates_total',
    help: 'Candidate outcomes recorded into the archive (summary.jsonl), by status (evaluated, failed, cancelled). A candidate run again by retry-failed counts again.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly candidateFailures = new Counter({
    name: 'metaswarm_candidate_failures_total',
    help: 'Failed candidates recorded, by the stage that failed (propose, validate, evaluate, infrastructure).',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  readonly evaluationsStarted = new Counter({
    name: 'metaswarm_evaluations_started_total',
    help: 'Evaluation activity attempts started on this worker (validateCandidate, evaluateCandidate); retries count again.',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly evaluationsCompleted = new Counter({
    name: 'metaswarm_evaluations_completed_total',
    help: 'Evaluation activity attempts that returned a result (a harness that fails validation still completes).',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly evaluationsFailed = new Counter({
    name: 'metaswarm_evaluations_failed_total',
    help: 'Evaluation activity attempts that threw (not cancellations): infrastructure or configuration errors.',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly evaluationsInProgress = new Gauge({
    name: 'metaswarm_evaluations_in_progress',
    help: 'Evaluation activities running on this worker now (for evaluator-slot utilization).',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly evaluationInstances = new Counter({
    name: 'metaswarm_evaluation_instances_total',
    help: 'Task instances run by completed evaluateCandidate activities, by result (scored, error: timeout, crash, bad output…).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly stepRejections = new Counter({
    name: 'metaswarm_step_rejections_total',
    help: 'Steps that completed with a negative verdict (a proposal that failed, a harness that failed validation): the candidate fails, the infrastructure did not.',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly activityFailures = new Counter({
    name: 'metaswarm_activity_failures_total',
    help: 'Activity attempts that threw (cancellations excluded), by activity, task queue and error type; Temporal may retry them.',
    labelNames: ['activity_type', 'task_queue', 'error_type'] as const,
    registers: [this.registry],
  });

  readonly modelTokens = new Counter({
    name: 'metaswarm_model_tokens_total',
    help: 'Model tokens used through the gateway by evaluations on this worker, by activity and type (input, output, cache_read, cache_write; unknown when only the total is known).',
    labelNames: ['activity_type', 'type'] as const,
    registers: [this.registry],
  });

  readonly modelCost = new Counter({
    name: 'metaswarm_model_cost_usd_total',
    help: 'Model spend in USD at list price (what the search budget counts), by the activity that spent it on this worker.',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly modelCallsRefused = new Counter({
    name: 'metaswarm_model_calls_refused_total',
    help: 'Model calls the gateway refused because a token or cost budget was used up.',
    labelNames: ['activity_type'] as const,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'metaswarm_activity_queue_wait_seconds',
    help: 'Time from an activity attempt being scheduled to a worker starting it (schedule-to-start), by task queue and activity type: long waits mean too few workers of that role.',
    labelNames: ['task_queue', 'activity_type'] as const,
    buckets: QUEUE_WAIT_BUCKETS,
    registers: [this.registry],
  });

  private defaultsCollected = false;

  /** Node process metrics (CPU, memory, event loop lag), for the process that serves /metrics. */
  collectProcessMetrics(): void {
    if (this.defaultsCollected) return;
    this.defaultsCollected = true;
    collectDefaultMetrics({ register: this.registry });
  }
}

/**
 * The process's metrics. Interceptors of every worker in the process count into it; the
 * /metrics endpoint serves it. Without an endpoint the counts only cost a few map updates.
 */
export const swarmMetrics = new SwarmMetrics();
