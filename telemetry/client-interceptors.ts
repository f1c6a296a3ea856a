// The CLI's side of tracing: starting a workflow opens the trace its workers continue. Apart from
// the worker-side helpers so that a client process loads neither prom-client nor, with tracing
// off, any OpenTelemetry SDK package.
//
//   new Client({ connection, namespace, interceptors: clientInterceptors() })
import type { ClientInterceptors } from '@temporalio/client';
import { loadTemporalOtel, tracing } from './tracing.js';

export function clientInterceptors(): ClientInterceptors {
  const t = tracing();
  if (!t) return {};
  const { OpenTelemetryWorkflowClientInterceptor } = loadTemporalOtel();
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: t.tracer })] };
}
