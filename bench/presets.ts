// Sizes of one benchmark run. `full` (the default) keeps a run under ~5 minutes on 2 cores,
// `quick` under ~90 s (the smoke test uses it). Sleeps are chosen so that the quantity each
// comparison is about dominates: a 5 ms harness for the swarm's per-evaluation overhead,
// heavy-tailed sleeps for slot utilization, 200+ ms waits (I/O, not CPU) for worker scaling.

export interface OverheadSizes {
  /** Lineages = candidates evaluated at once. */
  population: number;
  /** Instances of one candidate at once (evaluator.concurrency). */
  instanceConcurrency: number;
  instances: number;
  sleepMs: number;
  /** Proposals; the search also evaluates one seed per lineage. */
  maxCandidates: number;
}

export interface UtilizationSizes extends OverheadSizes {
  /** Share of candidates slow on every instance, and of (candidate, instance) pairs slow. */
  pCandidate: number;
  pInstance: number;
  /** A slow evaluation sleeps this many times sleepMs, uniformly in [min, max]. */
  tailMin: number;
  tailMax: number;
}

export interface ScalingSizes extends OverheadSizes {
  /** --evaluator-concurrency of every evaluator process, the same in both runs. */
  perProcessConcurrency: number;
  /** Evaluator processes of the two runs compared. */
  workers: [number, number];
}

export interface Sizes {
  overhead: OverheadSizes;
  utilization: UtilizationSizes;
  scaling: ScalingSizes;
  /** Multiplies the archive benchmark's file counts (bench/archive-propagation.ts). */
  archiveScale: number;
}

export const PRESETS: Record<'full' | 'quick', Sizes> = {
  full: {
    overhead: { population: 4, instanceConcurrency: 2, instances: 12, sleepMs: 5, maxCandidates: 28 },
    utilization: {
      population: 4,
      instanceConcurrency: 2,
      instances: 6,
      sleepMs: 50,
      maxCandidates: 20,
      pCandidate: 0.1,
      pInstance: 0.08,
      tailMin: 10,
      tailMax: 50,
    },
    // One evaluation at once per process and 8 lineages: both runs are bound by evaluation slots
    // (1 vs 4), not by the lineages' own sequence of steps. 400 ms sleeps: on 2 shared cores the
    // 4-worker run must stay short of CPU, or it measures the CPU instead of the slots.
    scaling: { population: 8, instanceConcurrency: 2, instances: 4, sleepMs: 400, maxCandidates: 16, perProcessConcurrency: 1, workers: [1, 4] },
    archiveScale: 0.5,
  },
  quick: {
    overhead: { population: 2, instanceConcurrency: 2, instances: 4, sleepMs: 5, maxCandidates: 6 },
    utilization: {
      population: 3,
      instanceConcurrency: 2,
      instances: 4,
      sleepMs: 40,
      maxCandidates: 6,
      pCandidate: 0.1,
      pInstance: 0.08,
      tailMin: 10,
      tailMax: 50,
    },
    scaling: { population: 4, instanceConcurrency: 2, instances: 3, sleepMs: 150, maxCandidates: 4, perProcessConcurrency: 1, workers: [1, 4] },
    archiveScale: 0.1,
  },
};
