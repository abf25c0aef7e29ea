/**
 * Baseline of benchmark 1: croner alone, in a bare Deno process, firing `--jobs` callbacks
 * every second. Each callback notes how late it runs after its tick (a whole second, as the
 * jobs fire every second). Prints `{"lags_ms": [...]}`.
 *
 * ```sh
 * deno run bench/baselines/croner_ticks.ts --jobs 1000 --seconds 20 --warmup 5
 * ```
 *
 * @module
 */
import { Cron } from "croner";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "1000" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "5" },
  },
});
const jobs = Number(values.jobs);
const measureFrom = Math.ceil(Date.now() / 1000) * 1000 + Number(values.warmup) * 1000;
const measureTo = measureFrom + Number(values.seconds) * 1000;

const lags: number[] = [];
const crons = Array.from({ length: jobs }, () =>
  new Cron("* * * * * *", () => {
    const now = Date.now();
    const tick = Math.floor(now / 1000) * 1000;
    if (tick >= measureFrom && tick < measureTo) lags.push(now - tick);
  }));
await new Promise((resolve) => setTimeout(resolve, measureTo + 500 - Date.now()));
for (const cron of crons) cron.stop();
console.log(JSON.stringify({ lags_ms: lags }));
