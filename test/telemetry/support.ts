// Shared pieces of the telemetry tests: workers built by workers/create-workers.ts (so the tests
// check its telemetry wiring), running probe workflows, and a reader for Prometheus text.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createWorkers, runWorkers } from '../../workers/create-workers.js';
import { taskQueues } from '../../workers/task-queues.js';
import type { TaskQueues } from '../../workflows/search-types.js';

export interface TelemetrySwarm {
  queues: TaskQueues;
  workers: Worker[];
  /** Shuts the workers down and waits until they have drained. */
  shutdown(): Promise<void>;
}

/** A workflow worker (probe workflows + archive activities) and an evaluator worker, built by createWorkers (telemetry on). */
export async function startTelemetrySwarm(): Promise<TelemetrySwarm> {
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const queues = taskQueues(`telemetry-${randomBytes(4).toString('hex')}`);
  const workers = await createWorkers({
    connection,
    namespace: inject('temporalNamespace'),
    roles: ['workflow', 'evaluator'],
    queues,
    evaluatorConcurrency: 2,
    workflowsPath: path.join(import.meta.dirname, 'probe-workflows.ts'),
  });
  const running = runWorkers(workers);
  let stopped: Promise<void> | undefined;
  return {
    queues,
    workers,
    shutdown() {
      stopped ??= running.shutdown().then(() => connection.close());
      return stopped;
    },
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and blank lines skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { text, samples: parsePrometheus(text), contentType: res.headers.get('content-type') };
}

export async function statusOf(url: string): Promise<number> {
  return (await fetch(url)).status;
}
