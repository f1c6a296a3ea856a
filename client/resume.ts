// `metaswarm resume`: continue a search whose workflow failed, was terminated, timed out or was
// stopped, from its archive: what finished is kept (not re-run), the rest goes on under the same
// search id with the same spec and budget.
import type { Client } from '@temporalio/client';
import { findNats } from '../stack/nats-config.js';
import { rebuildState } from '../workflows/rebuild-state.js';
import type { searchWorkflow } from '../workflows/search.js';
import type { RetryRequest, SearchState, SearchStatus, TaskQueues } from '../workflows/search-types.js';
import { SearchNotFoundError } from './search-client.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { readSearchRecords, type RecordsSource } from './search-records.js';

export interface ResumeOptions {
  /** The archive root (a folder, also for a search whose archive is in NATS); default: where the search's memo says it is. */
  archiveRoot?: string;
  /** Candidates to run again first (retry-failed); a completed search may then be resumed too. */
  retry?: RetryRequest[];
}

export async function resumeSearch(client: Client, searchId: string, queues: TaskQueues, opts: ResumeOptions = {}): Promise<SearchState> {
  const handle = client.workflow.getHandle<typeof searchWorkflow>(searchId);
  const description = await handle.describe().catch((err) => {
    if (err instanceof WorkflowNotFoundError) throw new SearchNotFoundError(`no search with id ${searchId}`);
    throw err;
  });
  const status = description.status.name;
  if (status === 'RUNNING') throw new Error(`search ${searchId} is still running: nothing to resume`);
  if (status === 'COMPLETED' && !opts.retry?.length) {
    const result = (await handle.result()) as SearchStatus;
    if (result.phase !== 'stopped') {
      throw new Error(`search ${searchId} completed (${result.stopReason ?? 'done'}): nothing to resume; start a new search to go further`);
    }
  }
  const { root, resolved, lines } = await readSearchRecords(searchId, await recordsSourceOf(searchId, description.memo, opts.archiveRoot));
  const carried = rebuildState(resolved.spec, lines, Date.now());
  await client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
    workflowId: searchId,
    taskQueue: queues.workflows,
    args: [{ searchId, spec: resolved.spec, specDir: resolved.specDir, queues, carried, ...(opts.retry?.length ? { retry: opts.retry } : {}) }],
    memo: { ...description.memo, archive: root, resumedFrom: description.runId },
  });
  return carried;
}

/**
 * Where a search's records are: its archive folder, or the NATS store when it kept its archive
 * there (NATS from the environment or the running `up` stack).
 */
export async function recordsSourceOf(searchId: string, memo: Record<string, unknown> | undefined, archiveRoot?: string): Promise<RecordsSource> {
  const root = archiveRoot ?? (memo?.archive as string | undefined);
  if (!root) throw new Error(`search ${searchId} does not say where its archive is: pass --archive <dir>`);
  if (memo?.archiveBackend !== 'nats' || archiveRoot) return { kind: 'folder', root };
  const conn = await findNats();
  if (!conn) throw new Error(`search ${searchId} keeps its archive in NATS: set NATS_URL (or run where \`metaswarm up --archive nats\` runs), or pass --archive <dir> with a pulled copy`);
  const bucket = memo.bucket as string | undefined;
  return { kind: 'nats', root, conn: { ...conn, ...(bucket ? { bucket } : {}) } };
}
