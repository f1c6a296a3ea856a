// What `resume` and `retry-failed` read of a finished search: its resolved spec (search.json),
// its summary lines, and whether a candidate's harness is archived. From the archive folder, or
// straight from the NATS object store (a handful of objects, not a download of the archive).
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SummaryLine } from '../contract/candidate.js';
import { parseSummaryLines } from '../shared-fs/summary-file.js';
import type { SearchSpec } from '../contract/spec.js';
import { ArchiveLayout } from '../shared-fs/archive-layout.js';
import { readObject } from '../shared-fs/nats/bucket-reader.js';
import { openBucket } from '../shared-fs/nats/connect.js';
import type { NatsConnectOptions } from '../shared-fs/nats/index.js';

export interface SearchRecords {
  /** The archive root the search's memo keeps (or the folder read). */
  root: string;
  resolved: { spec: SearchSpec; specDir: string };
  lines: SummaryLine[];
  /** Whether the candidate's harness (its manifest file) is archived. */
  hasHarness(candidateId: string): Promise<boolean>;
}

export type RecordsSource = { kind: 'folder'; root: string } | { kind: 'nats'; root: string; conn: NatsConnectOptions & { bucket?: string } };

export async function readSearchRecords(searchId: string, source: RecordsSource): Promise<SearchRecords> {
  const layout = new ArchiveLayout(path.resolve(source.root), searchId);
  const rel = (abs: string) => path.relative(layout.root, abs).split(path.sep).join('/');
  const harnessFiles = (id: string) => ['harness.yaml', 'harness.json'].map((f) => path.join(layout.harnessDir(id), f));
  if (source.kind === 'folder') {
    const searchJson = await readFile(layout.searchJson, 'utf8').catch(() => {
      throw new Error(`no ${layout.searchJson}: is ${source.root} the archive of ${searchId}?`);
    });
    return {
      root: layout.root,
      resolved: JSON.parse(searchJson) as SearchRecords['resolved'],
      lines: parseSummaryLines(await readFile(layout.summaryJsonl, 'utf8').catch(() => '')),
      hasHarness: async (id) => (await Promise.all(harnessFiles(id).map((f) => access(f).then(() => true, () => false)))).some(Boolean),
    };
  }
  const bucket = await openBucket({ ...source.conn, create: false });
  try {
    const read = async (abs: string) => (await readObject(bucket, rel(abs)))?.data.toString('utf8') ?? null;
    const searchJson = await read(layout.searchJson);
    if (searchJson === null) throw new Error(`the NATS archive (bucket ${bucket.bucket} on ${bucket.servers}) holds no ${rel(layout.searchJson)}`);
    const lines = parseSummaryLines((await read(layout.summaryJsonl)) ?? '');
    const withHarness = new Set<string>();
    for (const l of lines) {
      for (const f of harnessFiles(l.id)) {
        const info = await bucket.store.info(rel(f));
        if (info && !info.deleted) withHarness.add(l.id);
      }
    }
    return {
      root: layout.root,
      resolved: JSON.parse(searchJson) as SearchRecords['resolved'],
      lines,
      hasHarness: async (id) => withHarness.has(id),
    };
  } finally {
    await bucket.nc.close().catch(() => undefined);
  }
}
