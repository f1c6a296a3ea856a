// The user's side of a search: start it, read its status, pause/resume/stop it, wait for it.
// Used by the CLI and by tests; talks to Temporal only through @temporalio/client.
import { randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { LoadedSpec } from '../contract/spec-file.js';
import type { searchWorkflow } from '../workflows/search.js';
import { pauseSignal, resumeSignal, setBudgetUpdate, setPopulationUpdate, statusQuery, stopSignal } from '../workflows/messages.js';
import type { SearchStatus, TaskQueues } from '../workflows/search-types.js';
import { preflight } from './preflight.js';

export function newSearchId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export async function startSearch(
  client: Client,
  loaded: LoadedSpec,
  queues: TaskQueues,
  searchId = newSearchId(loaded.spec.name),
): Promise<string> {
  await preflight(loaded.spec);
  await client.workflow.start<typeof searchWorkflow>('searchWorkflow', {
    workflowId: searchId,
    taskQueue: queues.workflows,
    args: [{ searchId, spec: loaded.spec, specDir: loaded.specDir, queues }],
    memo: {
      kind: 'metaswarm-search',
      specFile: loaded.specFile,
      archive: loaded.spec.archive.path,
      archiveBackend: loaded.spec.archive.backend,
      ...(loaded.spec.archive.bucket ? { bucket: loaded.spec.archive.bucket } : {}),
    },
  });
  return searchId;
}

export class SearchNotFoundError extends Error {
  override name = 'SearchNotFoundError';
}

export type SearchReport = SearchStatus | ClosedWithoutResult;
export interface ClosedWithoutResult {
  searchId: string;
  phase: 'failed' | 'terminated' | 'cancelled' | 'timed-out';
  closedAt?: string;
}

/** The status of a running search (by query) or the final status of a finished one. */
export async function getSearchStatus(client: Client, searchId: string): Promise<SearchReport> {
  const handle = client.workflow.getHandle<typeof searchWorkflow>(searchId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new SearchNotFoundError(`no search with id ${searchId}`);
    throw err;
  }
  switch (description.status.name) {
    case 'RUNNING': {
      // The workflow's clock stands still between its tasks; a reader wants wall-clock elapsed.
      const s = await handle.query(statusQuery);
      return { ...s, elapsedMs: Date.now() - Date.parse(s.startedAt) };
    }
    case 'COMPLETED':
      return handle.result();
    case 'CONTINUED_AS_NEW': // describe() of the latest run never says this; kept for completeness
      return client.workflow.getHandle(searchId).query(statusQuery);
    default: {
      const phase = ({ FAILED: 'failed', TERMINATED: 'terminated', CANCELLED: 'cancelled', TIMED_OUT: 'timed-out' } as const)[
        description.status.name as 'FAILED' | 'TERMINATED' | 'CANCELLED' | 'TIMED_OUT'
      ];
      return { searchId, phase: phase ?? 'failed', closedAt: description.closeTime?.toISOString() };
    }
  }
}

export async function waitForSearch(client: Client, searchId: string): Promise<SearchStatus> {
  return client.workflow.getHandle<typeof searchWorkflow>(searchId).result();
}

export async function pauseSearch(client: Client, searchId: string) {
  await client.workflow.getHandle(searchId).signal(pauseSignal);
}
export async function resumeSearch(client: Client, searchId: string) {
  await client.workflow.getHandle(searchId).signal(resumeSignal);
}
export async function stopSearch(client: Client, searchId: string, reason?: string) {
  await client.workflow.getHandle(searchId).signal(stopSignal, { reason });
}
export async function setSearchBudget(client: Client, searchId: string, maxCandidates: number) {
  return client.workflow.getHandle(searchId).executeUpdate(setBudgetUpdate, { args: [{ maxCandidates }] });
}
export async function setSearchPopulation(client: Client, searchId: string, population: number) {
  return client.workflow.getHandle(searchId).executeUpdate(setPopulationUpdate, { args: [{ population }] });
}
