// One HTTP endpoint per worker process: /metrics for Prometheus, /healthz and /readyz for probes.
//
// /metrics is metaswarm's registry followed by the Temporal SDK's runtime metrics. The SDK's
// exporter (Rust, inside the native runtime) insists on binding its own address; we bind it on
// loopback and fetch it at each scrape instead of exposing a second port, so that a pod has one
// scrape target, one port to declare and one set of probes, and the SDK's port never leaves the
// machine. The two outputs never share a metric name (temporal_* vs metaswarm_*, process_*,
// nodejs_*), so concatenating the text is a valid exposition. The cost is one loopback request
// per scrape. If the SDK's exporter does not answer, /metrics still serves ours (and says why
// in a comment) rather than failing the scrape.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0: probes and scrapes come from outside the pod. */
  host?: string;
  registry: Registry;
  /** `host:port` of the SDK's Prometheus exporter, when it runs. */
  sdkMetricsAddress?: string;
  /** 200 on /readyz while it returns true. */
  ready: () => boolean;
}

export interface HealthServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 (loopback, for local use and tests). */
  readonly url: string;
  close(): Promise<void>;
}

const SDK_SCRAPE_TIMEOUT_MS = 3000;

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      // The process answers: it is alive. Draining workers are still alive (and finishing work).
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      let ready = false;
      try {
        ready = opts.ready();
      } catch {
        ready = false;
      }
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    if (path === '/metrics') {
      metricsText(opts).then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
  });
  // A scrape keeps its connection open between scrapes; do not let it hold up close().
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function metricsText(opts: HealthServerOptions): Promise<string> {
  const ours = await opts.registry.metrics();
  if (!opts.sdkMetricsAddress) return ours;
  const sdk = await fetch(`http://${opts.sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) }).then(
    async (r) => (r.ok ? await r.text() : `# Temporal SDK metrics unavailable: HTTP ${r.status}\n`),
    (err: unknown) => `# Temporal SDK metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  return `${ours.endsWith('\n') ? ours : ours + '\n'}${sdk}`;
}
