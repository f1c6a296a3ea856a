// `metaswarm worker --role …`: join a swarm. Workers poll their task queues on the configured
// Temporal (or the project's running `metaswarm up` stack) until Ctrl-C / SIGTERM, then drain.
import { NativeConnection } from '@temporalio/worker';
import { readLiveStack } from '../../stack/stack-file.js';
import { connectNative, resolveTemporalConfig, type ConfiguredTemporal } from '../../stack/temporal-config.js';
import { createWorkers, ROLES, runWorkers, type Role } from '../../workers/create-workers.js';
import { taskQueues } from '../../workers/task-queues.js';
import type { CommandContext } from '../command-context.js';
import { openProcessNatsArchive } from '../nats-archive.js';
import { metricsPortFromEnv, shutdownTracing, startTelemetry, workersRunning } from '../../telemetry/index.js';
import { wantsNatsArchive, type NatsCliOptions } from '../../stack/nats-config.js';
import { installTemporalRuntime } from '../temporal-runtime.js';

export interface WorkerCommandOptions extends NatsCliOptions {
  role: Role | 'all';
  /** Serve Prometheus /metrics, /healthz and /readyz here (METASWARM_METRICS_PORT). */
  metricsPort?: number;
  /** `nats` (or METASWARM_ARCHIVE=nats): take searches whose archive is in NATS, with a mirror of it. */
  archive?: string;
  proposerConcurrency?: number;
  evaluatorConcurrency?: number;
  identity?: string;
}

export async function workerCommand(ctx: CommandContext, opts: WorkerCommandOptions): Promise<void> {
  // Telemetry first: it installs the Temporal runtime with the SDK's metrics exporter.
  const metricsPort = opts.metricsPort ?? metricsPortFromEnv();
  const telemetry = metricsPort === undefined ? undefined : await startTelemetry({ port: metricsPort, log: ctx.log });
  installTemporalRuntime(ctx.log); // a no-op when telemetry installed it
  const config = resolveTemporalConfig(ctx.connection);
  let target: ConfiguredTemporal;
  if (config.kind === 'configured') target = config;
  else {
    const live = await readLiveStack();
    if (!live) {
      throw new Error(
        'no Temporal server to join: set TEMPORAL_ADDRESS (or --address), or start `npx metaswarm up` in this project first',
      );
    }
    target = { kind: 'configured', address: live.address, namespace: live.namespace };
  }
  const roles: readonly Role[] = opts.role === 'all' ? ROLES : [opts.role];
  const queues = taskQueues(ctx.queuePrefix);
  // A worker joining a stack takes its NATS from the environment or the `up` stack; it never
  // starts a nats-server of its own (its archive would be seen by no one else).
  const nats = wantsNatsArchive(opts.archive) ? await openProcessNatsArchive({ cli: opts, allowEmbedded: false, log: ctx.log }) : undefined;
  const connection: NativeConnection = await connectNative(target);
  const workers = await createWorkers({
    ...(nats ? { natsArchive: nats.archive } : {}),
    connection,
    namespace: target.namespace,
    roles,
    queues,
    proposerConcurrency: opts.proposerConcurrency,
    evaluatorConcurrency: opts.evaluatorConcurrency,
    identity: opts.identity,
  });
  const running = runWorkers(workers);
  telemetry?.setReadiness(workersRunning(workers));
  ctx.log.info(
    {
      address: target.address,
      namespace: target.namespace,
      roles,
      queues,
      ...(nats ? { nats: nats.url, mirror: nats.archive.mirrorRoot } : {}),
      ...(telemetry ? { metrics: telemetry.url } : {}),
    },
    'worker running; Ctrl-C drains and stops',
  );
  const stop = () => {
    ctx.log.info('draining: finishing running activities, then stopping');
    void running.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await running.done;
  } finally {
    await connection.close();
    await nats?.close();
    await shutdownTracing();
    await telemetry?.close();
  }
}
