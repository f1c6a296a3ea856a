// How activities write the archive and make sure they read a current copy of it, whatever the
// backend. Activities see files under `root` (a shared folder, or this worker's NATS mirror) and
// publish what they produce through the store:
//   local  one folder every worker mounts: publishing is an atomic rename, reading is reading.
//   nats   the JetStream object store holds the archive and each worker keeps a mirror: writes
//          go to the store first (then into the mirror), and readers wait, bounded, until their
//          mirror holds every candidate the workflow knows about.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveLayout } from './archive-layout.js';
import { replaceDir, writeFileAtomic } from './atomic-write.js';
import type { NatsArchive } from './nats/index.js';
import { RESERVED_PREFIX } from './nats/object-name.js';

export type ArchiveBackend = 'local' | 'nats';

/** An output folder to write into, then publish (or drop, after a failure). */
export interface OutputDir {
  dir: string;
  publish(): Promise<void>;
  discard(): Promise<void>;
}

export interface ArchiveStore {
  readonly backend: ArchiveBackend;
  /** Where this worker reads the archive: holds `<search-id>/…`. */
  readonly root: string;
  layout(searchId: string): ArchiveLayout;
  /** Publishes the folder `staged` as archive path `rel`, replacing what was there (retries converge). */
  publishDir(rel: string, staged: string): Promise<void>;
  /** Writes one file at archive path `rel`. */
  writeFile(rel: string, data: string): Promise<void>;
  /**
   * Read-modify-write of one file (`update` returns the new content, or null for no change).
   * Safe with writers on other machines on the nats backend (compare-and-set).
   */
  updateFile(rel: string, update: (current: string | null) => string | null): Promise<void>;
  /** The authoritative current content of `rel` (the store's, not a mirror's), or null. */
  readCurrent(rel: string): Promise<string | null>;
  /**
   * A folder for output that lands at archive path `rel` on publish(): the final folder itself
   * on the local backend (writers there already clear it first), a staging folder on nats.
   */
  outputDir(rel: string): Promise<OutputDir>;
  /** A private scratch folder on the same filesystem as `root` (for staging then publishDir). */
  scratchDir(purpose: string): string;
  /** Resolves once this worker's view holds the candidates (at once on the local backend). */
  awaitCandidates(searchId: string, candidateIds: readonly string[], timeoutMs: number): Promise<void>;
}

/** Archive path (relative to the root) of an absolute path under it. */
export function relativeTo(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${abs} is not inside the archive root ${root}`);
  return rel.split(path.sep).join('/');
}

export class LocalArchiveStore implements ArchiveStore {
  readonly backend = 'local' as const;
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }
  layout(searchId: string) {
    return new ArchiveLayout(this.root, searchId);
  }
  async publishDir(rel: string, staged: string) {
    await replaceDir(staged, this.abs(rel));
  }
  async writeFile(rel: string, data: string) {
    await writeFileAtomic(this.abs(rel), data);
  }
  async updateFile(rel: string, update: (current: string | null) => string | null) {
    // One writer per file on this backend (the search's workflow worker), so no lock is needed.
    const next = update(await this.readCurrent(rel));
    if (next !== null) await writeFileAtomic(this.abs(rel), next);
  }
  readCurrent(rel: string) {
    return readFile(this.abs(rel), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
  }
  async outputDir(rel: string): Promise<OutputDir> {
    const dir = this.abs(rel);
    return { dir, publish: async () => {}, discard: async () => {} };
  }
  scratchDir(purpose: string) {
    // Beside the searches (same filesystem), so publishing it is a rename.
    return path.join(this.root, '.staging', `${purpose}-${process.pid}-${randomUUID().slice(0, 8)}`);
  }
  async awaitCandidates() {}
  private abs(rel: string) {
    return path.join(this.root, rel);
  }
}

export class NatsArchiveStore implements ArchiveStore {
  readonly backend = 'nats' as const;
  constructor(readonly archive: NatsArchive) {}
  get root() {
    return this.archive.mirrorRoot;
  }
  layout(searchId: string) {
    return new ArchiveLayout(this.root, searchId);
  }
  async publishDir(rel: string, staged: string) {
    await this.archive.uploadDir(rel, staged);
  }
  async writeFile(rel: string, data: string) {
    await this.archive.writeFile(rel, data);
  }
  async updateFile(rel: string, update: (current: string | null) => string | null) {
    await this.archive.updateFile(rel, (current) => update(current ? current.toString('utf8') : null));
  }
  async readCurrent(rel: string) {
    const data = await this.archive.readCurrent(rel);
    return data ? data.toString('utf8') : null;
  }
  async outputDir(rel: string): Promise<OutputDir> {
    // Output is written outside the mirror and uploaded when complete: the mirror only ever
    // holds what the store holds, and a crashed writer leaves nothing half-written in it.
    const dir = this.scratchDir('output');
    await mkdir(dir, { recursive: true });
    const drop = () => rm(dir, { recursive: true, force: true });
    return {
      dir,
      publish: async () => {
        try {
          await this.archive.uploadDir(rel, dir);
        } finally {
          await drop();
        }
      },
      discard: drop,
    };
  }
  scratchDir(purpose: string) {
    return path.join(this.root, RESERVED_PREFIX, 'staging', `${purpose}-${process.pid}-${randomUUID().slice(0, 8)}`);
  }
  awaitCandidates(searchId: string, candidateIds: readonly string[], timeoutMs: number) {
    return this.archive.waitForCandidates(searchId, candidateIds, timeoutMs);
  }
}
