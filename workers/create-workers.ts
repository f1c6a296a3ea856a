// Wires workflows and activities to task queues, one Worker per role. A process may run one role
// (a cluster) or all of them (one machine, the embedded stack).
import { createRequire } from 'node:module';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { archiveAccess } from '../activities/archive-access.js';
import { archiveActivities, createArchiveActivities } from '../activities/archive-activities.js';
import { createEvaluatorActivities, evaluatorActivities } from '../activities/evaluator-activities.js';
import { createProposerActivities, proposerActivities } from '../activities/proposer-activities.js';
import type { NatsArchive } from '../shared-fs/nats/index.js';
import type { TaskQueues } from '../workflows/search-types.js';
import { workerTelemetry, workflowInterceptorModules } from '../telemetry/interceptors.js';

export const ROLES = ['workflow', 'proposer', 'evaluator'] as const;
export type Role = (typeof ROLES)[number];

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  roles: readonly Role[];
  queues: TaskQueues;
  /** Concurrent activities per role: proposals or evaluations at once in this process. */
  proposerConcurrency?: number;
  evaluatorConcurrency?: number;
  /** Stable identity shown in the Temporal UI (defaults to the SDK's pid@host). */
  identity?: string;
  /**
   * This process's NATS archive (its connection and mirror): needed to work on searches whose
   * archive backend is `nats`. Owned by the caller (closed after the workers drain).
   */
  natsArchive?: NatsArchive;
  /** Workflow code for the workflow role (tests run probe workflows); default workflows/index.ts. */
  workflowsPath?: string;
  /** Replaces activity implementations by name (tests use it to inject failures around the real ones). */
  activityOverrides?: Partial<typeof archiveActivities & typeof proposerActivities & typeof evaluatorActivities>;
}

const defaultWorkflowsPath = createRequire(import.meta.url).resolve('../workflows/index.ts');
const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** The workflow code is bundled once per process, however many workers start. */
export function workflowBundle(workflowsPath = defaultWorkflowsPath): Promise<WorkflowBundleWithSourceMap> {
  let bundle = bundles.get(workflowsPath);
  if (!bundle) {
    bundle = bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: workflowInterceptorModules(), logger: quietBundlerLogger });
    bundles.set(workflowsPath, bundle);
  }
  return bundle;
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: Record<string, unknown>) {
    process.stderr.write(`workflow bundler: ${message} ${meta ? JSON.stringify(meta) : ''}\n`);
  },
  error(message: string, meta?: Record<string, unknown>) {
    process.stderr.write(`workflow bundler: ${message} ${meta ? JSON.stringify(meta) : ''}\n`);
  },
};

export async function createWorkers(opts: WorkerOptions): Promise<Worker[]> {
  const access = archiveAccess(opts.natsArchive ? { nats: opts.natsArchive } : {});
  const activities = {
    archive: createArchiveActivities(access),
    proposer: createProposerActivities(access),
    evaluator: createEvaluatorActivities(access),
  };
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    // Cancellation reaches an activity only in the answer to a heartbeat the SDK sends; its
    // default throttle (up to 60 s) would let a stopped search's processes run on that long.
    maxHeartbeatThrottleInterval: '3s',
    ...(opts.identity ? { identity: opts.identity } : {}),
    // Prometheus counters for every activity; OpenTelemetry spans when OTEL_* is configured.
    ...workerTelemetry(),
  };
  const workers: Worker[] = [];
  if (opts.roles.includes('workflow')) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: opts.queues.workflows,
        workflowBundle: await workflowBundle(opts.workflowsPath),
        activities: { ...activities.archive, ...pick(opts.activityOverrides, archiveActivities) },
      }),
    );
  }
  if (opts.roles.includes('proposer')) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: opts.queues.proposers,
        activities: { ...activities.proposer, ...pick(opts.activityOverrides, proposerActivities) },
        maxConcurrentActivityTaskExecutions: opts.proposerConcurrency ?? 2,
      }),
    );
  }
  if (opts.roles.includes('evaluator')) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: opts.queues.evaluators,
        activities: { ...activities.evaluator, ...pick(opts.activityOverrides, evaluatorActivities) },
        maxConcurrentActivityTaskExecutions: opts.evaluatorConcurrency ?? 2,
      }),
    );
  }
  return workers;
}

/** Runs workers until `shutdown()` is called; `done` settles when all have drained. */
export function runWorkers(workers: Worker[]): { done: Promise<void>; shutdown: () => Promise<void> } {
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

/** The overrides that belong to one role's activity set. */
function pick<T extends object>(overrides: Partial<Record<string, unknown>> | undefined, of: T): Partial<T> {
  if (!overrides) return {};
  return Object.fromEntries(Object.entries(overrides).filter(([name]) => name in of)) as Partial<T>;
}
