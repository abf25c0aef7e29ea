/**
 * Summaries of measured samples.
 *
 * @module
 */

/** Percentiles of a set of durations, in the samples' unit. */
export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Summarises `samples` (nearest-rank percentiles).
 *
 * @example
 * ```ts
 * distribution([1, 2, 3, 4]); // { count: 4, p50: 2, p99: 4, max: 4, mean: 2.5 }
 * ```
 * @throws {RangeError} when there are no samples
 */
export function distribution(samples: readonly number[]): Distribution {
  if (samples.length === 0) throw new RangeError("Cannot summarise samples: there are none");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  const sum = sorted.reduce((total, x) => total + x, 0);
  return {
    count: sorted.length,
    p50: rank(50),
    p99: rank(99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

/**
 * The median of `samples`, e.g. of several memory readings.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(samples: readonly number[]): number {
  return distribution(samples).p50;
}
