/**
 * For benchmark 7: croner alone holding `--jobs` jobs (once a year, as the idle agent's tasks),
 * kept alive while the bench reads the process's memory; the bench stops it.
 *
 * @module
 */
import { Cron } from "croner";
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { jobs: { type: "string" } } });
const jobs = Array.from(
  { length: Number(values.jobs ?? 1000) },
  () => new Cron("0 0 1 1 *", { utcOffset: 0 }, () => {}),
);
setTimeout(() => jobs.forEach((job) => job.stop()), 600_000);
