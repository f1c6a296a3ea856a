// Rebuilds a search's state from its archive (summary.jsonl): how `metaswarm resume` continues a
// search whose workflow failed, was terminated or timed out, without re-running what finished.
// Pure (no I/O), so the client can call it and tests can check it.
import type { SummaryLine } from '../contract/candidate.js';
import type { SearchSpec } from '../contract/spec.js';
import { addToFrontier } from './frontier.js';
import { seedCandidateId } from './ids.js';
import { applyStep, type CandidateRef, type LineageState } from './lineage.js';
import type { SearchState } from './search-types.js';

export function rebuildState(spec: SearchSpec, lines: readonly SummaryLine[], nowMs: number): SearchState {
  const byId = new Map<string, SummaryLine>();
  for (const l of lines) byId.set(l.id, l); // the last line of an id wins
  const all = [...byId.values()];
  const seeds = spec.seeds.map((_, i) => {
    const line = byId.get(seedCandidateId(i));
    return {
      id: seedCandidateId(i),
      seedIndex: i,
      done: line !== undefined && line.status !== 'cancelled',
      ...(line?.status === 'evaluated' && line.metrics ? { score: line.metrics.score } : {}),
    };
  });
  const ref = (l: SummaryLine): CandidateRef => ({ id: l.id, lineage: l.lineage, generation: l.generation, score: l.metrics!.score });
  const evaluated = all.filter((l) => l.status === 'evaluated' && l.metrics);
  const better = (a: CandidateRef | undefined, b: CandidateRef) => (!a || b.score > a.score ? b : a);

  let baseline: CandidateRef | undefined;
  for (const l of evaluated.filter((x) => x.kind === 'seed')) baseline = better(baseline, ref(l));
  let best: CandidateRef | undefined;
  for (const l of evaluated) best = better(best, ref(l));

  const lineageCount = Math.max(spec.population, ...all.filter((l) => l.kind === 'proposal').map((l) => l.lineage + 1));
  const lineages: LineageState[] = [];
  for (let index = 0; index < lineageCount; index++) {
    const seed = seeds[index % seeds.length]!;
    const seedLine = byId.get(seed.id);
    let lineage: LineageState = {
      index,
      seedId: seed.id,
      nextStep: 1,
      headId: seed.id,
      headGeneration: 0,
      ...(seedLine?.status === 'evaluated' && seedLine.metrics ? { best: ref(seedLine) } : {}),
      stall: 0,
      proposed: 0,
      failed: 0,
      migrations: 0,
      retired: index >= spec.population,
      failedSteps: 0,
      notBeforeMs: 0,
      spentUsd: 0,
    };
    const own = all.filter((l) => l.kind === 'proposal' && l.lineage === index).sort((a, b) => a.step - b.step || (a.id < b.id ? -1 : 1));
    const steps = [...new Set(own.map((l) => l.step))];
    for (const step of steps) {
      const outcomes = own.filter((l) => l.step === step);
      lineage = applyStep(lineage, outcomes, { parent: { id: outcomes[0]!.parentIds[0] ?? seed.id, generation: outcomes[0]!.generation - 1 } });
      lineage.nextStep = step + 1;
    }
    lineages.push(lineage);
  }

  let frontier: SearchState['frontier'] = [];
  for (const l of evaluated) {
    frontier = addToFrontier(frontier, { id: l.id, lineage: l.lineage, generation: l.generation, metrics: l.metrics! }, spec.objectives);
  }
  const proposals = all.filter((l) => l.kind === 'proposal');
  return {
    startedAtMs: nowMs,
    paused: false,
    maxCandidates: spec.budget.maxCandidates,
    population: spec.population,
    seeds,
    lineages,
    counts: {
      proposed: proposals.length,
      evaluated: all.filter((l) => l.status === 'evaluated').length,
      failed: all.filter((l) => l.status === 'failed').length,
      cancelled: all.filter((l) => l.status === 'cancelled').length,
    },
    spentUsd: all.reduce((a, l) => a + (l.spentUsd ?? 0), 0),
    ...(baseline ? { baseline } : {}),
    ...(best ? { best } : {}),
    frontier,
    run: 0,
    recorded: all.length,
  };
}
