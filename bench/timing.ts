/**
 * Waiting, bounded: every wait of the bench ends by itself.
 *
 * @module
 */

/** Options for {@linkcode waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Named in the timeout error. */
  what: string;
  /** Pause between tries. @default 50 */
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns true; an error it throws ends the wait.
 *
 * @example
 * ```ts
 * await waitUntil(() => agent.isConnected(), { timeoutMs: 10_000, what: "the agent" });
 * ```
 * @throws {Error} when `timeoutMs` passes first
 */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  options: WaitUntilOptions,
): Promise<void> {
  const { timeoutMs, what, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Resolves with `promise`'s value, or rejects once `ms` have passed.
 *
 * @example
 * ```ts
 * await withTimeout(agent.synced, 30_000, "the agent's sync");
 * ```
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
