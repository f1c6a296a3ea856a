// propose, on the proposers task queue: makes sure this worker's archive copy is current (every
// candidate the search knows of), stages a workspace (the parent's harness copied in, the
// prompt rendered), runs the configured proposer in it, then publishes harness/ and proposal/
// into the candidate's archive folder. A retried attempt stages afresh and replaces what an
// earlier attempt published: one candidate, one version.
import { ApplicationFailure } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadSuiteInfo } from '../evaluators/suite-info.js';
import { createProposer } from '../proposers/registry.js';
import { writeProposerPrompt } from '../proposers/prompt.js';
import { outputHarnessDir, outputProposalDir, type ProposalRequest } from '../proposers/proposer.js';
import { seedFromId } from '../proposers/seed.js';
import type { ArchiveStore } from '../shared-fs/archive-store.js';
import { DEFAULT_ARCHIVE_WAIT_SEC, awaitCandidatesOrRetry, localArchiveAccess, type ArchiveAccess } from './archive-access.js';
import { rel } from './archive-activities.js';
import { summaryIds } from '../shared-fs/summary-file.js';
import { nonRetryableOnSpecError } from './evaluator-activities.js';
import { withHeartbeat } from './heartbeat.js';
import type { ProposeInput, ProposerActivities } from './types.js';

export function createProposerActivities(access: ArchiveAccess): ProposerActivities {
  return {
    async propose(input: ProposeInput) {
      const store = access.storeFor(input.archive);
      const layout = store.layout(input.archive.searchId);
      const parentId = input.parentIds[0];
      if (!parentId) throw ApplicationFailure.nonRetryable(`candidate ${input.candidateId} has no parent to propose from`);
      const staging = store.scratchDir(`${input.archive.searchId}-${input.candidateId}-proposal`);
      try {
        return await withHeartbeat(({ signal, heartbeat }) =>
          nonRetryableOnSpecError(async () => {
            await awaitKnownCandidates(store, input, signal);
            const suite = await loadSuiteInfo(input.evaluatorKind ?? 'process', input.taskDir);
            await mkdir(outputProposalDir(staging), { recursive: true });
            const parentHarness = layout.harnessDir(parentId);
            // A parent that failed before writing a harness leaves the proposer an empty folder.
            if (await stat(parentHarness).then(() => true, () => false)) {
              await cp(parentHarness, outputHarnessDir(staging), { recursive: true });
            } else {
              await mkdir(outputHarnessDir(staging), { recursive: true });
            }
            const req: ProposalRequest = {
              searchId: input.archive.searchId,
              candidateId: input.candidateId,
              parentIds: input.parentIds,
              archiveDir: layout.searchDir,
              parentDir: layout.candidateDir(parentId),
              outputDir: staging,
              taskInstructionsPath: suite.instructionsPath,
              promptFile: path.join(outputProposalDir(staging), 'prompt.md'),
              seed: seedFromId(input.candidateId),
              specDir: input.specDir,
            };
            await writeProposerPrompt(
              { ...req, taskName: suite.name, ...(suite.searchInstancesPath ? { searchInstancesPath: suite.searchInstancesPath } : {}) },
              req.promptFile,
            );
            const result = await createProposer(withAllowance(input)).propose(req, { signal, heartbeat });
            // Published even when the proposal failed: its logs say why.
            await store.publishDir(rel(store, layout.harnessDir(input.candidateId)), outputHarnessDir(staging));
            await store.publishDir(rel(store, layout.proposalDir(input.candidateId)), outputProposalDir(staging));
            const u = result.usage;
            const books = {
              costUsd: u?.costUsd ?? 0,
              ...(u ? { usage: { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cacheReadTokens: u.cacheReadTokens, cacheWriteTokens: u.cacheWriteTokens } } : {}),
            };
            return result.ok ? { ok: true as const, ...books } : { ok: false as const, reason: result.reason, ...books };
          }),
        );
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}

/** The activities of workers without NATS (tests wrap these to inject failures). */
export const proposerActivities: ProposerActivities = createProposerActivities(localArchiveAccess);

/**
 * A proposer never works from an archive older than what the workflow knows: wait (bounded)
 * until the authoritative summary lists at least `knownCandidates` candidates, then until this
 * worker's copy holds every one of them and the parents. Instant on a shared folder.
 */
async function awaitKnownCandidates(store: ArchiveStore, input: ProposeInput, signal: AbortSignal): Promise<void> {
  if (store.backend === 'local') return;
  const layout = store.layout(input.archive.searchId);
  const boundMs = (input.archiveWaitSec ?? DEFAULT_ARCHIVE_WAIT_SEC) * 1000;
  const deadline = Date.now() + boundMs;
  const known = input.knownCandidates ?? 0;
  let ids: string[] = [];
  for (;;) {
    ids = summaryIds((await store.readCurrent(rel(store, layout.summaryJsonl))) ?? '');
    if (ids.length >= known) break;
    if (Date.now() >= deadline) {
      throw ApplicationFailure.retryable(
        `the archive's summary.jsonl of search ${input.archive.searchId} lists ${ids.length} candidates, but the search had recorded ${known} ` +
          `when it asked for ${input.candidateId}: still missing after ${boundMs / 1000} s. Is the workflow worker's NATS connection up?`,
        'ARCHIVE_WAIT_TIMEOUT',
      );
    }
    await sleep(250, undefined, { signal });
  }
  const wanted = [...new Set([...ids, ...input.parentIds])];
  await awaitCandidatesOrRetry(store, input.archive.searchId, wanted, Math.max(1000, deadline - Date.now()));
}

/** A model-calling proposer may spend no more than the candidate's allowance of the cost cap. */
function withAllowance(input: ProposeInput): ProposeInput['proposer'] {
  const p = input.proposer;
  if (p.kind !== 'anthropic' || input.costAllowanceUsd === undefined) return p;
  return { ...p, maxCostUsd: Math.min(p.maxCostUsd ?? Infinity, input.costAllowanceUsd) };
}
