// Which Temporal a command runs against, and the workers it needs there:
//   configured  TEMPORAL_ADDRESS / --address (a cluster): connect; in-process workers only if asked;
//   live stack  a `metaswarm up` running in this project (it has workers): connect;
//   embedded    nothing configured: start the dev server on the project's SQLite file and run
//               workers of every role in this process, for as long as the command runs.
import { Client, type Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { findOrInstallTemporalCli } from '../stack/temporal-cli.js';
import { startDevServer, type DevServer } from '../stack/dev-server.js';
import { readLiveStack } from '../stack/stack-file.js';
import { resolveStateDir, statePaths } from '../stack/state-dir.js';
import {
  connectClient,
  connectNative,
  resolveTemporalConfig,
  type ConfiguredTemporal,
  type TemporalConnectionOptions,
} from '../stack/temporal-config.js';
import { createWorkers, ROLES, runWorkers, type Role } from '../workers/create-workers.js';
import { taskQueues } from '../workers/task-queues.js';
import type { TaskQueues } from '../workflows/search-types.js';
import { installTemporalRuntime } from './temporal-runtime.js';
import { clientInterceptors } from '../telemetry/client-interceptors.js';
import { openProcessNatsArchive, type ProcessNatsArchive } from './nats-archive.js';
import type { NatsCliOptions } from '../stack/nats-config.js';

export type SessionMode = 'configured' | 'live-stack' | 'embedded';

export interface Session {
  mode: SessionMode;
  client: Client;
  connection: Connection;
  address: string;
  namespace: string;
  uiAddress?: string;
  queues: TaskQueues;
  /** The in-process workers' NATS archive (archive backend `nats`). */
  nats?: ProcessNatsArchive;
}

export interface SessionRequest {
  connection: TemporalConnectionOptions;
  queuePrefix?: string;
  /** `always`: run in-process workers whatever the mode; `if-embedded`: only with the embedded stack. */
  workers: 'always' | 'if-embedded' | 'never';
  workerRoles?: readonly Role[];
  /**
   * In-process workers keep the archive in NATS (an embedded nats-server when none is configured).
   * A function decides once the client is connected (e.g. from a search's memo).
   */
  natsArchive?: NatsCliOptions | false | ((client: Client) => Promise<NatsCliOptions | false>);
  /** Dev server options for the embedded stack. */
  embedded?: { uiPort?: number | false; port?: number; ip?: string };
  log: Logger;
}

export async function withSession<T>(req: SessionRequest, run: (s: Session) => Promise<T>): Promise<T> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => req.log.warn({ err }, 'cleanup failed'));
    cleanups.length = 0;
  };
  try {
    const session = await openSession(req, cleanups);
    return await run(session);
  } finally {
    await cleanup();
  }
}

async function openSession(req: SessionRequest, cleanups: Array<() => Promise<void>>): Promise<Session> {
  installTemporalRuntime(req.log);
  const config = resolveTemporalConfig(req.connection);
  const queues = taskQueues(req.queuePrefix);
  let target: ConfiguredTemporal;
  let mode: SessionMode;
  let uiAddress: string | undefined;
  let server: DevServer | undefined;
  if (config.kind === 'configured') {
    target = config;
    mode = 'configured';
  } else {
    const live = await readLiveStack();
    if (live) {
      target = { kind: 'configured', address: live.address, namespace: live.namespace };
      mode = 'live-stack';
      uiAddress = live.uiAddress;
      req.log.debug({ address: live.address }, 'using the running `metaswarm up` stack');
    } else {
      const cliPath = await findOrInstallTemporalCli({ log: req.log });
      req.log.info('starting the embedded Temporal dev server');
      server = await startDevServer({
        cliPath,
        dbFile: statePaths(resolveStateDir()).temporalDbFile,
        namespace: config.namespace,
        uiPort: req.embedded?.uiPort ?? false,
        port: req.embedded?.port,
        ip: req.embedded?.ip,
        log: req.log,
      });
      const started = server;
      cleanups.push(() => started.stop());
      target = { kind: 'configured', address: server.address, namespace: server.namespace };
      mode = 'embedded';
      uiAddress = server.uiAddress;
      req.log.info({ address: server.address, ui: server.uiAddress }, 'embedded Temporal dev server is up');
    }
  }
  const connection = await connectClient(target);
  cleanups.push(() => connection.close());
  const client = new Client({ connection, namespace: target.namespace, interceptors: clientInterceptors() });

  const wantWorkers = req.workers === 'always' || (req.workers === 'if-embedded' && mode === 'embedded');
  let nats: ProcessNatsArchive | undefined;
  if (wantWorkers) {
    const native: NativeConnection = await connectNative(target);
    cleanups.push(() => native.close());
    const natsOptions = typeof req.natsArchive === 'function' ? await req.natsArchive(client) : req.natsArchive;
    if (natsOptions) {
      nats = await openProcessNatsArchive({ cli: natsOptions, allowEmbedded: true, log: req.log });
      const opened = nats;
      cleanups.push(() => opened.close());
    }
    const workers = await createWorkers({
      connection: native,
      namespace: target.namespace,
      roles: req.workerRoles ?? ROLES,
      queues,
      ...(nats ? { natsArchive: nats.archive } : {}),
    });
    const running = runWorkers(workers);
    // Registered after the connection's close, so it runs before it (cleanups run in reverse).
    cleanups.push(() => running.shutdown());
  }
  return { mode, client, connection, address: target.address, namespace: target.namespace, uiAddress, queues, ...(nats ? { nats } : {}) };
}
