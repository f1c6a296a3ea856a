// Workflows for the telemetry tests: the real candidate workflow, and a probe that drives the
// real activities the way a search does, with outcomes the test chooses, so the metrics it then
// scrapes have known values.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ArchiveActivities, ArchiveRef, EvaluateInput, EvaluatorActivities } from '../../activities/types.js';
import type { SummaryLine } from '../../contract/candidate.js';
import { candidateWorkflow, type CandidateInput } from '../../workflows/candidate.js';

export { candidateWorkflow };

export interface ProbeInput {
  archive: ArchiveRef;
  /** A seed candidate, run for real (import, validate, evaluate). */
  candidate: CandidateInput;
  /** Recorded after the real candidate's own line, as the search would record other outcomes. */
  moreLines: SummaryLine[];
  /** An evaluation expected to throw (e.g. a task suite folder that does not exist). */
  failingEvaluation: EvaluateInput;
  /** A harness that fails validation, imported as `rejected.candidateId` and validated. */
  rejected?: { seedDir: string; validation: EvaluateInput };
}

export async function probeWorkflow(
  input: ProbeInput,
): Promise<{ status: string; evaluationError: string; rejectedValidation?: { ok: boolean } }> {
  const archive = proxyActivities<ArchiveActivities>({ taskQueue: input.candidate.queues.workflows, startToCloseTimeout: '1m' });
  const evaluator = proxyActivities<EvaluatorActivities>({
    taskQueue: input.candidate.queues.evaluators,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 1 },
  });
  await archive.initSearchArchive({ archive: input.archive, resolvedSpec: { probe: true } });
  const outcome = await executeChild(candidateWorkflow, {
    workflowId: `${workflowInfo().workflowId}-${input.candidate.candidateId}`,
    taskQueue: input.candidate.queues.workflows,
    args: [input.candidate],
  });
  const lines: SummaryLine[] = [{ ...outcome, kind: 'seed', recordedAt: new Date().toISOString() }, ...input.moreLines];
  for (const line of lines) await archive.recordOutcome({ archive: input.archive, line, frontier: [] });
  let evaluationError = '';
  try {
    await evaluator.evaluateCandidate(input.failingEvaluation);
  } catch (err) {
    evaluationError = err instanceof Error ? err.message : String(err);
  }
  if (!input.rejected) return { status: outcome.status, evaluationError };
  const { seedDir, validation } = input.rejected;
  await archive.importSeed({ archive: input.archive, candidateId: validation.candidateId, seedDir });
  const verdict = await evaluator.validateCandidate(validation);
  return { status: outcome.status, evaluationError, rejectedValidation: { ok: verdict.ok } };
}
