// CPU time of a set of processes, from Linux's /proc/<pid>/stat: the process's own user + system
// time plus that of its children it has waited for (harness and proposer processes, once they
// exit). On a shared machine a wall-clock ratio moves with everyone else's load; the CPU a piece
// of work costs does not, so the overhead comparison reports both.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime + cutime + cstime of `pid` in seconds, or undefined (no /proc, or it is gone). */
export async function processCpuSec(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 11-14 counted from the state (3).
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  if ([utime, stime, cutime, cstime].some((n) => n === undefined || Number.isNaN(n))) return undefined;
  return (utime! + stime! + cutime! + cstime!) / clockTicks();
}

/** A reading of the CPU of `pids` now; `since()` gives the seconds used by them after it. */
export async function cpuMeter(pids: readonly number[]): Promise<{ since(): Promise<number | undefined> }> {
  const at = async () => {
    const each = await Promise.all(pids.map(processCpuSec));
    return each.some((x) => x === undefined) ? undefined : each.reduce((a, b) => a! + b!, 0);
  };
  const start = await at();
  return {
    async since() {
      const end = await at();
      return start === undefined || end === undefined ? undefined : end - start;
    },
  };
}
