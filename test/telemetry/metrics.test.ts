// A worker process's telemetry endpoint, against a real Temporal dev server and real workers: a
// real seed candidate (import, validate, evaluate through the model gateway to a scripted
// Messages API), outcomes recorded into a real archive, an evaluation that fails on a missing
// task suite; then /metrics is scraped over HTTP and the figures a user would watch must have
// moved by exactly what happened. /readyz follows the workers: 503 before they run and after
// they shut down.
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SummaryLine } from '../../contract/candidate.js';
import { startTelemetry, workersRunning, type Telemetry } from '../../telemetry/index.js';
import { writeLlmHarness } from '../support/llm-harness.js';
import { startMessagesApiServer, textReply, type MessagesApiServer } from '../support/messages-api-server.js';
import { exampleSpec, tempDir } from '../support/swarm.js';
import type { ProbeInput, probeWorkflow } from './probe-workflows.js';
import { scrape, startTelemetrySwarm, statusOf, valueOf, type TelemetrySwarm } from './support.js';

// Every model call: 10 input and 5 output tokens at $10 / $2000 per million: $0.0101.
const prices = { 'test-model': { input: 10, output: 2000, cacheWrite: 0, cacheRead: 0 } };
const PER_CALL_USD = (10 * 10 + 5 * 2000) / 1e6;

let telemetry: Telemetry;
let swarm: TelemetrySwarm;
let upstream: MessagesApiServer;
let readyBeforeWorkers: number;

beforeAll(async () => {
  upstream = await startMessagesApiServer({ script: () => textReply('billing', { usage: { input_tokens: 10, output_tokens: 5 } }) });
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test-telemetry';
  process.env.ANTHROPIC_BASE_URL = upstream.url;
  // Before anything connects to Temporal: it installs the SDK runtime with its metrics exporter.
  telemetry = await startTelemetry({ port: 0, host: '127.0.0.1', log: pino({ level: 'silent' }) });
  readyBeforeWorkers = await statusOf(`${telemetry.url}/readyz`);
  swarm = await startTelemetrySwarm();
  telemetry.setReadiness(workersRunning(swarm.workers));
});

afterAll(async () => {
  await swarm?.shutdown();
  await telemetry?.close();
  await upstream?.close();
  delete process.env.ANTHROPIC_API_KEY;
  delete process.env.ANTHROPIC_BASE_URL;
});

