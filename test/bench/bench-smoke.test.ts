// `npm run bench -- --quick --json` end to end (its own Temporal dev server, evaluator worker
// processes, nats-server), and a check that every comparison is there with sane figures. The
// figures themselves vary with the machine's load; the checks are about what must hold on any
// machine: work was done, both sides of each comparison did the same work, utilization is a
// share, more evaluator processes do not make an I/O-bound search slower.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/report.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Every problem with a result (empty: sane). Kept apart from the run so it can be tested itself. */
function problemsOf(r: BenchResult): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => void (ok ? undefined : problems.push(what));
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const share = (x: unknown) => typeof x === 'number' && x > 0 && x <= 1;

  check(positive(r.machine?.cores) && positive(r.machine?.memoryGiB), 'machine: cores and memory');
  check(typeof r.machine?.cpuModel === 'string' && r.machine.cpuModel.length > 0, 'machine: cpu model');
  check(/^v\d+/.test(r.machine?.node ?? '') && !Number.isNaN(Date.parse(r.machine?.date ?? '')), 'machine: node version and date');
  check(typeof r.load?.mean === 'number', 'load average');

  const o = r.overhead;
  check(o !== undefined, 'comparison 1 (overhead) is missing');
  if (o) {
    check(o.swarm.evaluations > 0, 'overhead: the swarm evaluated nothing');
    check(o.swarm.failed === 0, `overhead: ${o.swarm.failed} candidates failed in the swarm`);
    check(o.direct.evaluations === o.swarm.evaluations, 'overhead: the direct baseline did not run the same evaluations');
    check(o.swarm.evaluations === o.swarm.candidates * o.settings.instances, 'overhead: evaluations ≠ candidates × instances');
    check(positive(o.swarm.evalsPerSec) && positive(o.direct.evalsPerSec) && positive(o.ratio), 'overhead: rates and ratio');
    check(Number.isFinite(o.addedLatencyPerEvalMs) && Number.isFinite(o.addedLatencyPerCandidateMs), 'overhead: added latency');
    check(positive(o.swarm.candidateP50Ms) && positive(o.direct.candidateP50Ms), 'overhead: candidate latencies');
  }

  const u = r.utilization;
  check(u !== undefined, 'comparison 2 (utilization) is missing');
  if (u) {
    check(u.workload.evaluations > 0 && u.swarm.failed === 0, 'utilization: no evaluations, or failed candidates');
    check(share(u.swarm.utilization), `utilization: swarm ${u.swarm.utilization} not in (0, 1]`);
    check(share(u.barrier.utilization), `utilization: barrier ${u.barrier.utilization} not in (0, 1]`);
    check(u.sameWork, 'utilization: the barrier did not make the same harness runs as the swarm');
    check(u.workload.slowRuns > 0, 'utilization: no run was in the heavy tail');
    check(u.swarm.peakConcurrency <= u.settings.slots && u.barrier.peakConcurrency <= u.settings.slots, 'utilization: more runs at once than slots');
    check(u.barrier.generations > 1, 'utilization: the barrier had a single generation');
  }

  const s = r.scaling;
  check(s !== undefined, 'comparison 3 (scaling) is missing');
  if (s) {
    const [one, many] = s.runs;
    check(one.workers === 1 && many.workers === 4, 'scaling: not 1 vs 4 workers');
    check(one.evaluations > 0 && one.evaluations === many.evaluations && s.sameEvaluations, 'scaling: the runs did not complete the same evaluations');
    check(one.failed === 0 && many.failed === 0, 'scaling: failed candidates');
    // 4x the slots on a sleeping harness: slower would mean the extra workers got no work.
    check(s.speedup > 1, `scaling: 4 workers were not faster (speedup ${s.speedup})`);
  }

  const a = r.archive;
  check(a !== undefined, 'comparison 4 (archive) is missing');
  if (a) {
    check(a.latency.length === 3, 'archive: latency for 3 sizes');
    for (const l of a.latency) {
      check(l.files > 0 && positive(l.p50Ms) && l.p99Ms >= l.p50Ms, `archive ${l.size}: p50/p99`);
      check(l.localCopyP50Ms >= 0 && l.localCopyP99Ms >= l.localCopyP50Ms, `archive ${l.size}: local copy p50/p99`);
    }
    check(a.throughput.every((t) => positive(t.mbPerS)), 'archive: throughput');
  }
  return problems;
}

describe('npm run bench', () => {
  it('--quick --json measures every comparison, with sane figures, and writes them to --out', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'metaswarm-bench-test-'));
    const out = path.join(dir, 'result.json');
    try {
      const run = await execa(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--json', '--out', out], {
        cwd: repoRoot,
        reject: false,
        timeout: 170_000,
      });
      if (run.exitCode !== 0) throw new Error(`bench exited ${run.exitCode}:\n${run.stderr.slice(-4000)}`);
      const result = JSON.parse(run.stdout) as BenchResult;
      expect(problemsOf(result)).toEqual([]);
      expect(result.preset).toBe('quick');
      expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(result);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the check rejects a result that is not sane', async () => {
    // A result as a broken bench would give it: the check must catch each defect.
    const good = JSON.parse(await readFile(path.join(import.meta.dirname, 'fixtures', 'bench-result.json'), 'utf8')) as BenchResult;
    expect(problemsOf(good)).toEqual([]);
    const broken = structuredClone(good);
    broken.utilization!.swarm.utilization = 1.4;
    broken.scaling!.runs[1].evaluations -= 1;
    broken.overhead!.swarm.evaluations = 0;
    delete broken.archive;
    expect(problemsOf(broken)).toEqual(
      expect.arrayContaining([
        'overhead: the swarm evaluated nothing',
        'utilization: swarm 1.4 not in (0, 1]',
        'scaling: the runs did not complete the same evaluations',
        'comparison 4 (archive) is missing',
      ]),
    );
  });
});
