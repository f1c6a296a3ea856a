// The machine a benchmark ran on, and how busy it was: figures mean little without both (the
// build machines are shared, so the load average is sampled through the whole run).
import os from 'node:os';
import { round } from './stats.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machineInfo(now = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: now.toISOString(),
  };
}

export interface LoadSummary {
  /** 1-minute load average when the run started, its mean and max over the run, at the end. */
  start: number;
  mean: number;
  max: number;
  end: number;
  samples: number;
}

/** Samples the 1-minute load average every `everyMs` until stop(). */
export function sampleLoad(everyMs = 5_000): { stop(): LoadSummary } {
  const samples = [os.loadavg()[0]!];
  const timer = setInterval(() => samples.push(os.loadavg()[0]!), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(os.loadavg()[0]!);
      return {
        start: round(samples[0]!, 2),
        mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, 2),
        max: round(Math.max(...samples), 2),
        end: round(samples[samples.length - 1]!, 2),
        samples: samples.length,
      };
    },
  };
}
