/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 20_000 */
  timeoutMs?: number;
  /** Pause between tries. @default 25 */
  intervalMs?: number;
  /** Named in the timeout error. @default "a condition" */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`, `null` or `false`, and
 * returns that value; an error `probe` throws ends the wait. A guard against hangs, not a timing assertion: the timeout is generous.
 *
 * @example
 * ```ts
 * const row = await waitFor(() => store.taskStatus(id), { what: "the task" });
 * ```
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 25, what = "a condition" } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as T;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}
