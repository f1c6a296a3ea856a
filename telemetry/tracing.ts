// OpenTelemetry tracing for workers and the CLI, exported over OTLP/HTTP (JSON), on only when an
// OTLP endpoint is configured the standard way (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Off, nothing is created: no provider, no interceptors, no
// workflow sink, nothing in the workflow bundle, so an untraced swarm pays nothing for it.
//
// On, one provider per process: the Temporal interceptors (interceptors.ts) start spans with its
// tracer, workflow spans (made inside the workflow sandbox) reach its span processor through a
// sink, and it is registered globally because the interceptors propagate context through the
// global propagator and the active context (hence the AsyncLocalStorage context manager:
// without one, a span started in a client call would never become the parent of the next).
import os from 'node:os';
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface Tracing {
  readonly tracer: otel.Tracer;
  readonly resource: Resource;
  /** Where workflow spans go (through the worker's `exporter` sink). */
  readonly spanProcessor: SpanProcessor;
  /** Sends what is buffered now (the batch processor otherwise waits up to 5 s). */
  forceFlush(): Promise<void>;
}

export interface TracingOptions {
  /** service.name; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it. Default `metaswarm`. */
  serviceName?: string;
  /** Extra resource attributes, e.g. `{ 'metaswarm.role': 'evaluator' }`. */
  attributes?: Record<string, string>;
  /** Instead of the OTLP exporter configured from the environment (tests, other backends). */
  exporter?: SpanExporter;
}

/** Whether the environment asks for traces: an OTLP endpoint, and tracing not switched off. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['OTEL_SDK_DISABLED']?.toLowerCase() === 'true') return false;
  if (env['OTEL_TRACES_EXPORTER']?.toLowerCase() === 'none') return false;
  return Boolean(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT']);
}

let current: (Tracing & { provider: BasicTracerProvider }) | undefined;

/**
 * The process's tracing, started from the environment on first use; undefined when tracing is
 * not configured. Every telemetry helper asks this, so the decision is made once per process.
 */
export function tracing(): Tracing | undefined {
  if (current) return current;
  if (!tracingConfigured()) return undefined;
  return startTracing();
}

/**
 * Starts tracing whatever the environment says (`exporter` given) or as it says (OTLP/HTTP to
 * its endpoint; the exporter reads the OTEL_EXPORTER_OTLP_* variables itself: endpoint, headers,
 * timeout). Once per process: a second call returns the first tracing.
 */
export function startTracing(opts: TracingOptions = {}): Tracing {
  if (current) return current;
  const resource = new Resource({
    [ATTR_SERVICE_NAME]: opts.serviceName ?? 'metaswarm',
    [ATTR_SERVICE_INSTANCE_ID]: `${os.hostname()}:${process.pid}`,
    ...opts.attributes,
  }).merge(envDetectorSync.detect());
  const spanProcessor = new BatchSpanProcessor(opts.exporter ?? new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  const tracer = provider.getTracer('metaswarm');
  current = {
    provider,
    tracer,
    resource,
    spanProcessor,
    forceFlush: () => provider.forceFlush(),
  };
  return current;
}

/** Sends the spans still buffered and stops tracing; call it before the process exits. */
export async function shutdownTracing(): Promise<void> {
  const t = current;
  if (!t) return;
  current = undefined;
  await t.provider.shutdown();
  otel.trace.disable();
  otel.context.disable();
  otel.propagation.disable();
}
