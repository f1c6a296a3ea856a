// The benchmark's result (the JSON file) and its table.
import Table from 'cli-table3';
import type { ArchivePropagationResult } from './archive-propagation.js';
import type { LoadSummary, MachineInfo } from './machine.js';
import type { OverheadResult } from './overhead.js';
import type { ScalingResult } from './scaling.js';
import type { UtilizationResult } from './utilization.js';

export interface BenchResult {
  benchmark: 'metaswarm npm run bench';
  preset: 'full' | 'quick';
  seed: number;
  machine: MachineInfo;
  /** 1-minute load average through the run: the build machines are shared. */
  load: LoadSummary;
  durationSec: number;
  /** Python interpreter of the harness and proposer. */
  python: string;
  overhead?: OverheadResult;
  utilization?: UtilizationResult;
  scaling?: ScalingResult;
  archive?: ArchivePropagationResult;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const x = (r: number) => `${r.toFixed(2)}x`;
const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

export function renderTable(r: BenchResult): string {
  const t = new Table({ head: ['', 'measured', 'baseline', 'ratio'], style: { head: [], border: [] } });
  const section = (title: string) => t.push([{ colSpan: 4, content: title }]);

  if (r.overhead) {
    const o = r.overhead;
    const s = o.settings;
    section(
      `1. whole swarm vs the same harness as direct subprocesses (${s.slots} slots: ${s.population} candidates × ${s.instanceConcurrency} instances; ${s.sleepMs} ms harness)`,
    );
    t.push(
      ['evaluations/s', o.swarm.evalsPerSec, o.direct.evalsPerSec, x(o.ratio)],
      ['evaluations, wall', `${o.swarm.evaluations}, ${sec(o.swarm.wallMs)}`, `${o.direct.evaluations}, ${sec(o.direct.wallMs)}`, ''],
      ['candidate latency p50 / p99', `${o.swarm.candidateP50Ms} / ${o.swarm.candidateP99Ms} ms`, `${o.direct.candidateP50Ms} / ${o.direct.candidateP99Ms} ms`, ''],
      ...(o.swarm.cpuMsPerEval !== null && o.direct.cpuMsPerEval !== null
        ? [['CPU per evaluation (all processes)', `${o.swarm.cpuMsPerEval} ms`, `${o.direct.cpuMsPerEval} ms`, x(o.swarm.cpuMsPerEval / o.direct.cpuMsPerEval)]]
        : []),
      ['added latency per evaluation / per candidate', `${signed(o.addedLatencyPerEvalMs)} ms / ${signed(o.addedLatencyPerCandidateMs)} ms`, '', ''],
    );
  }
  if (r.utilization) {
    const u = r.utilization;
    const s = u.settings;
    section(
      `2. slot utilization, heavy tail (${u.workload.slowRuns} of ${u.workload.harnessRuns} runs ${s.tailMin}-${s.tailMax}x slower), swarm vs generation barrier (${s.slots} slots)`,
    );
    t.push(
      ['utilization (busy slot-s ÷ slots × wall)', u.swarm.utilization, u.barrier.utilization, x(u.ratio)],
      ['wall', sec(u.swarm.wallMs), `${sec(u.barrier.wallMs)} (${u.barrier.generations} generations)`, x(u.barrier.wallMs / u.swarm.wallMs)],
      ['busy slot-seconds (same work)', u.swarm.busySlotSec, u.barrier.busySlotSec, u.sameWork ? 'same runs' : 'runs differ'],
    );
  }
  if (r.scaling) {
    const [one, many] = r.scaling.runs;
    const s = r.scaling.settings;
    section(`3. evaluator worker processes, I/O-bound harness (${s.sleepMs} ms sleep); evaluations at once per process: ${s.perProcessConcurrency}`);
    t.push(
      [`evaluations/s, ${many.workers} vs ${one.workers} worker(s)`, many.evalsPerSec, one.evalsPerSec, x(r.scaling.speedup)],
      ['evaluations, wall', `${many.evaluations}, ${sec(many.wallMs)}`, `${one.evaluations}, ${sec(one.wallMs)}`, ''],
    );
  }
  if (r.archive) {
    section('4. archive propagation: written on one worker → visible in another (NATS mirror vs local copy), p50 / p99');
    for (const l of r.archive.latency) {
      t.push([`${l.size} files (${l.files})`, `${l.p50Ms} / ${l.p99Ms} ms`, `${l.localCopyP50Ms} / ${l.localCopyP99Ms} ms`, '']);
    }
    const local = r.archive.throughput.find((th) => th.what.startsWith('local copy'));
    const prop = r.archive.throughput.find((th) => th.what.startsWith('upload + propagation'));
    if (local && prop) {
      t.push([`a ${prop.mb} MB candidate folder (${prop.files} files)`, `${prop.mbPerS} MB/s`, `${local.mbPerS} MB/s`, x(prop.mbPerS / local.mbPerS)]);
    }
  }
  const m = r.machine;
  const footer =
    `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}, ${m.date}; ` +
    `load average ${r.load.start} at start, mean ${r.load.mean}, max ${r.load.max}; ${r.durationSec} s, preset ${r.preset}`;
  return `${t.toString()}\n${footer}\n`;
}
