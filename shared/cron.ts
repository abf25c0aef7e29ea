import { Cron } from "croner";

/** The verdict on a cron expression: either valid with its next run, or an error to show. */
export type CronCheck = { ok: true; nextRun: Date } | { ok: false; error: string };

/**
 * Checks that `frequency` is a cron expression croner accepts (5, 6 or 7 fields, or a
 * nickname such as `@hourly`) and that it fires at least once from `from` on, in `timezone`.
 *
 * @example
 * ```ts
 * checkCron("0 0 30 2 *"); // { ok: false, error: "Cron expression never fires: '0 0 30 2 *'" }
 * checkCron("*\/5 * * * *", "Europe/Paris"); // { ok: true, nextRun: ... }
 * ```
 */
export function checkCron(frequency: string, timezone = "UTC", from = new Date()): CronCheck {
  if (!isTimezone(timezone)) {
    return { ok: false, error: `Unknown timezone: '${timezone}'` };
  }
  let job: Cron;
  try {
    job = new Cron(frequency, { paused: true, timezone, startAt: from });
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern:\s*/, "");
    return { ok: false, error: `Invalid cron expression '${frequency}': ${reason}` };
  }
  try {
    const next = job.nextRun(from);
    if (!next) return { ok: false, error: `Cron expression never fires: '${frequency}'` };
    return { ok: true, nextRun: next };
  } finally {
    job.stop();
  }
}

/** Tells whether `name` is an IANA time zone this runtime knows. */
export function isTimezone(name: string): boolean {
  if (name.trim() === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
