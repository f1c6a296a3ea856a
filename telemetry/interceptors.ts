// What a Worker, a workflow bundle and a Client need for telemetry, in one place each:
//
//   Worker.create({ ...options, ...workerTelemetry() })               metrics (+ tracing when on)
//   bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: workflowInterceptorModules() })
//   new Client({ connection, namespace, interceptors: clientInterceptors() })   (client-interceptors.ts)
//
// Metrics interceptors are always installed: counting costs a few map updates per activity
// (activities here take seconds), and a worker started without /metrics loses nothing by it.
// Tracing pieces appear only when tracing is on (tracing.ts), so an untraced swarm runs exactly
// the code it ran before, workflow bundle included.
import type { ActivityInterceptorsFactory, InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { activityMetricsInterceptor } from './activity-metrics.js';
import { swarmMetrics, type SwarmMetrics } from './metrics.js';
import { loadTemporalOtel, otelWorkflowInterceptors, tracing } from './tracing.js';

export interface WorkerTelemetryOptions {
  interceptors: WorkerInterceptors;
  sinks?: InjectedSinks<any>;
}

/**
 * Worker options to spread into every `Worker.create`: activity interceptors (metrics; spans
 * when tracing is on) and, when tracing is on, the sink that carries workflow spans out of the
 * sandbox. A workflow worker built from a pre-built bundle also needs the bundle built with
 * `workflowInterceptorModules()`.
 */
export function workerTelemetry(metrics: SwarmMetrics = swarmMetrics): WorkerTelemetryOptions {
  const t = tracing();
  const activity: ActivityInterceptorsFactory[] = [];
  if (t) {
    const { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } = loadTemporalOtel();
    // Outermost, so the activity's own span covers the metrics accounting too.
    activity.push((ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: t.tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }));
  }
  activity.push(activityMetricsInterceptor(metrics));
  if (!t) return { interceptors: { activity } };
  return {
    // workflowModules is used only by workers that bundle their own workflow code.
    interceptors: { activity, workflowModules: [otelWorkflowInterceptors()] },
    sinks: { exporter: loadTemporalOtel().makeWorkflowExporter(t.spanProcessor, t.resource) },
  };
}

/**
 * For `bundleWorkflowCode({ workflowInterceptorModules })`: the workflow-side tracing
 * interceptors when tracing is on, none otherwise. The bundle is built once per process, after
 * the environment is read, so it matches the worker's sinks. The interceptors add headers and
 * spans but schedule no commands of their own; still, give all workflow workers of a deployment
 * the same OTEL_* settings, so a history is never replayed with and without them in turn.
 */
export function workflowInterceptorModules(): string[] {
  return tracing() ? [otelWorkflowInterceptors()] : [];
}
