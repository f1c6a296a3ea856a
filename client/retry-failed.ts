// `metaswarm retry-failed`: candidates that failed for infrastructure reasons (retries exhausted,
// a worker that kept dying, a full disk; not the harness's own errors, which are results) are
// run again: a running search is signalled, a closed one is resumed with them.
import type { Client } from '@temporalio/client';
import { retryCandidatesSignal } from '../workflows/messages.js';
import type { RetryRequest, TaskQueues } from '../workflows/search-types.js';
import { recordsSourceOf, resumeSearch } from './resume.js';
import { readSearchRecords } from './search-records.js';

export async function retryFailed(
  client: Client,
  searchId: string,
  queues: TaskQueues,
  opts: { archiveRoot?: string } = {},
): Promise<RetryRequest[]> {
  const handle = client.workflow.getHandle(searchId);
  const description = await handle.describe();
  const records = await readSearchRecords(searchId, await recordsSourceOf(searchId, description.memo, opts.archiveRoot));
  const retry: RetryRequest[] = [];
  for (const l of records.lines.filter((x) => x.status === 'failed' && x.failureStage === 'infrastructure')) {
    retry.push({
      id: l.id,
      kind: l.kind,
      lineage: l.lineage,
      step: l.step,
      generation: l.generation,
      parentIds: l.parentIds,
      reuseHarness: await records.hasHarness(l.id),
    });
  }
  if (retry.length === 0) return [];
  if (description.status.name === 'RUNNING') await handle.signal(retryCandidatesSignal, { candidates: retry });
  else await resumeSearch(client, searchId, queues, { ...(opts.archiveRoot ? { archiveRoot: opts.archiveRoot } : {}), retry });
  return retry;
}
