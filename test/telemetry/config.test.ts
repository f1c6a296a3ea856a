// Telemetry configuration without servers: tracing stays off (nothing installed anywhere) unless
// an OTLP endpoint is configured, and the metrics port is read from the flag or the environment.
import { describe, expect, it } from 'vitest';
import {
  clientInterceptors,
  metricsPortFromEnv,
  parseMetricsPort,
  tracing,
  tracingConfigured,
  workerTelemetry,
  workflowInterceptorModules,
  workersRunning,
} from '../../telemetry/index.js';

describe('tracing off', () => {
  it('adds no tracing interceptors, sinks or workflow modules without an OTLP endpoint', () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    expect(tracing()).toBeUndefined();
    const opts = workerTelemetry();
    expect(opts.sinks).toBeUndefined();
    expect(opts.interceptors.workflowModules).toBeUndefined();
    expect(opts.interceptors.activity).toHaveLength(1); // metrics only
    expect(workflowInterceptorModules()).toEqual([]);
    expect(clientInterceptors()).toEqual({});
  });

  it('follows the standard OTEL_* variables', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });
});

describe('metrics port and readiness', () => {
  it('reads METASWARM_METRICS_PORT and rejects what is not a port, naming where it came from', () => {
    expect(metricsPortFromEnv({})).toBeUndefined();
    expect(metricsPortFromEnv({ METASWARM_METRICS_PORT: '9464' })).toBe(9464);
    expect(() => metricsPortFromEnv({ METASWARM_METRICS_PORT: 'http' })).toThrow(/METASWARM_METRICS_PORT must be a port number/);
    expect(() => parseMetricsPort('70000')).toThrow(/--metrics-port must be a port number from 0 to 65535, got "70000"/);
    expect(parseMetricsPort('0')).toBe(0);
  });

  it('is ready only while every worker runs', () => {
    const states = ['RUNNING', 'RUNNING'];
    const workers = states.map((_, i) => ({ getState: () => states[i] as 'RUNNING' }));
    const ready = workersRunning(workers);
    expect(ready()).toBe(true);
    states[1] = 'DRAINING';
    expect(ready()).toBe(false);
    expect(workersRunning([])()).toBe(false);
  });
});
