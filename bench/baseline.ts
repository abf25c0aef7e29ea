/**
 * Running the baseline scripts of `bench/baselines/` as bare Deno processes.
 *
 * @module
 */
import { runToEnd } from "./process.ts";

/**
 * Runs `bench/baselines/<script>` with `args` and parses the JSON it prints last.
 *
 * @example
 * ```ts
 * const { lags_ms } = await runBaseline<{ lags_ms: number[] }>("croner_ticks.ts", ["--jobs", "1000"]);
 * ```
 */
export async function runBaseline<T>(script: string, args: string[]): Promise<T> {
  const path = new URL(`./baselines/${script}`, import.meta.url).pathname;
  const out = await runToEnd(Deno.execPath(), ["run", "--allow-all", path, ...args]);
  const last = out.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`Cannot read the result of baseline ${script}: ${JSON.stringify(last)}`);
  }
}
