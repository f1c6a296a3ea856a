// The activity contract: what the workflows may call and with what. Workflows import these types
// only; the implementations (and their side effects) live beside this file.
import type { CandidateMeta, CandidateOutcome, Metrics, ModelUsage, SummaryLine } from '../contract/candidate.js';
import type { EvaluatorSpec, GatewaySpec, ProposerSpec } from '../contract/spec.js';
import type { FrontierEntry } from '../workflows/frontier.js';

export interface ArchiveRef {
  /** Archive root folder (holds `<search-id>/`); on the nats backend, where the client keeps its copy. */
  root: string;
  searchId: string;
  /** Absent in histories recorded before the nats backend: `local`. */
  backend?: 'local' | 'nats';
  /** The object store bucket (nats backend). */
  bucket?: string;
}

export interface CandidateWork {
  archive: ArchiveRef;
  candidateId: string;
  taskDir: string;
}

export interface ProposeInput extends CandidateWork {
  parentIds: string[];
  proposer: ProposerSpec;
  specDir: string;
  /** What the proposal may spend on model calls (from the search's cost budget). */
  costAllowanceUsd?: number;
  /** Which evaluator reads the task suite (how to find its instructions); default `process`. */
  evaluatorKind?: EvaluatorSpec['kind'];
  /**
   * How many candidates the search had recorded when it scheduled this proposal: the proposer
   * starts only once its archive copy holds at least these (nats backend).
   */
  knownCandidates?: number;
  /** Bound on that wait, seconds (default 120). */
  archiveWaitSec?: number;
}

/**
 * A step's verdict plus what its model calls cost (0 without a model) and how many the gateway
 * refused for want of budget.
 */
export type StepResult = ({ ok: true } | { ok: false; reason: string }) & {
  costUsd: number;
  refusedCalls?: number;
  /** The step's model tokens by kind, for the worker's metrics. */
  usage?: Pick<ModelUsage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>;
};

export interface EvaluateInput extends CandidateWork {
  split: 'search' | 'test';
  evaluator: EvaluatorSpec;
  gateway: GatewaySpec;
  lineage: number;
  /** What this step may spend on model calls (from the search's cost budget). */
  costAllowanceUsd?: number;
  /** Bound on waiting for the candidate's harness to reach this worker's archive copy, seconds (default 120). */
  archiveWaitSec?: number;
}

export interface RecordInput {
  archive: ArchiveRef;
  line: SummaryLine;
  /** The whole frontier after this candidate: frontier.json is rewritten from it. */
  frontier: FrontierEntry[];
  /** A retried candidate: its new line replaces the old one instead of being skipped. */
  replace?: boolean;
}

export interface ArchiveActivities {
  initSearchArchive(input: { archive: ArchiveRef; resolvedSpec: unknown }): Promise<void>;
  importSeed(input: { archive: ArchiveRef; candidateId: string; seedDir: string }): Promise<void>;
  writeCandidateMeta(input: { archive: ArchiveRef; meta: CandidateMeta }): Promise<void>;
  recordOutcome(input: RecordInput): Promise<void>;
}

export interface ProposerActivities {
  propose(input: ProposeInput): Promise<StepResult>;
}

export interface EvaluatorActivities {
  validateCandidate(input: EvaluateInput): Promise<StepResult>;
  evaluateCandidate(
    input: EvaluateInput,
  ): Promise<{ metrics: Metrics; instances: number; errors: number; refusedCalls: number; usage?: StepResult['usage'] }>;
}

export type { CandidateOutcome };
