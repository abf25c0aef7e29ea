/**
 * Slowing down credential guessing: failed authentications are counted per client address,
 * in memory, and an address that failed too often waits until its window ends.
 *
 * @module
 */

/** Options for {@linkcode createFailureLimiter}. */
export interface FailureLimiterOptions {
  /** Failures an address may have within one window. @default 10 */
  maxFailures?: number;
  /** Length of the window, opened by an address's first failure, in ms. @default 60_000 */
  windowMs?: number;
  /** Addresses tracked at once; beyond, the oldest are forgotten. @default 10_000 */
  maxAddresses?: number;
  /** @default the system clock */
  clock?: { now(): Date };
}

/** Counts failures per address and says who must wait. */
export interface FailureLimiter {
  /** Whole seconds `address` must still wait, or 0 when it may try. */
  retryAfter(address: string): number;
  /** Counts one failure of `address`. */
  fail(address: string): void;
}

interface Window {
  failures: number;
  since: number;
}

/**
 * Creates a fixed-window failure counter.
 *
 * @example
 * ```ts
 * const limiter = createFailureLimiter({ maxFailures: 10 });
 * if (limiter.retryAfter(address) > 0) throw tooManyFailures;
 * limiter.fail(address);
 * ```
 * @throws {RangeError} when `maxFailures` or `windowMs` is not positive
 */
export function createFailureLimiter(options: FailureLimiterOptions = {}): FailureLimiter {
  const { maxFailures = 10, windowMs = 60_000, maxAddresses = 10_000 } = options;
  const clock = options.clock ?? { now: () => new Date() };
  if (!(maxFailures > 0)) {
    throw new RangeError(`Cannot limit failures as 'maxFailures' must be positive: ${maxFailures}`);
  }
  if (!(windowMs > 0)) {
    throw new RangeError(`Cannot limit failures as 'windowMs' must be positive: ${windowMs}`);
  }
  // Insertion order is the order windows opened, so expired ones sit at the front.
  const windows = new Map<string, Window>();

  const forgetExpired = (now: number) => {
    for (const [address, window] of windows) {
      if (now - window.since < windowMs) break;
      windows.delete(address);
    }
  };

  return {
    retryAfter(address) {
      const window = windows.get(address);
      const now = clock.now().getTime();
      if (!window || window.failures < maxFailures || now - window.since >= windowMs) return 0;
      return Math.max(1, Math.ceil((window.since + windowMs - now) / 1000));
    },
    fail(address) {
      const now = clock.now().getTime();
      forgetExpired(now);
      const window = windows.get(address);
      if (window) {
        window.failures++;
        return;
      }
      windows.set(address, { failures: 1, since: now });
      if (windows.size > maxAddresses) windows.delete(windows.keys().next().value!);
    },
  };
}
