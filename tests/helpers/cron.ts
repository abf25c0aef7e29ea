/** A cron expression that fires at exactly `count` ticks, one second apart, then never again. */
export interface Burst {
  frequency: string;
  /** The ticks, in order. */
  ticks: Date[];
}

/**
 * A 7-field (year included) expression firing on `count` consecutive seconds starting at
 * least `leadSeconds` from now, all within one minute (UTC), so a test knows exactly how many
 * runs to expect.
 *
 * @example
 * ```ts
 * const { frequency, ticks } = burst(3); // "41,42,43 17 9 3 12 * 2026"
 * ```
 */
export function burst(count: number, leadSeconds = 2, now = new Date()): Burst {
  if (count < 1 || count > 30) throw new RangeError(`Cannot burst ${count} ticks: use 1 to 30`);
  const first = new Date(Math.ceil(now.getTime() / 1000 + leadSeconds) * 1000);
  if (first.getUTCSeconds() + count > 60) {
    first.setUTCSeconds(60, 0);
  }
  const ticks = Array.from({ length: count }, (_, i) => new Date(first.getTime() + i * 1000));
  const seconds = ticks.map((t) => t.getUTCSeconds()).join(",");
  const frequency = [
    seconds,
    first.getUTCMinutes(),
    first.getUTCHours(),
    first.getUTCDate(),
    first.getUTCMonth() + 1,
    "*",
    first.getUTCFullYear(),
  ].join(" ");
  return { frequency, ticks };
}
