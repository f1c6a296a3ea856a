// One search through the whole swarm (search workflow → candidate workflows → proposer and
// evaluator activities → harness processes), timed from the start request to its result, and
// what it left in the archive.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { CandidateMeta, EvalSummary, SummaryLine } from '../contract/candidate.js';
import type { LoadedSpec } from '../contract/spec-file.js';
import { startSearch, waitForSearch } from '../client/search-client.js';
import { ArchiveLayout } from '../shared-fs/archive-layout.js';
import type { SearchStatus, TaskQueues } from '../workflows/search-types.js';
import { nowMs } from './stats.js';

export interface SwarmCandidate {
  id: string;
  kind: 'seed' | 'proposal';
  lineage: number;
  step: number;
  status: SummaryLine['status'];
  harnessDir: string;
  /** Instances evaluated (eval/search/summary.json), 0 when the candidate failed before. */
  instances: number;
  /** meta.json timings: proposeMs / importMs, validateMs, evaluateMs, totalMs. */
  timings: Record<string, number>;
}

export interface SwarmRun {
  searchId: string;
  status: SearchStatus;
  wallMs: number;
  candidates: SwarmCandidate[];
  evaluations: number;
  failed: number;
}

/** Longer than any bench search; a hung search fails the bench instead of hanging it. */
const SEARCH_TIMEOUT_MS = 15 * 60_000;

export async function runSwarmSearch(client: Client, loaded: LoadedSpec, queues: TaskQueues): Promise<SwarmRun> {
  const searchId = `${loaded.spec.name}-${randomBytes(3).toString('hex')}`;
  const t0 = nowMs();
  await startSearch(client, loaded, queues, searchId);
  let timer: NodeJS.Timeout | undefined;
  const status = await Promise.race([
    waitForSearch(client, searchId),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`search ${searchId} did not finish within ${SEARCH_TIMEOUT_MS / 60_000} min`)), SEARCH_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  const wallMs = nowMs() - t0;
  const candidates = await readCandidates(new ArchiveLayout(loaded.spec.archive.path, searchId));
  return {
    searchId,
    status,
    wallMs,
    candidates,
    evaluations: candidates.reduce((a, c) => a + c.instances, 0),
    failed: candidates.filter((c) => c.status !== 'evaluated').length,
  };
}

async function readCandidates(layout: ArchiveLayout): Promise<SwarmCandidate[]> {
  const lines = (await readFile(layout.summaryJsonl, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SummaryLine);
  const out: SwarmCandidate[] = [];
  for (const line of lines) {
    const meta = JSON.parse(await readFile(layout.metaJson(line.id), 'utf8')) as CandidateMeta;
    const summary = await readFile(layout.evalSummaryJson(line.id, 'search'), 'utf8')
      .then((t) => JSON.parse(t) as EvalSummary)
      .catch(() => undefined);
    out.push({
      id: line.id,
      kind: line.kind,
      lineage: line.lineage,
      step: line.step,
      status: line.status,
      harnessDir: layout.harnessDir(line.id),
      instances: summary?.instances ?? 0,
      timings: meta.timings,
    });
  }
  return out;
}

/** Seeds first, then proposals by (step, lineage): the order a generation scheduler would see them. */
export function byGeneration(a: SwarmCandidate, b: SwarmCandidate): number {
  if (a.kind !== b.kind) return a.kind === 'seed' ? -1 : 1;
  return a.step - b.step || a.lineage - b.lineage;
}
