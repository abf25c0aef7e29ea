/**
 * Baseline of benchmark 2: a bare `Deno.Command` loop starting `/bin/sh -c true` with
 * `--concurrency` children at a time, each with stdin from /dev/null and stdout and stderr
 * piped and read to their end, as the agent does. Prints `{"executions", "seconds"}`.
 *
 * ```sh
 * deno run bench/baselines/spawn_loop.ts --concurrency 4 --seconds 10 --warmup 2
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    concurrency: { type: "string", default: "1" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
  },
});
const start = performance.now();
const measureFrom = start + Number(values.warmup) * 1000;
const measureTo = measureFrom + Number(values.seconds) * 1000;
let executions = 0;

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done) { /* discard */ }
}

async function worker(): Promise<void> {
  while (performance.now() < measureTo) {
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", "true"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await Promise.all([drain(child.stdout), drain(child.stderr), child.status]);
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) executions++;
  }
}

await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
console.log(JSON.stringify({ executions, seconds: Number(values.seconds) }));
