// Which archive store an activity uses for a search: the workflow names the backend in its
// ArchiveRef; the worker brings the means (its NATS connection and mirror). A local archive is
// the folder the ref names; a nats archive is this worker's mirror of the bucket.
import { ApplicationFailure } from '@temporalio/activity';
import { LocalArchiveStore, NatsArchiveStore, type ArchiveStore } from '../shared-fs/archive-store.js';
import type { NatsArchive } from '../shared-fs/nats/index.js';
import type { ArchiveRef } from './types.js';

export interface ArchiveAccess {
  storeFor(ref: ArchiveRef): ArchiveStore;
}

export function archiveAccess(options: { nats?: NatsArchive } = {}): ArchiveAccess {
  const nats = options.nats ? new NatsArchiveStore(options.nats) : undefined;
  const locals = new Map<string, LocalArchiveStore>();
  return {
    storeFor(ref) {
      if (ref.backend === 'nats') {
        if (!nats) {
          // Retryable on purpose: another worker of the swarm (one with NATS) may take it.
          throw ApplicationFailure.retryable(
            `search ${ref.searchId} keeps its archive in NATS (bucket ${ref.bucket ?? 'default'}), but this worker has no NATS archive: ` +
              'start it with `--archive nats` (or METASWARM_ARCHIVE=nats) and NATS_URL',
            'ArchiveConfigError',
          );
        }
        if (ref.bucket && ref.bucket !== nats.archive.bucket) {
          throw ApplicationFailure.retryable(
            `search ${ref.searchId} keeps its archive in bucket ${ref.bucket}, but this worker mirrors bucket ${nats.archive.bucket} ` +
              '(set METASWARM_ARCHIVE_BUCKET to match)',
            'ArchiveConfigError',
          );
        }
        return nats;
      }
      let store = locals.get(ref.root);
      if (!store) locals.set(ref.root, (store = new LocalArchiveStore(ref.root)));
      return store;
    },
  };
}

/** Workers without NATS: every search's archive is a folder. */
export const localArchiveAccess: ArchiveAccess = archiveAccess();

/** Default bound on waiting for candidates to reach this worker's archive copy. */
export const DEFAULT_ARCHIVE_WAIT_SEC = 120;

/**
 * store.awaitCandidates, with its timeout turned into a retryable activity failure: the next
 * attempt (maybe on a worker whose mirror is current) tries again.
 */
export async function awaitCandidatesOrRetry(store: ArchiveStore, searchId: string, ids: readonly string[], timeoutMs: number): Promise<void> {
  try {
    await store.awaitCandidates(searchId, ids, timeoutMs);
  } catch (err) {
    if ((err as { code?: string }).code === 'ARCHIVE_WAIT_TIMEOUT') throw ApplicationFailure.retryable((err as Error).message, 'ARCHIVE_WAIT_TIMEOUT');
    throw err;
  }
}
