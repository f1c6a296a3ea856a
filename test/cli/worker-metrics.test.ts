// `metaswarm worker` as a deployment runs it: METASWARM_METRICS_PORT serves the probes and the
// Prometheus endpoint (metaswarm's metrics with the Temporal SDK's), and SIGTERM drains it.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../../stack/dev-server.js';
import { repoRoot } from '../support/swarm.js';
import { until } from '../support/waiting.js';

describe('metaswarm worker with METASWARM_METRICS_PORT', () => {
  it('is ready while it polls, exposes metrics, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = execa('node', [path.join(repoRoot, 'bin/metaswarm.js'), 'worker', '--role', 'evaluator', '--queue-prefix', `metrics-${port}`], {
      env: { TEMPORAL_ADDRESS: inject('temporalAddress'), METASWARM_METRICS_PORT: String(port), METASWARM_LOG_LEVEL: 'warn' },
      reject: false,
    });
    try {
      const get = (p: string) => fetch(`http://127.0.0.1:${port}${p}`).then(async (r) => ({ status: r.status, body: await r.text() }), () => undefined);
      await until('the worker is ready', async () => (await get('/readyz'))?.status === 200, 90_000);
      expect((await get('/healthz'))?.status).toBe(200);
      const metrics = (await get('/metrics'))!.body;
      expect(metrics).toMatch(/^# TYPE metaswarm_candidates_total counter/m);
      expect(metrics).toMatch(/^# TYPE metaswarm_activity_queue_wait_seconds histogram/m);
      // The SDK's own series, merged into the same endpoint.
      expect(metrics).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="metrics-\d+-evaluators"/m);
      proc.kill('SIGTERM');
      const exited = await proc;
      expect(exited.exitCode, exited.stderr).toBe(0);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 150_000);
});
