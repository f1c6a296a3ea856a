// The `nats` archive backend: the JetStream object store holds the archive (object name = path
// relative to the archive root), every worker keeps a local mirror folder under `mirrorRoot`.
//
// Writers upload what they produce (uploadFile / uploadDir / writeFile / updateFile). Uploads
// go to the store first and then into the writer's own mirror, and every file under
// `<search>/candidates/<id>/` is recorded in that candidate's `.manifest.json` (compare-and-set,
// after the files are in the store). Readers keep their mirror current with startMirror()
// (change notices plus a full catch-up on every reconnect) and, before relying on candidates,
// call waitForCandidates(), which fetches whatever is still missing and fails with a clear error
// at its bound.
//
// Integration pattern for writers: produce output in a staging folder (or bytes), then upload
// it; the upload puts it in the store first and then into this worker's mirror. Writing into
// the mirror first and uploading after also works (a locally written file is not overwritten
// from the store for `localWriteGraceMs`), but leaves a window in which a crash loses the file.
import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { silentLog, type StackLog } from '../../stack/log.js';
import { assertSafeId } from '../archive-layout.js';
import { readObject, type Bucket } from './bucket-reader.js';
import { openBucket, type NatsConnectOptions } from './connect.js';
import { NatsArchiveError, errorMessage } from './errors.js';
import { LocalIndex } from './local-index.js';
import {
  MANIFEST_FILE,
  candidateOfName,
  candidatePrefix,
  emptyManifest,
  manifestNameOf,
  parseManifest,
  serializeManifest,
  type CandidateManifest,
} from './manifest.js';
import { Mirror, type MirrorCheck, type ReconcileResult, type SyncReport } from './mirror.js';
import { RESERVED_PREFIX, isUnder, joinName, localPathOf, objectNameOf, objectNameProblem } from './object-name.js';
import { compareAndSet, deleteObject, putBytesOnce, putFileOnce, retrying, type RetryOptions } from './store-io.js';

export interface NatsArchiveOptions extends NatsConnectOptions {
  /** Object store bucket. Default `metaswarm-archive`. */
  bucket?: string;
  /** JetStream replicas when the bucket is created (a NATS cluster). Default 1. */
  replicas?: number;
  /** The local mirror folder (the archive root this worker's activities and proposers read). */
  mirrorRoot: string;
  log?: StackLog;
  /** Downloads at a time. Default 4. */
  downloadConcurrency?: number;
  /** Puts at a time within one uploadDir. Default 4. */
  uploadConcurrency?: number;
  /** How long one upload keeps retrying (NATS down, JetStream not ready). Default 5 min. */
  uploadTimeoutMs?: number;
  /** A locally written, not yet uploaded file is not overwritten from the store for this long. Default 120 s. */
  localWriteGraceMs?: number;
  /** Full re-listing while the mirror runs. Default 5 min; 0 = only on start and reconnects. */
  resyncIntervalMs?: number;
  /** Chunk size of uploads (clamped by the server's max_payload, 1 MiB by default). Default 1 MiB. */
  chunkSize?: number;
  /** Called after the mirror processed an object (tests, benchmarks, progress displays). */
  onChange?: (result: ReconcileResult) => void;
}

export interface UploadReport {
  /** Object names put into the store. */
  names: string[];
  bytes: number;
  /** Objects removed from the store because the uploaded folder no longer has them. */
  deleted: string[];
  /** Local entries not uploaded (symlinks, special files, unsafe names), with the reason. */
  skipped: string[];
}

export interface CandidatePresence {
  candidateId: string;
  present: boolean;
  /** Why not, when not present. */
  reason?: string;
}

