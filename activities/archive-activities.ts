// Archive bookkeeping: search.json, seeds, meta.json, summary.jsonl and frontier.json, written
// through the search's archive store (a shared folder or NATS). Every write is idempotent: a
// retried activity converges on the same files.
import { ApplicationFailure } from '@temporalio/activity';
import { cp, rm, stat } from 'node:fs/promises';
import { relativeTo, type ArchiveStore } from '../shared-fs/archive-store.js';
import { withAppendedLine, withReplacedLine } from '../shared-fs/summary-file.js';
import { localArchiveAccess, type ArchiveAccess } from './archive-access.js';
import type { ArchiveActivities, ArchiveRef, RecordInput } from './types.js';

/** Archive path of an absolute path in the store's view. */
export const rel = (store: ArchiveStore, abs: string) => relativeTo(store.root, abs);

export function createArchiveActivities(access: ArchiveAccess): ArchiveActivities {
  const open = (archive: ArchiveRef) => {
    const store = access.storeFor(archive);
    return { store, layout: store.layout(archive.searchId) };
  };
  return {
    async initSearchArchive({ archive, resolvedSpec }) {
      const { store, layout } = open(archive);
      await store.writeFile(rel(store, layout.searchJson), JSON.stringify(resolvedSpec, null, 2) + '\n');
    },

    async importSeed({ archive, candidateId, seedDir }) {
      const exists = await stat(seedDir).then((s) => s.isDirectory(), () => false);
      if (!exists) throw ApplicationFailure.nonRetryable(`seed harness folder ${seedDir} does not exist`, 'SpecError');
      const { store, layout } = open(archive);
      const staged = store.scratchDir(`${archive.searchId}-${candidateId}-seed`);
      try {
        await cp(seedDir, staged, { recursive: true, dereference: false });
        await store.publishDir(rel(store, layout.harnessDir(candidateId)), staged);
      } finally {
        await rm(staged, { recursive: true, force: true });
      }
    },

    async writeCandidateMeta({ archive, meta }) {
      const { store, layout } = open(archive);
      await store.writeFile(rel(store, layout.metaJson(meta.id)), JSON.stringify(meta, null, 2) + '\n');
    },

    async recordOutcome(input: RecordInput) {
      const { store, layout } = open(input.archive);
      await store.updateFile(rel(store, layout.summaryJsonl), (current) =>
        input.replace ? withReplacedLine(current ?? '', input.line) : withAppendedLine(current ?? '', input.line),
      );
      const frontier = { searchId: input.archive.searchId, updatedAt: input.line.recordedAt, candidates: input.frontier };
      await store.writeFile(rel(store, layout.frontierJson), JSON.stringify(frontier, null, 2) + '\n');
    },
  };
}

/** The activities of workers without NATS (tests wrap these to inject failures). */
export const archiveActivities: ArchiveActivities = createArchiveActivities(localArchiveAccess);
