/**
 * Waiting with a deadline, leaving no timer behind.
 *
 * @module
 */

/**
 * Waits for `promise` at most `ms` milliseconds; tells whether it settled in time. The timer
 * is cleared either way, and a rejection counts as settled.
 *
 * @example
 * ```ts
 * if (!await settlesWithin(child.status, 5_000)) child.kill("SIGKILL");
 * ```
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