export interface NatsArchive {
  readonly mirrorRoot: string;
  readonly bucket: string;
  readonly servers: string;
  /** Local path in the mirror of an archive-relative path. */
  pathOf(rel: string): string;
  /** Archive-relative object name of a path inside the mirror (throws for paths outside it). */
  relativeName(absPath: string): string;
  /** Uploads one file (default: the mirror's own copy at `rel`) as object `rel`. */
  uploadFile(rel: string, absPath?: string): Promise<UploadReport>;
  /**
   * Uploads folder `absDir` (default: the mirror's folder at `relDir`) as `relDir`, replacing
   * it: objects below `relDir` of each candidate touched that the folder no longer has are
   * deleted from the store, so a retried activity converges on one version.
   */
  uploadDir(relDir: string, absDir?: string): Promise<UploadReport>;
  /** Writes `data` as object `rel` (store first, then the mirror). */
  writeFile(rel: string, data: string | Uint8Array): Promise<UploadReport>;
  /**
   * Read-modify-write of object `rel` with compare-and-set: safe with writers on other machines
   * (e.g. appending a line to summary.jsonl). `update` returns the new content or null (no change).
   */
  updateFile(rel: string, update: (current: Buffer | null) => string | Uint8Array | null | Promise<string | Uint8Array | null>): Promise<UploadReport | null>;
  /** The store's current content of object `rel` (not the mirror's copy), or null when absent. */
  readCurrent(rel: string): Promise<Buffer | null>;
  /** A full catch-up of the mirror (optionally only names under `prefix`, e.g. a search id). */
  syncMirror(options?: { prefix?: string }): Promise<SyncReport>;
  /** Keeps the mirror current until close(); resolves after the first full catch-up. */
  startMirror(): Promise<SyncReport>;
  /** Compares the mirror with the store (hashing every file): what is missing, different or extra. */
  verifyMirror(options?: { prefix?: string }): Promise<MirrorCheck>;
  /** Whether the mirror holds the candidate (fetching what is missing when `fetch`). */
  candidatePresence(searchId: string, candidateId: string, options?: { fetch?: boolean }): Promise<CandidatePresence>;
  /**
   * Resolves once the mirror holds every listed candidate: its manifest is the store's current
   * one, lists meta.json, and every listed file is in the mirror with the listed digest. Fetches
   * what is missing itself (works with or without startMirror). Throws ARCHIVE_WAIT_TIMEOUT
   * naming each missing candidate and why, once `timeoutMs` has passed.
   */
  waitForCandidates(searchId: string, candidateIds: readonly string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function openNatsArchive(options: NatsArchiveOptions): Promise<NatsArchive> {
  const log = options.log ?? silentLog;
  const opened = await openBucket({ ...options, create: true });
  const root = path.resolve(options.mirrorRoot);
  const index = new LocalIndex(root);
  await index.load();
  const mirror = new Mirror({
    bucket: opened,
    root,
    index,
    log,
    ...(options.downloadConcurrency !== undefined ? { concurrency: options.downloadConcurrency } : {}),
    ...(options.localWriteGraceMs !== undefined ? { localWriteGraceMs: options.localWriteGraceMs } : {}),
    ...(options.resyncIntervalMs !== undefined ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
    ...(options.onChange ? { onChange: options.onChange } : {}),
  });
  try {
    await mirror.init();
  } catch (err) {
    await opened.nc.close().catch(() => undefined);
    throw err;
  }
  log.debug(`archive: bucket ${opened.bucket} on ${opened.servers}, mirror ${root}`);
  return new NatsArchiveImpl(opened, opened.servers, root, index, mirror, log, options);
}

class NatsArchiveImpl implements NatsArchive {
  private readonly closing = new AbortController();
  private readonly uploadTimeoutMs: number;
  private readonly uploadConcurrency: number;
  private readonly chunkSize: number;
  private closed: Promise<void> | undefined;

  readonly bucket: string;
  private readonly store: ObjectStore;

  constructor(
    private readonly b: Bucket,
    readonly servers: string,
    readonly mirrorRoot: string,
    private readonly index: LocalIndex,
    private readonly mirror: Mirror,
    private readonly log: StackLog,
    options: NatsArchiveOptions,
  ) {
    this.bucket = b.bucket;
    this.store = b.store;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? 300_000;
    this.uploadConcurrency = options.uploadConcurrency ?? 4;
    this.chunkSize = options.chunkSize ?? 1024 * 1024;
  }

  pathOf(rel: string): string {
    return localPathOf(this.mirrorRoot, objectNameOf(rel));
  }

  relativeName(absPath: string): string {
    const rel = path.relative(this.mirrorRoot, path.resolve(absPath));
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new NatsArchiveError(`${absPath} is not inside the archive mirror ${this.mirrorRoot}`, 'ARCHIVE_BAD_NAME');
    }
    return objectNameOf(rel);
  }

  private retryOptions(): RetryOptions {
    return { timeoutMs: this.uploadTimeoutMs, log: this.log, signal: this.closing.signal };
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new NatsArchiveError('the NATS archive is closed', 'ARCHIVE_CLOSED');
  }

  // ---------------------------------------------------------------- uploads

  async uploadFile(rel: string, absPath?: string): Promise<UploadReport> {
    this.assertOpen();
    const name = objectNameOf(rel);
    if (candidateOfName(name)?.rel === MANIFEST_FILE) throw new NatsArchiveError(`${name} is a manifest: the archive writes it itself`, 'ARCHIVE_BAD_NAME');
    const file = path.resolve(absPath ?? this.pathOf(name));
    const before = await regularFile(file);
    const info = await retrying(`uploading ${name}`, () => putFileOnce(this.store, name, file, { chunkSize: this.chunkSize }), this.retryOptions());
    await this.recordOrInstall(name, file, before, info);
    const cand = candidateOfName(name);
    if (cand) await this.commitToManifest(cand.searchId, cand.candidateId, new Map([[cand.rel, info]]), '', undefined);
    return { names: [name], bytes: info.size, deleted: [], skipped: [] };
  }

  async writeFile(rel: string, data: string | Uint8Array): Promise<UploadReport> {
    this.assertOpen();
    const name = objectNameOf(rel);
    if (candidateOfName(name)?.rel === MANIFEST_FILE) throw new NatsArchiveError(`${name} is a manifest: the archive writes it itself`, 'ARCHIVE_BAD_NAME');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const info = await retrying(`uploading ${name}`, () => putBytesOnce(this.store, name, bytes, { chunkSize: this.chunkSize }), this.retryOptions());
    await this.mirror.install(name, { data: bytes }, info.digest);
    const cand = candidateOfName(name);
    if (cand) await this.commitToManifest(cand.searchId, cand.candidateId, new Map([[cand.rel, info]]), '', undefined);
    return { names: [name], bytes: info.size, deleted: [], skipped: [] };
  }

  async updateFile(
    rel: string,
    update: (current: Buffer | null) => string | Uint8Array | null | Promise<string | Uint8Array | null>,
  ): Promise<UploadReport | null> {
    this.assertOpen();
    const name = objectNameOf(rel);
    if (candidateOfName(name)?.rel === MANIFEST_FILE) throw new NatsArchiveError(`${name} is a manifest: the archive writes it itself`, 'ARCHIVE_BAD_NAME');
    const result = await compareAndSet(
      this.b,
      name,
      async (current) => {
        const next = await update(current);
        return next === null ? null : typeof next === 'string' ? new TextEncoder().encode(next) : next;
      },
      { ...this.retryOptions(), chunkSize: this.chunkSize },
    );
    if (!result) return null;
    await this.mirror.install(name, { data: result.data }, result.info.digest);
    const cand = candidateOfName(name);
    if (cand) await this.commitToManifest(cand.searchId, cand.candidateId, new Map([[cand.rel, result.info]]), '', undefined);
    return { names: [name], bytes: result.info.size, deleted: [], skipped: [] };
  }

  async readCurrent(rel: string): Promise<Buffer | null> {
    this.assertOpen();
    const name = objectNameOf(rel);
    const found = await retrying(`reading ${name}`, () => readObject(this.b, name), this.retryOptions());
    return found ? found.data : null;
  }

  async uploadDir(relDir: string, absDir?: string): Promise<UploadReport> {
    this.assertOpen();
    const trimmed = relDir.replace(/[/\\]+$/, '');
    const dirName = trimmed === '' ? '' : objectNameOf(trimmed);
    const src = path.resolve(absDir ?? (dirName ? this.pathOf(dirName) : this.mirrorRoot));
    const st = await lstat(src).catch(() => undefined);
    if (!st?.isDirectory()) throw new NatsArchiveError(`cannot upload ${src} as ${dirName || 'the archive root'}: it is not a folder`, 'ARCHIVE_LOCAL_CONFLICT');

    const skipped: string[] = [];
    const files: Array<{ name: string; file: string }> = [];
    for (const entry of await walkFiles(src, skipped)) {
      if (dirName === '' && entry.rel.split('/')[0]!.startsWith(RESERVED_PREFIX)) continue;
      const name = joinName(dirName, entry.rel);
      const problem = objectNameProblem(name);
      if (problem) {
        skipped.push(`${entry.abs}: its archive path ${problem}`);
        continue;
      }
      if (candidateOfName(name)?.rel === MANIFEST_FILE) continue; // the archive writes manifests itself
      files.push({ name, file: entry.abs });
    }
    for (const s of skipped) this.log.warn(`archive: not uploading ${s}`);

    // The candidates touched: those with files in the upload, and the one the folder is in.
    const groups = new Map<string, { searchId: string; candidateId: string; prefix: string; rels: Set<string>; scope: string; stored: Map<string, ObjectInfo> }>();
    const groupOf = (searchId: string, candidateId: string) => {
      const prefix = candidatePrefix(searchId, candidateId);
      let g = groups.get(prefix);
      if (!g) {
        const scope = isUnder(dirName, prefix) && dirName !== prefix ? dirName.slice(prefix.length + 1) : '';
        g = { searchId, candidateId, prefix, rels: new Set(), scope, stored: new Map() };
        groups.set(prefix, g);
      }
      return g;
    };
    const inside = candidateOfName(`${dirName}/x`);
    if (inside && dirName.split('/').length >= 3) groupOf(inside.searchId, inside.candidateId);
    for (const f of files) {
      const cand = candidateOfName(f.name);
      if (cand) groupOf(cand.searchId, cand.candidateId).rels.add(cand.rel);
    }

    // 1. Announce the names about to be put, so a crash half-way is cleaned up by the next upload.
    for (const g of groups.values()) {
      if (g.rels.size === 0) continue;
      await this.editManifest(g.searchId, g.candidateId, (m) => {
        m.pending = [...new Set([...m.pending, ...g.rels])];
      });
    }
    // 2. Put the files.
    const befores = new Map<string, { size: number; mtimeMs: number }>();
    const infos = await mapLimit(files, this.uploadConcurrency, async (f) => {
      befores.set(f.name, await regularFile(f.file));
      return retrying(`uploading ${f.name}`, () => putFileOnce(this.store, f.name, f.file, { chunkSize: this.chunkSize }), this.retryOptions());
    });
    files.forEach((f, i) => {
      const cand = candidateOfName(f.name);
      if (cand) groups.get(cand.prefix)!.stored.set(cand.rel, infos[i]!);
    });
    // 3. Record them in the manifests; drop (then delete) what the folder no longer has.
    const deleted: string[] = [];
    for (const g of groups.values()) {
      const stale = await this.commitToManifest(g.searchId, g.candidateId, g.stored, g.scope, g.rels);
      for (const rel of stale) {
        const name = joinName(g.prefix, rel);
        await deleteObject(this.store, name, this.retryOptions());
        await this.mirror.uninstall(name);
        deleted.push(name);
      }
      if (stale.length) {
        const gone = new Set(stale);
        await this.editManifest(g.searchId, g.candidateId, (m) => {
          m.pending = m.pending.filter((r) => !gone.has(r));
          for (const r of gone) delete m.files[r];
        });
      }
    }
    // 4. The writer's own mirror gets the new version at once.
    await mapLimit(files, this.uploadConcurrency, (f, i) => this.recordOrInstall(f.name, f.file, befores.get(f.name)!, infos[i]!));
    const bytes = infos.reduce((sum, info) => sum + info.size, 0);
    return { names: files.map((f) => f.name), bytes, deleted, skipped };
  }

  /** After a put: the mirror's own file is recorded as that version; a file from elsewhere is copied in. */
  private async recordOrInstall(name: string, file: string, before: { size: number; mtimeMs: number }, info: ObjectInfo): Promise<void> {
    const mirrorFile = this.pathOf(name);
    if (path.resolve(file) === mirrorFile) {
      const after = await lstat(file).catch(() => undefined);
      // Only if the file did not change while it was read for the upload.
      if (after && after.size === before.size && after.mtimeMs === before.mtimeMs && after.size === info.size) {
        await this.index.record(name, file, info.digest);
      }
      return;
    }
    await this.mirror.install(name, { file }, info.digest);
  }

  /**
   * Records the versions just put (`stored`: path in the candidate → the put's result) in the
   * manifest. With `keep` (a folder upload), entries and pending names under `scope` not in
   * `keep` become stale: removed from `files`, kept in `pending` until deleted; they are returned.
   * (If another writer put one of these names again meanwhile, the manifest may name the older
   * digest until that writer's own manifest update lands; readers accept the store's current
   * version of a listed file, so that never blocks them.)
   */
  private async commitToManifest(searchId: string, candidateId: string, stored: Map<string, ObjectInfo>, scope: string, keep: Set<string> | undefined): Promise<string[]> {
    let stale: string[] = [];
    await this.editManifest(searchId, candidateId, (m) => {
      for (const [rel, info] of stored) m.files[rel] = { digest: info.digest, size: info.size };
      stale = [];
      if (keep) {
        stale = [...new Set([...Object.keys(m.files), ...m.pending])].filter((r) => isUnder(r, scope) && !keep.has(r));
        for (const r of stale) delete m.files[r];
        m.pending = [...new Set([...m.pending.filter((r) => !keep.has(r) && !isUnder(r, scope)), ...stale])];
      }
    });
    return stale;
  }

  /** Compare-and-set edit of a candidate's manifest; the writer's mirror gets the result. */
  private async editManifest(searchId: string, candidateId: string, edit: (m: CandidateManifest) => void | Promise<void>): Promise<void> {
    const name = manifestNameOf(searchId, candidateId);
    const result = await compareAndSet(
      this.b,
      name,
      async (current) => {
        let m = emptyManifest(searchId, candidateId);
        if (current) {
          try {
            m = parseManifest(current, searchId, candidateId);
          } catch (err) {
            this.log.warn(`archive: the manifest ${name} in the store is unreadable (${errorMessage(err)}); rewriting it`);
          }
        }
        await edit(m);
        m.updatedAt = new Date().toISOString();
        return serializeManifest(m);
      },
      { ...this.retryOptions(), chunkSize: this.chunkSize },
    );
    if (result) await this.mirror.install(name, { data: result.data }, result.info.digest);
  }

  // ---------------------------------------------------------------- the mirror

  syncMirror(options: { prefix?: string } = {}): Promise<SyncReport> {
    this.assertOpen();
    const prefix = options.prefix;
    return this.mirror.syncAll(prefix ? (name) => isUnder(name, prefix) : undefined);
  }

  startMirror(): Promise<SyncReport> {
    this.assertOpen();
    return this.mirror.start();
  }

  verifyMirror(options: { prefix?: string } = {}): Promise<MirrorCheck> {
    const prefix = options.prefix;
    return this.mirror.verify(prefix ? (name) => isUnder(name, prefix) : undefined);
  }

  async candidatePresence(searchId: string, candidateId: string, options: { fetch?: boolean } = {}): Promise<CandidatePresence> {
    const fetch = options.fetch ?? true;
    const mname = manifestNameOf(searchId, candidateId);
    const prefix = candidatePrefix(searchId, candidateId);
    const no = (reason: string): CandidatePresence => ({ candidateId, present: false, reason });
    let info: ObjectInfo | null;
    try {
      info = await this.store.info(mname);
    } catch (err) {
      return no(`the store did not answer (${errorMessage(err)})`);
    }
    if (!info || info.deleted) return no('nothing of it is in the store yet (no manifest)');
    const mfile = this.pathOf(mname);
    if (!(await this.index.matches(mname, mfile, info.digest))) {
      if (fetch) await this.mirror.schedule(mname, info);
      if (!(await this.index.matches(mname, mfile, info.digest))) return no(`its manifest in the mirror is not the store's current one yet`);
    }
    let manifest: CandidateManifest;
    try {
      manifest = parseManifest(await readFile(mfile), searchId, candidateId);
    } catch (err) {
      return no(`its manifest is unreadable: ${errorMessage(err)}`);
    }
    if (!manifest.files['meta.json']) return no('its manifest lists no meta.json yet');
    const entries = Object.entries(manifest.files);
    const missing = async () => {
      const out: string[] = [];
      for (const [rel, e] of entries) {
        const name = joinName(prefix, rel);
        if (!(await this.index.matches(name, localPathOf(this.mirrorRoot, name), e.digest))) out.push(name);
      }
      return out;
    };
    let absent = await missing();
    if (absent.length && fetch) {
      // After a reconcile the mirror holds the store's current version of the file; accept it
      // even when it is newer than the manifest says (its writer's manifest update is on its way).
      const results = await Promise.all(absent.map((name) => this.mirror.schedule(name)));
      absent = absent.filter((_, i) => results[i]!.outcome !== 'unchanged' && results[i]!.outcome !== 'downloaded');
    }
    if (absent.length) {
      return no(`${absent.length} of ${entries.length} files are not in the mirror with the manifest's digest yet (e.g. ${absent[0]})`);
    }
    return { candidateId, present: true };
  }

  async waitForCandidates(searchId: string, candidateIds: readonly string[], timeoutMs: number): Promise<void> {
    this.assertOpen();
    assertSafeId(searchId, 'search id');
    for (const id of candidateIds) assertSafeId(id, 'candidate id');
    const started = Date.now();
    const deadline = started + timeoutMs;
    const waiting = new Set(candidateIds);
    const reasons = new Map<string, string>();
    for (;;) {
      const ids = [...waiting];
      const results = await mapLimit(ids, 8, (id) => this.candidatePresence(searchId, id, { fetch: true }));
      for (const r of results) {
        if (r.present) {
          waiting.delete(r.candidateId);
          reasons.delete(r.candidateId);
        } else reasons.set(r.candidateId, r.reason ?? 'unknown');
      }
      if (waiting.size === 0) return;
      if (Date.now() >= deadline) break;
      this.assertOpen();
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    const list = [...waiting].slice(0, 10).map((id) => `  ${id}: ${reasons.get(id)}`);
    if (waiting.size > 10) list.push(`  … and ${waiting.size - 10} more`);
    throw new NatsArchiveError(
      `the archive mirror ${this.mirrorRoot} does not hold ${waiting.size} of ${candidateIds.length} candidates of search ${searchId} ` +
        `after ${Date.now() - started} ms (bound ${timeoutMs} ms):\n${list.join('\n')}\n` +
        `Check that the workers that wrote them reach NATS at ${this.servers} (bucket ${this.bucket}) and upload their output, ` +
        `that this worker's connection is up, or raise the wait bound.`,
      'ARCHIVE_WAIT_TIMEOUT',
    );
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      await this.mirror.stop();
      await Promise.race([this.b.nc.close(), sleep(5_000)]).catch(() => undefined);
    })();
    return this.closed;
  }
}

/** The stat of a regular file, or a fatal error saying what is there instead. */
async function regularFile(file: string): Promise<{ size: number; mtimeMs: number }> {
  const st = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    throw new NatsArchiveError(`cannot upload ${file}: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}`, 'ARCHIVE_LOCAL_CONFLICT', { cause: err });
  });
  if (!st.isFile()) throw new NatsArchiveError(`cannot upload ${file}: not a regular file`, 'ARCHIVE_LOCAL_CONFLICT');
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Regular files below `dir` ('/'-separated relative paths); symlinks and special files go to `skipped`. */
export async function walkFiles(dir: string, skipped: string[] = []): Promise<Array<{ rel: string; abs: string }>> {
  const out: Array<{ rel: string; abs: string }> = [];
  const visit = async (abs: string, rel: string): Promise<void> => {
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const childAbs = path.join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(childAbs, childRel);
      else if (e.isFile()) out.push({ rel: childRel, abs: childAbs });
      else skipped.push(`${childAbs}: ${e.isSymbolicLink() ? 'a symlink' : 'not a regular file'}`);
    }
  };
  await visit(dir, '');
  return out;
}

/** `fn` over `items`, at most `limit` at a time; results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
