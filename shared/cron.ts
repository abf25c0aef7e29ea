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
    job = new Cron(frequency, { paused: true, ...cronZone(timezone), startAt: from });
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

/**
 * The croner option that puts a job in `timezone`. UTC is given as a fixed offset: with a
 * `timezone`, croner converts every date it considers through `Intl.DateTimeFormat`, which
 * makes computing a next run several times slower, for an answer that is the same in UTC.
 *
 * @example
 * ```ts
 * new Cron("* * * * *", { ...cronZone("Europe/Paris") }, () => {});
 * ```
 */
export function cronZone(timezone: string): { timezone: string } | { utcOffset: number } {
  return timezone === "UTC" ? { utcOffset: 0 } : { timezone };
}

/** Time zones found valid so far; there are a few hundred, so the set stays small. */
const knownTimezones = new Set<string>();

/** Tells whether `name` is an IANA time zone this runtime knows. */
export function isTimezone(name: string): boolean {
  if (knownTimezones.has(name)) return true;
  if (name.trim() === "") return false;
  try {
    // Creating a formatter is the one check that follows the runtime's own time zone data,
    // and it is slow: each valid name is checked once.
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    knownTimezones.add(name);
    return true;
  } catch {
    return false;
  }
}
