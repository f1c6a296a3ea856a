// Which NATS the archive uses and how to reach it: explicit options, else the environment
// (NATS_URL, credentials, TLS), else a running `metaswarm up` stack that started one, else
// nothing (the caller may start an embedded nats-server). Also where this process's mirror goes.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { NatsConnectOptions } from '../shared-fs/nats/index.js';
import { isProcessAlive } from './liveness.js';
import { readLiveStack } from './stack-file.js';
import { resolveStateDir } from './state-dir.js';

export const NATS_ENV = {
  url: 'NATS_URL',
  creds: 'NATS_CREDS',
  token: 'NATS_TOKEN',
  user: 'NATS_USER',
  password: 'NATS_PASSWORD',
  tlsCa: 'NATS_TLS_CA',
  tlsCert: 'NATS_TLS_CERT',
  tlsKey: 'NATS_TLS_KEY',
  bucket: 'METASWARM_ARCHIVE_BUCKET',
  mirrorDir: 'METASWARM_MIRROR_DIR',
  archive: 'METASWARM_ARCHIVE',
} as const;

export interface NatsCliOptions {
  natsUrl?: string;
  bucket?: string;
  mirror?: string;
}

/** The connection options from flags and env, or undefined when no NATS URL is configured. */
export function configuredNats(opts: NatsCliOptions = {}, env: NodeJS.ProcessEnv = process.env): (NatsConnectOptions & { bucket?: string }) | undefined {
  const url = opts.natsUrl ?? env[NATS_ENV.url];
  if (!url) {
    const stray = [NATS_ENV.creds, NATS_ENV.token, NATS_ENV.user, NATS_ENV.tlsCa, NATS_ENV.tlsCert, NATS_ENV.tlsKey].filter((k) => env[k]);
    if (stray.length) throw new Error(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but ${NATS_ENV.url} is not: set it to the NATS server (nats://host:4222)`);
    return undefined;
  }
  if (Boolean(env[NATS_ENV.tlsCert]) !== Boolean(env[NATS_ENV.tlsKey])) {
    throw new Error(`set both ${NATS_ENV.tlsCert} and ${NATS_ENV.tlsKey} (a client certificate needs its key), or neither`);
  }
  const credentials = {
    ...(env[NATS_ENV.creds] ? { credsFile: env[NATS_ENV.creds] } : {}),
    ...(env[NATS_ENV.token] ? { token: env[NATS_ENV.token] } : {}),
    ...(env[NATS_ENV.user] ? { user: env[NATS_ENV.user], pass: env[NATS_ENV.password] ?? '' } : {}),
  };
  const tls = {
    ...(env[NATS_ENV.tlsCa] ? { caFile: env[NATS_ENV.tlsCa] } : {}),
    ...(env[NATS_ENV.tlsCert] ? { certFile: env[NATS_ENV.tlsCert] } : {}),
    ...(env[NATS_ENV.tlsKey] ? { keyFile: env[NATS_ENV.tlsKey] } : {}),
  };
  const bucket = opts.bucket ?? env[NATS_ENV.bucket];
  return {
    servers: url.split(',').map((s) => s.trim()).filter(Boolean),
    ...(Object.keys(credentials).length ? { credentials } : {}),
    ...(Object.keys(tls).length ? { tls } : {}),
    ...(bucket ? { bucket } : {}),
  };
}

/**
 * The NATS to use: flags and env (configuredNats), else the one the running `metaswarm up`
 * stack started (stack.json), else undefined.
 */
export async function findNats(opts: NatsCliOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<(NatsConnectOptions & { bucket?: string }) | undefined> {
  const conn = configuredNats(opts, env);
  if (conn) return conn;
  const live = await readLiveStack();
  return live?.natsUrl ? { servers: live.natsUrl, ...(opts.bucket ? { bucket: opts.bucket } : {}) } : undefined;
}

/** `--archive nats` or METASWARM_ARCHIVE=nats. */
export function wantsNatsArchive(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = flag ?? env[NATS_ENV.archive];
  if (v === undefined || v === '' || v === 'local') return false;
  if (v === 'nats') return true;
  throw new Error(`${flag !== undefined ? '--archive' : NATS_ENV.archive} is ${JSON.stringify(v)}: use \`nats\` or \`local\``);
}

export interface ClaimedMirror {
  dir: string;
  release(): Promise<void>;
}

/**
 * This process's mirror folder. An explicit one (flag or METASWARM_MIRROR_DIR) is used as is;
 * otherwise the first free `<state>/mirrors/<n>`: a mirror belongs to one process at a time
 * (its index is not shared), and a restarted worker reuses a folder, so it catches up
 * incrementally instead of downloading the archive again.
 */
export async function claimMirrorDir(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ClaimedMirror> {
  const given = explicit ?? env[NATS_ENV.mirrorDir];
  if (given) return { dir: path.resolve(given), release: async () => {} };
  const base = path.join(resolveStateDir({ env }), 'mirrors');
  await mkdir(base, { recursive: true });
  for (let n = 0; n < 1000; n++) {
    const dir = path.join(base, String(n));
    const lock = `${dir}.lock`;
    if (tryLock(lock)) {
      await mkdir(dir, { recursive: true });
      return { dir, release: () => rm(lock, { force: true }) };
    }
  }
  throw new Error(`no free mirror folder under ${base}: set ${NATS_ENV.mirrorDir}`);
}

/** Creates `lock` holding our pid; takes over a lock whose process is gone. */
function tryLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || isProcessAlive(pid))) return false;
      try {
        unlinkSync(lock); // stale: its process is gone
      } catch {
        /* another process took it over first */
      }
    }
  }
  return false;
}
