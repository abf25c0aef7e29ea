/**
 * Small builders shared by the agent tests.
 *
 * @module
 */
import type { TaskSpec } from "../../shared/protocol.ts";

/**
 * A task spec with sensible defaults: a fresh id, every second, UTC, no timeout, revision 1.
 *
 * @example
 * ```ts
 * const task = makeTask({ command: "echo hi", frequency: "* * * * * *" });
 * ```
 */
export function makeTask(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id: crypto.randomUUID(),
    command: "true",
    frequency: "* * * * * *",
    timezone: "UTC",
    timeout_seconds: null,
    revision: 1,
    ...overrides,
  };
}

/**
 * Tells whether process `pid` still runs (a zombie waiting to be reaped counts as gone).
 *
 * @example
 * ```ts
 * isProcessAlive(Deno.pid); // true
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2).charAt(0);
    return state !== "Z" && state !== "X";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Resolves true once process `pid` is gone, false if it still runs after `timeoutMs`. A
 * process whose pipes just closed may still be finishing its exit, so a check right after
 * its output ended needs a moment; there is no event to await for a process that is not
 * our child, hence the polling.
 *
 * @example
 * ```ts
 * assert.equal(await processEnds(pid), true);
 * ```
 */
export async function processEnds(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
