// The NATS archive of a CLI process (in-process workers of `demo` / `search` / `up`, or a
// `worker`): which NATS (configured, the running `up` stack's, or an embedded nats-server under
// the state folder), this process's mirror folder, and the mirror kept current while it runs.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { openNatsArchive, type NatsArchive } from '../shared-fs/nats/index.js';
import { claimMirrorDir, findNats, type NatsCliOptions } from '../stack/nats-config.js';
import { startNatsServer, type NatsServer } from '../stack/nats-server.js';

export interface ProcessNatsArchive {
  archive: NatsArchive;
  /** The NATS the archive uses (for stack.json and messages). */
  url: string;
  /** Set when this process started nats-server itself. */
  embedded?: NatsServer;
  close(): Promise<void>;
}

export async function openProcessNatsArchive(opts: {
  cli?: NatsCliOptions;
  /** Start a nats-server under the state folder when none is configured (demo, search, up). */
  allowEmbedded: boolean;
  log: Logger;
}): Promise<ProcessNatsArchive> {
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => opts.log.warn({ err }, 'closing the NATS archive'));
    cleanups.length = 0;
  };
  try {
    let conn = await findNats(opts.cli);
    let embedded: NatsServer | undefined;
    if (!conn) {
      if (!opts.allowEmbedded) {
        throw new Error('no NATS for the archive: set NATS_URL (or --nats-url), or start `npx metaswarm up --archive nats` in this project');
      }
      opts.log.info('starting the embedded nats-server (JetStream store under the state folder)');
      embedded = await startNatsServer({ log: opts.log });
      const server = embedded;
      cleanups.push(() => server.stop());
      conn = { servers: embedded.url, ...(opts.cli?.bucket ? { bucket: opts.cli.bucket } : {}) };
    }
    const mirror = await claimMirrorDir(opts.cli?.mirror);
    cleanups.push(() => mirror.release());
    const archive = await openNatsArchive({ ...conn, mirrorRoot: mirror.dir, log: opts.log });
    cleanups.push(() => archive.close());
    const synced = await archive.startMirror();
    const url = Array.isArray(conn.servers) ? conn.servers.join(',') : conn.servers;
    opts.log.info({ nats: url, bucket: archive.bucket, mirror: mirror.dir, files: synced.listed }, 'archive mirror is current');
    return { archive, url, ...(embedded ? { embedded } : {}), close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** For commands that continue a search: in-process workers get NATS when the search's archive is there. */
export function natsIfSearchUsesIt(searchId: string): (client: Client) => Promise<NatsCliOptions | false> {
  return async (client) => {
    const memo = await client.workflow
      .getHandle(searchId)
      .describe()
      .then((d) => d.memo, () => undefined);
    if (memo?.archiveBackend !== 'nats') return false;
    return typeof memo.bucket === 'string' ? { bucket: memo.bucket } : {};
  };
}
