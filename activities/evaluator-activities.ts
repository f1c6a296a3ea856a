// validate and evaluate, on the evaluators task queue: thin adapters over evaluators/ that add
// heartbeats, cancellation and the archive paths. A bad task suite fails at once (not retried).
// The candidate's harness is read from this worker's archive copy (waiting, bounded, for it to
// arrive on the nats backend); what an evaluation writes is published when it is complete.
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { evaluateDockerHarness, validateDockerHarness } from '../evaluators/docker/evaluator.js';
import { loadDockerSuite } from '../evaluators/docker/suite.js';
import { SpecError } from '../contract/validation-error.js';
import { evaluateHarness, validateHarness } from '../evaluators/process-evaluator.js';
import { loadTaskSuite } from '../evaluators/task-suite.js';
import type { ArchiveStore } from '../shared-fs/archive-store.js';
import { DEFAULT_ARCHIVE_WAIT_SEC, awaitCandidatesOrRetry, localArchiveAccess, type ArchiveAccess } from './archive-access.js';
import { rel } from './archive-activities.js';
import { withHeartbeat } from './heartbeat.js';
import { withModelAccess } from './model-gateway.js';
import type { ModelUsage } from '../contract/candidate.js';
import type { EvaluateInput, EvaluatorActivities } from './types.js';

/** Container names and labels carry the search, the candidate and the activity attempt. */
function dockerLabels(input: EvaluateInput) {
  return { searchId: input.archive.searchId, candidateId: input.candidateId, attempt: Context.current().info.attempt };
}

/** Configuration mistakes do not get better with retries. */
export async function nonRetryableOnSpecError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'SpecError');
    throw err;
  }
}

export function createEvaluatorActivities(access: ArchiveAccess): EvaluatorActivities {
  return {
    async validateCandidate(input: EvaluateInput) {
      return withHeartbeat(({ signal }) =>
        nonRetryableOnSpecError(async () => {
          const store = await storeWithCandidate(access, input);
          const layout = store.layout(input.archive.searchId);
          const harnessDir = layout.harnessDir(input.candidateId);
          const out = await store.outputDir(rel(store, layout.evalDir(input.candidateId, 'validate')));
          const traceFile = path.join(out.dir, 'trace.jsonl');
          const settings = input.evaluator;
          try {
            const result = await withModelAccess(input, async (model) =>
              settings.kind === 'docker'
                ? validateDockerHarness({
                    harnessDir,
                    suite: await loadDockerSuite(input.taskDir),
                    settings,
                    signal,
                    labels: dockerLabels(input),
                    ...(model ? { model, traceFile } : {}),
                  })
                : validateHarness({
                    harnessDir,
                    suite: await loadTaskSuite(input.taskDir),
                    settings,
                    signal,
                    ...(model ? { model, traceFile } : {}),
                  }),
            );
            await out.publish();
            const books = {
              costUsd: result.usage?.costUsd ?? 0,
              refusedCalls: result.usage?.refused ?? 0,
              ...(result.usage ? { usage: tokensOf(result.usage) } : {}),
            };
            return result.ok ? { ok: true as const, ...books } : { ok: false as const, reason: result.reason, ...books };
          } catch (err) {
            await out.discard();
            throw err;
          }
        }),
      );
    },

    async evaluateCandidate(input: EvaluateInput) {
      return withHeartbeat(({ signal, heartbeat }) =>
        nonRetryableOnSpecError(async () => {
          const store = await storeWithCandidate(access, input);
          const layout = store.layout(input.archive.searchId);
          const out = await store.outputDir(rel(store, layout.evalDir(input.candidateId, input.split)));
          const settings = input.evaluator;
          const common = {
            candidateId: input.candidateId,
            harnessDir: layout.harnessDir(input.candidateId),
            split: input.split,
            outDir: out.dir,
            signal,
            onProgress: (done: number, total: number) => heartbeat({ done, total }),
          };
          try {
            const summary = await withModelAccess(input, async (model) =>
              settings.kind === 'docker'
                ? evaluateDockerHarness({
                    ...common,
                    suite: await loadDockerSuite(input.taskDir),
                    settings,
                    labels: dockerLabels(input),
                    ...(model ? { model } : {}),
                  })
                : evaluateHarness({ ...common, suite: await loadTaskSuite(input.taskDir), settings, ...(model ? { model } : {}) }),
            );
            await out.publish();
            return {
              metrics: summary.metrics,
              instances: summary.instances,
              errors: summary.errors,
              refusedCalls: summary.usage?.refused ?? 0,
              ...(summary.usage ? { usage: tokensOf(summary.usage) } : {}),
            };
          } catch (err) {
            await out.discard();
            throw err;
          }
        }),
      );
    },
  };
}

/** The activities of workers without NATS (tests wrap these to inject failures). */
export const evaluatorActivities: EvaluatorActivities = createEvaluatorActivities(localArchiveAccess);

/** The search's store, once this worker's copy holds the candidate (its harness) to run. */
async function storeWithCandidate(access: ArchiveAccess, input: EvaluateInput): Promise<ArchiveStore> {
  const store = access.storeFor(input.archive);
  await awaitCandidatesOrRetry(store, input.archive.searchId, [input.candidateId], (input.archiveWaitSec ?? DEFAULT_ARCHIVE_WAIT_SEC) * 1000);
  return store;
}

/** Tokens by kind (what the worker's metrics count), without the rest of the books. */
function tokensOf(u: ModelUsage) {
  return { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cacheReadTokens: u.cacheReadTokens, cacheWriteTokens: u.cacheWriteTokens };
}
