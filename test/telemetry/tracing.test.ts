// Tracing through the Temporal interceptors, end to end: a client starts a workflow, which runs a
// child workflow, which runs activities on another worker; the spans reach a local OTLP/HTTP
// receiver (JSON, as the exporter sends it) as one trace, each span the child of the one that
// caused it: client start → workflow run → child start → child run → activity start → activity run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installTemporalRuntime } from '../../cli/temporal-runtime.js';
import { clientInterceptors, shutdownTracing, tracing } from '../../telemetry/index.js';
import { exampleDir, exampleSpec, tempDir } from '../support/swarm.js';
import type { probeWorkflow } from './probe-workflows.js';
import { startTelemetrySwarm, type TelemetrySwarm } from './support.js';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  status?: { code?: number };
  attributes: Record<string, unknown>;
  service: unknown;
}

/** An OTLP/HTTP trace receiver: POST /v1/traces with a JSON ExportTraceServiceRequest. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; contentTypes: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(req.headers['content-type'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        const attrs = Object.fromEntries((rs.resource?.attributes ?? []).map((a: any) => [a.key, Object.values(a.value ?? {})[0]]));
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              status: s.status,
              attributes: Object.fromEntries((s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value ?? {})[0]])),
              service: attrs['service.name'],
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let swarm: TelemetrySwarm;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // The standard variable turns tracing on; it must be set before the workers and the bundle
  // are made (the decision is taken once per process).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  installTemporalRuntime(pino({ level: 'silent' }));
  swarm = await startTelemetrySwarm();
});

afterAll(async () => {
  await swarm?.shutdown();
  await shutdownTracing();
  await receiver?.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
});

describe('tracing through the Temporal interceptors', () => {
  it('exports workflow and activity spans over OTLP/HTTP as one linked trace', async () => {
    expect(tracing()).toBeDefined();
    const archiveRoot = await tempDir('metaswarm-tracing-');
    const { spec, specDir } = await exampleSpec(archiveRoot, { gateway: { enabled: false } });
    const archive = { root: archiveRoot, searchId: 'tracing-probe' };
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection, namespace: inject('temporalNamespace'), interceptors: clientInterceptors() });
      const result = await client.workflow.execute<typeof probeWorkflow>('probeWorkflow', {
        workflowId: `tracing-probe-${Date.now()}`,
        taskQueue: swarm.queues.workflows,
        args: [
          {
            archive,
            candidate: {
              archive,
              candidateId: 'seed-0',
              kind: 'seed',
              lineage: 0,
              step: 0,
              generation: 0,
              parentIds: [],
              seedDir: `${exampleDir}/seed`,
              taskDir: spec.task,
              specDir,
              proposer: spec.proposer,
              evaluator: spec.evaluator,
              gateway: spec.gateway,
              evaluateTimeoutSec: 120,
              heartbeatTimeoutSec: 30,
              queues: swarm.queues,
            },
            moreLines: [],
            failingEvaluation: {
              archive,
              candidateId: 'seed-0',
              taskDir: `${archiveRoot}/no-such-task`,
              split: 'search',
              evaluator: spec.evaluator,
              gateway: spec.gateway,
              lineage: 0,
            },
          },
        ],
      });
      expect(result.status).toBe('evaluated');
    } finally {
      await connection.close();
    }
    await tracing()!.forceFlush();

    const named = (name: string) => receiver.spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      expect(found.map((s) => s.name), `spans named ${name}`).toHaveLength(1);
      return found[0]!;
    };
    const start = one('StartWorkflow:probeWorkflow');
    const run = one('RunWorkflow:probeWorkflow');
    const startChild = one('StartChildWorkflow:candidateWorkflow');
    const runChild = one('RunWorkflow:candidateWorkflow');
    const startEvaluate = named('StartActivity:evaluateCandidate');
    const runEvaluate = named('RunActivity:evaluateCandidate');
    // The candidate's evaluation and the probe's failing one.
    expect(startEvaluate).toHaveLength(2);
    expect(runEvaluate).toHaveLength(2);

    // One trace, each span the child of its cause.
    expect(new Set(receiver.spans.map((s) => s.traceId))).toEqual(new Set([start.traceId]));
    expect(start.parentSpanId).toBeUndefined();
    expect(run.parentSpanId).toBe(start.spanId);
    expect(startChild.parentSpanId).toBe(run.spanId);
    expect(runChild.parentSpanId).toBe(startChild.spanId);
    const childsEvaluate = startEvaluate.find((s) => s.parentSpanId === runChild.spanId);
    const probesEvaluate = startEvaluate.find((s) => s.parentSpanId === run.spanId);
    expect(childsEvaluate).toBeDefined();
    expect(probesEvaluate).toBeDefined();
    const ranOk = runEvaluate.find((s) => s.parentSpanId === childsEvaluate!.spanId)!;
    const ranFailing = runEvaluate.find((s) => s.parentSpanId === probesEvaluate!.spanId)!;
    expect(ranOk.status?.code ?? 0).not.toBe(2);
    expect(ranFailing.status?.code).toBe(2); // ERROR: no task suite there
    expect(ranOk.attributes['temporalWorkflowId']).toMatch(/seed-0$/);
    // Archive activities on the workflow worker are traced too.
    for (const name of ['RunActivity:importSeed', 'RunActivity:validateCandidate', 'RunActivity:recordOutcome']) {
      expect(named(name).length, name).toBeGreaterThanOrEqual(1);
    }
    expect(receiver.spans.every((s) => s.service === 'metaswarm')).toBe(true);
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
  });
});