describe('worker telemetry endpoint', () => {
  it('answers /healthz, and /readyz only once the workers run', async () => {
    expect(readyBeforeWorkers).toBe(503);
    expect(await statusOf(`${telemetry.url}/healthz`)).toBe(200);
    // Worker.run() has been called; the state turns RUNNING as the workers start polling.
    await expect.poll(() => statusOf(`${telemetry.url}/readyz`), { timeout: 10_000 }).toBe(200);
    expect(await statusOf(`${telemetry.url}/nope`)).toBe(404);
  });

  it('counts candidates, evaluations, failures, tokens, cost and queue waits, beside the SDK metrics', async () => {
    const archiveRoot = await tempDir('metaswarm-telemetry-');
    const seedDir = await writeLlmHarness(await tempDir());
    const { spec, specDir } = await exampleSpec(archiveRoot, { seeds: [seedDir], gateway: { enabled: true, prices } });
    const archive = { root: archiveRoot, searchId: 'telemetry-probe' };
    const recordedAt = new Date().toISOString();
    const base = { lineage: 0, step: 1, generation: 1, parentIds: ['seed-0'], kind: 'proposal' as const, recordedAt };
    const moreLines: SummaryLine[] = [
      { ...base, id: 'l0-s0001-p0', status: 'evaluated', metrics: { score: 0.5, durationMs: 10, costUsd: 0, tokens: 0 } },
      { ...base, id: 'l0-s0002-p0', status: 'failed', failureStage: 'validate', error: 'entry exited 1' },
      { ...base, id: 'l0-s0003-p0', status: 'cancelled', error: 'cancelled' },
    ];
    const input: ProbeInput = {
      archive,
      candidate: {
        archive,
        candidateId: 'seed-0',
        kind: 'seed',
        lineage: 0,
        step: 0,
        generation: 0,
        parentIds: [],
        seedDir,
        taskDir: spec.task,
        specDir,
        proposer: spec.proposer,
        evaluator: spec.evaluator,
        gateway: spec.gateway,
        evaluateTimeoutSec: 120,
        heartbeatTimeoutSec: 30,
        queues: swarm.queues,
      },
      moreLines,
      failingEvaluation: {
        archive,
        candidateId: 'seed-0',
        taskDir: `${archiveRoot}/no-such-task`,
        split: 'search',
        evaluator: spec.evaluator,
        gateway: { ...spec.gateway, enabled: false },
        lineage: 0,
      },
    };
    // A harness whose entry exits 1 at once: validation completes with ok: false.
    const brokenSeed = path.join(await tempDir(), 'broken-seed');
    await mkdir(brokenSeed, { recursive: true });
    await writeFile(path.join(brokenSeed, 'harness.yaml'), 'entry: ["sh", "-c", "exit 1"]\n');
    input.rejected = {
      seedDir: brokenSeed,
      validation: { ...input.failingEvaluation, candidateId: 'seed-1', taskDir: spec.task },
    };
    const before = (await scrape(telemetry.url)).samples;

    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection, namespace: inject('temporalNamespace') });
      const result = await client.workflow.execute<typeof probeWorkflow>('probeWorkflow', {
        workflowId: `telemetry-probe-${Date.now()}`,
        taskQueue: swarm.queues.workflows,
        args: [input],
      });
      expect(result.status).toBe('evaluated');
      expect(result.evaluationError).toMatch(/Activity task failed/);
      expect(result.rejectedValidation).toEqual({ ok: false });
    } finally {
      await connection.close();
    }

    const { text, samples, contentType } = await scrape(telemetry.url);
    expect(contentType).toMatch(/^text\/plain/);
    const moved = (name: string, labels: Record<string, string> = {}) => valueOf(samples, name, labels) - valueOf(before, name, labels);

    // Candidates by status: the real seed (evaluated) and the three lines recorded after it.
    expect(moved('metaswarm_candidates_total', { status: 'evaluated' })).toBe(2);
    expect(moved('metaswarm_candidates_total', { status: 'failed' })).toBe(1);
    expect(moved('metaswarm_candidates_total', { status: 'cancelled' })).toBe(1);
    expect(moved('metaswarm_candidate_failures_total', { stage: 'validate' })).toBe(1);

    // Evaluations: two validations (one harness rejected), two evaluations of which one threw
    // (no task suite there).
    expect(moved('metaswarm_evaluations_started_total', { activity_type: 'validateCandidate' })).toBe(2);
    expect(moved('metaswarm_evaluations_completed_total', { activity_type: 'validateCandidate' })).toBe(2);
    expect(moved('metaswarm_step_rejections_total', { activity_type: 'validateCandidate' })).toBe(1);
    expect(moved('metaswarm_evaluations_failed_total', { activity_type: 'validateCandidate' })).toBe(0);
    expect(moved('metaswarm_evaluations_started_total', { activity_type: 'evaluateCandidate' })).toBe(2);
    expect(moved('metaswarm_evaluations_completed_total', { activity_type: 'evaluateCandidate' })).toBe(1);
    expect(moved('metaswarm_evaluations_failed_total', { activity_type: 'evaluateCandidate' })).toBe(1);
    expect(valueOf(samples, 'metaswarm_evaluations_in_progress')).toBe(0);
    expect(moved('metaswarm_evaluation_instances_total', { result: 'scored' })).toBe(8);
    expect(moved('metaswarm_evaluation_instances_total', { result: 'error' })).toBe(0);
    expect(
      moved('metaswarm_activity_failures_total', { activity_type: 'evaluateCandidate', task_queue: swarm.queues.evaluators, error_type: 'SpecError' }),
    ).toBe(1);
    expect(moved('metaswarm_activity_failures_total')).toBe(1);

    // Model use through the gateway: 8 evaluation calls (tokens split from the eval summary)
    // and 1 validation call.
    expect(moved('metaswarm_model_tokens_total', { activity_type: 'evaluateCandidate', type: 'input' })).toBe(80);
    expect(moved('metaswarm_model_tokens_total', { activity_type: 'evaluateCandidate', type: 'output' })).toBe(40);
    expect(moved('metaswarm_model_cost_usd_total', { activity_type: 'evaluateCandidate' })).toBeCloseTo(8 * PER_CALL_USD, 9);
    expect(moved('metaswarm_model_cost_usd_total', { activity_type: 'validateCandidate' })).toBeCloseTo(PER_CALL_USD, 9);

    // Queue waits: one observation per activity attempt, per task queue and activity type.
    const waits = (queue: string, activity: string) =>
      moved('metaswarm_activity_queue_wait_seconds_count', { task_queue: queue, activity_type: activity });
    expect(waits(swarm.queues.workflows, 'initSearchArchive')).toBe(1);
    expect(waits(swarm.queues.workflows, 'importSeed')).toBe(2);
    expect(waits(swarm.queues.workflows, 'writeCandidateMeta')).toBe(2);
    expect(waits(swarm.queues.workflows, 'recordOutcome')).toBe(4);
    expect(waits(swarm.queues.evaluators, 'validateCandidate')).toBe(2);
    expect(waits(swarm.queues.evaluators, 'evaluateCandidate')).toBe(2);
    const waitSum = moved('metaswarm_activity_queue_wait_seconds_sum', { task_queue: swarm.queues.evaluators });
    expect(waitSum).toBeGreaterThanOrEqual(0);
    expect(waitSum).toBeLessThan(30);
    // The largest bucket holds every observation (a histogram, not a summary).
    expect(valueOf(samples, 'metaswarm_activity_queue_wait_seconds_bucket', { task_queue: swarm.queues.evaluators, le: '+Inf' })).toBe(
      valueOf(samples, 'metaswarm_activity_queue_wait_seconds_count', { task_queue: swarm.queues.evaluators }),
    );

    // The Temporal SDK's runtime metrics are in the same scrape, for the same task queues.
    expect(telemetry.sdkMetrics).toBe(true);
    expect(valueOf(samples, 'temporal_activity_execution_latency_seconds_count', { task_queue: swarm.queues.evaluators })).toBe(4);
    expect(valueOf(samples, 'temporal_workflow_completed_total', { task_queue: swarm.queues.workflows })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'temporal_activity_schedule_to_start_latency_seconds_count', { task_queue: swarm.queues.evaluators })).toBe(4);
    // And the process's own (prom-client defaults).
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    // No metric family appears twice (the two expositions are concatenated).
    const families = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(new Set(families).size).toBe(families.length);
  });

  it('turns /readyz to 503 once the workers shut down, while /healthz stays 200', async () => {
    await swarm.shutdown();
    expect(await statusOf(`${telemetry.url}/readyz`)).toBe(503);
    expect(await statusOf(`${telemetry.url}/healthz`)).toBe(200);
    // Metrics are still served for a last scrape.
    expect((await scrape(telemetry.url)).text).toMatch(/metaswarm_candidates_total/);
  });
});
