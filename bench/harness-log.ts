// The bench harness's own record of when it ran (examples/bench-swarm/seed/main.py appends one
// line per run to $BENCH_LOG_DIR/<tag>.jsonl). Busy slot-seconds come from here for the swarm and
// the baselines alike, so both are measured by the same clock in the same way.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface HarnessRunRecord {
  candidate: string;
  instance: string;
  /** Seconds since the epoch: process start (before its imports) and just before it answers. */
  start: number;
  end: number;
  sleepMs: number;
}

export async function readHarnessLog(dir: string, tag: string): Promise<HarnessRunRecord[]> {
  const text = await readFile(path.join(dir, `${tag}.jsonl`), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HarnessRunRecord);
}

/** Σ (end − start) in seconds: slot-seconds during which a harness process was running. */
export function busySeconds(records: readonly HarnessRunRecord[]): number {
  return records.reduce((a, r) => a + (r.end - r.start), 0);
}

/** The most runs that overlapped at any moment (a check that no schedule exceeded its slots). */
export function peakConcurrency(records: readonly HarnessRunRecord[]): number {
  const events = records.flatMap((r) => [
    [r.start, 1],
    [r.end, -1],
  ] as const);
  // Ends before starts at the same instant: a slot freed and taken again is not an overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) {
    now += d;
    peak = Math.max(peak, now);
  }
  return peak;
}
