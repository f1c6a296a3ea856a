// Worker telemetry, the process-level part: one HTTP endpoint (/metrics, /healthz, /readyz) with
// metaswarm's metrics and the Temporal SDK's. Call startTelemetry before anything connects to
// Temporal: it installs the SDK's Runtime with its metrics exporter (once per process).
//
//   const telemetry = port === undefined ? undefined : await startTelemetry({ port, log });
//   …create and run workers…
//   telemetry?.setReadiness(workersRunning(workers));
//   …on exit: await telemetry?.close(); await shutdownTracing();
import { createServer } from 'node:net';
import type { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { installTemporalRuntime } from '../cli/temporal-runtime.js';
import { startHealthServer } from './health-server.js';
import { swarmMetrics, type SwarmMetrics } from './metrics.js';

export { clientInterceptors } from './client-interceptors.js';
export { workerTelemetry, workflowInterceptorModules } from './interceptors.js';
export { shutdownTracing, startTracing, tracing, tracingConfigured } from './tracing.js';
export { swarmMetrics, SwarmMetrics } from './metrics.js';

export const METRICS_PORT_ENV = 'METASWARM_METRICS_PORT';

export interface TelemetryOptions {
  /** Port for /metrics, /healthz, /readyz (0: any free port). */
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  log: Logger;
  /** Reports whether this process's workers are running; /readyz is 503 until one is set. */
  ready?: () => boolean;
  metrics?: SwarmMetrics;
}

export interface Telemetry {
  readonly port: number;
  /** Loopback URL of the endpoint, e.g. http://127.0.0.1:9464. */
  readonly url: string;
  /** Whether the Temporal SDK's metrics are part of /metrics. */
  readonly sdkMetrics: boolean;
  /** What /readyz asks from now on (the workers exist only after the endpoint is up). */
  setReadiness(ready: () => boolean): void;
  close(): Promise<void>;
}

export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const metrics = opts.metrics ?? swarmMetrics;
  metrics.collectProcessMetrics();
  // The SDK's exporter gets a loopback port of its own, found free just before; the endpoint
  // below fetches from it (see health-server.ts for why it is not exposed as a second port).
  let runtime: { prometheusBindAddress?: string } = {};
  try {
    runtime = installTemporalRuntime(opts.log, { prometheusBindAddress: `127.0.0.1:${await freeLoopbackPort()}` });
  } catch (err) {
    // Installed by other code before us (e.g. a connection made first): our metrics and the
    // probes still work; the SDK's metrics cannot be added to a Runtime that is already running.
    opts.log.warn({ err }, 'could not install the Temporal runtime with metrics: /metrics will not include the SDK metrics');
  }
  let ready = opts.ready ?? (() => false);
  const server = await startHealthServer({
    port: opts.port,
    ...(opts.host ? { host: opts.host } : {}),
    registry: metrics.registry,
    ...(runtime.prometheusBindAddress ? { sdkMetricsAddress: runtime.prometheusBindAddress } : {}),
    ready: () => ready(),
  });
  opts.log.info({ port: server.port, paths: ['/metrics', '/healthz', '/readyz'] }, 'telemetry endpoint listening');
  return {
    port: server.port,
    url: server.url,
    sdkMetrics: runtime.prometheusBindAddress !== undefined,
    setReadiness(fn) {
      ready = fn;
    },
    close: () => server.close(),
  };
}

/** Ready while every worker polls its task queue: not before run(), not once shutdown begins. */
export function workersRunning(workers: readonly Pick<Worker, 'getState'>[]): () => boolean {
  return () => workers.length > 0 && workers.every((w) => w.getState() === 'RUNNING');
}

/**
 * The metrics port from `METASWARM_METRICS_PORT`, or undefined when it is not set (no endpoint).
 * A value that is not a port is an error that names the variable.
 */
export function metricsPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[METRICS_PORT_ENV]?.trim();
  if (!raw) return undefined;
  return parseMetricsPort(raw, METRICS_PORT_ENV);
}

/** Parses a `--metrics-port` / METASWARM_METRICS_PORT value (0 to 65535). */
export function parseMetricsPort(raw: string, what = '--metrics-port'): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(port) || port > 65535) {
    throw new Error(`${what} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
