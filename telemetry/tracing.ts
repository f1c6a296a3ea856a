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
import { createRequire } from 'node:module';
import os from 'node:os';
import type * as otel from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { BasicTracerProvider, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

// The SDK packages are loaded only when tracing starts: the OTLP exporter alone takes ~300 ms
// to import, which every CLI command would pay even with tracing off. They are CommonJS, so a
// synchronous require keeps tracing() synchronous for the Worker and Client options it feeds.
const load = createRequire(import.meta.url);

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
  const { Resource, envDetectorSync } = load('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } = load('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { AsyncLocalStorageContextManager } = load('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const resource = new Resource({
    // Semantic-convention keys (service.name, service.instance.id), spelled out rather than
    // imported: the conventions package is large and these two never change.
    'service.name': opts.serviceName ?? 'metaswarm',
    'service.instance.id': `${os.hostname()}:${process.pid}`,
    ...opts.attributes,
  }).merge(envDetectorSync.detect());
  const exporter = opts.exporter ?? otlpExporter();
  const spanProcessor = new BatchSpanProcessor(exporter);
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
  const api = load('@opentelemetry/api') as typeof otel;
  api.trace.disable();
  api.context.disable();
  api.propagation.disable();
}

/** Temporal's OpenTelemetry interceptors (loaded with tracing, for the same reason). */
export function loadTemporalOtel(): typeof import('@temporalio/interceptors-opentelemetry') {
  return load('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
}

/** The module the SDK loads in the workflow sandbox for workflow spans (it exports `interceptors`). */
export function otelWorkflowInterceptors(): string {
  return load.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
}

function otlpExporter(): SpanExporter {
  const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter();
}
