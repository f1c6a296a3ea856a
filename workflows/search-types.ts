// The search workflow's input, carried state and status: plain JSON, small enough for history.
import type { SearchSpec } from '../contract/spec.js';
import type { FrontierEntry } from './frontier.js';
import type { CandidateRef, LineageState } from './lineage.js';

export interface TaskQueues {
  workflows: string;
  proposers: string;
  evaluators: string;
}

export interface SearchInput {
  searchId: string;
  /** The spec with every path absolute (see contract/spec-file.ts). */
  spec: SearchSpec;
  specDir: string;
  queues: TaskQueues;
  /** Present when this run continues an earlier one (continue-as-new, or `metaswarm resume`). */
  carried?: SearchState;
  /** Candidates to run again first (`metaswarm retry-failed` on a closed search). */
  retry?: RetryRequest[];
}

/** A finished candidate to run again (it failed for an infrastructure reason). */
export interface RetryRequest {
  id: string;
  kind: 'seed' | 'proposal';
  lineage: number;
  step: number;
  generation: number;
  parentIds: string[];
  /** Its harness is in the archive: evaluate that one again instead of proposing anew. */
  reuseHarness: boolean;
}

export interface SeedState {
  id: string;
  seedIndex: number;
  done: boolean;
  score?: number;
}

export interface SearchState {
  startedAtMs: number;
  paused: boolean;
  maxCandidates: number;
  population: number;
  seeds: SeedState[];
  lineages: LineageState[];
  counts: { proposed: number; evaluated: number; failed: number; cancelled: number };
  /** Model spend of finished candidates (proposals, validations, evaluations), USD. */
  spentUsd: number;
  /** The largest allowance with which a candidate still had model calls refused (cost cap). */
  starvedAllowanceUsd?: number;
  baseline?: CandidateRef;
  best?: CandidateRef;
  frontier: FrontierEntry[];
  /** How many runs this search has had (1 + continue-as-new count). */
  run: number;
  /**
   * Lines known to be in summary.jsonl (records that succeeded): a proposer waits until its
   * archive copy holds that many. Absent in state carried from before the nats backend.
   */
  recorded?: number;
}

export type SearchPhase = 'running' | 'paused' | 'stopping' | 'completed' | 'stopped';

export interface SearchStatus {
  searchId: string;
  phase: SearchPhase;
  stopReason?: string;
  archive: string;
  startedAt: string;
  elapsedMs: number;
  budget: { maxCandidates: number; proposed: number; maxWallTimeSec?: number; maxCostUsd?: number; spentUsd: number };
  counts: SearchState['counts'];
  population: number;
  baseline?: CandidateRef;
  best?: CandidateRef;
  lineages: Array<{
    index: number;
    headId: string;
    best?: CandidateRef;
    proposed: number;
    failed: number;
    stall: number;
    migrations: number;
    spentUsd: number;
    running: string[];
    retired: boolean;
  }>;
  frontier: FrontierEntry[];
  running: string[];
  run: number;
}
