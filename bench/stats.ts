// Small numeric helpers shared by the benchmark's measurements.

/** The p-th percentile (nearest rank) of `values`; 0 for none. */
export function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export function mean(values: readonly number[]): number {
  return values.length ? sum(values) / values.length : 0;
}

/** Rounds to `digits` decimals (figures in the JSON stay readable). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Milliseconds since an arbitrary origin, monotonic (wall times of runs). */
export function nowMs(): number {
  return performance.now();
}
