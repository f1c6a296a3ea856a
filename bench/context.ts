// What every measurement gets from the run (bench/run.ts): the stack, the inputs, where to write.
import type { BenchStack } from './bench-stack.js';
import type { Workload } from './workload.js';
import type { TaskQueues } from '../workflows/search-types.js';

export interface BenchContext {
  stack: BenchStack;
  workload: Workload;
  /** The searches' archive root. */
  archiveDir: string;
  /** BENCH_LOG_DIR of the baselines' harness runs (the swarm's evaluators have their own). */
  directLogDir: string;
  say: (m: string) => void;
}

/** A swarm to run searches on: in-process workflow/proposer workers + evaluator processes. */
export interface SwarmTarget {
  queues: TaskQueues;
  /** BENCH_LOG_DIR of its evaluator processes. */
  logDir: string;
}
