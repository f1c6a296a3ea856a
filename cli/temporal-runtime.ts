// The Temporal SDK logs worker state changes at INFO to the console; route its logs through our
// pino logger instead, at WARN unless debugging, so progress views and --json stay clean.
//
// The SDK's Runtime is a process-wide singleton that can be installed once, before the first
// connection. Whoever installs it first decides its options for the life of the process, so the
// metrics exporter (telemetry/) asks for it here rather than installing a Runtime of its own.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from 'pino';

export interface TemporalRuntimeOptions {
  /**
   * Where the SDK's own Prometheus exporter listens (`host:port`). telemetry/ binds it on
   * loopback and serves its output merged into the worker's one `/metrics` endpoint.
   */
  prometheusBindAddress?: string;
}

/** What the installed Runtime does; the same answer for every caller in the process. */
export interface InstalledTemporalRuntime {
  /** Set when the SDK's metrics are exported (by the first install); undefined otherwise. */
  prometheusBindAddress?: string;
}

let installed: InstalledTemporalRuntime | undefined;

export function installTemporalRuntime(log: Logger, opts: TemporalRuntimeOptions = {}): InstalledTemporalRuntime {
  if (installed) {
    if (opts.prometheusBindAddress && !installed.prometheusBindAddress) {
      // A second install cannot add metrics; say so instead of silently serving none.
      log.warn('the Temporal runtime was installed before telemetry started: the SDK metrics will be missing from /metrics');
    }
    return installed;
  }
  const level = log.isLevelEnabled('debug') ? 'DEBUG' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, (entry: LogEntry) => {
      if (isExpectedNoise(entry)) return;
      const meta = { ...entry.meta, sdk: true };
      if (entry.level === 'ERROR') log.error(meta, entry.message);
      else if (entry.level === 'WARN') log.warn(meta, entry.message);
      else log.debug(meta, entry.message);
    }),
    ...(opts.prometheusBindAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: opts.prometheusBindAddress,
                // Prometheus naming conventions, like metaswarm's own metrics: counters end in
                // _total, durations are in seconds and say so in their names.
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }
      : {}),
  });
  installed = opts.prometheusBindAddress ? { prometheusBindAddress: opts.prometheusBindAddress } : {};
  return installed;
}

/** Proposer and evaluator workers register no workflows on purpose; the SDK warns about it. */
export function isExpectedNoise(entry: LogEntry): boolean {
  return entry.message.startsWith('No workflows registered');
}
