/**
 * Keeps one croner job per task, exactly in step with the task set the server sends.
 *
 * @module
 */
import { Cron } from "croner";
import { checkCron, cronZone } from "../shared/cron.ts";
import { createLogger, type Logger } from "../shared/logger.ts";
import type { AgentMessage, TaskSpec } from "../shared/protocol.ts";
import type { TaskStore } from "./task_store.ts";

/** The agent's verdict on one task revision. */
export type TaskAnswer = Extract<AgentMessage, { type: "task.accepted" | "task.rejected" }>;

/** What started a run: a tick of the schedule, or a request to run the task now. */
export type Trigger = "schedule" | "manual";

/** A tick (or a run asked for now) that came while the previous run of the task was going. */
export interface SkippedTick {
  task_id: string;
  scheduled_for: string;
  /** Ticks of this task skipped so far, this one included. */
  skipped: number;
  trigger: Trigger;
}

/** Options for {@linkcode createScheduler}. */
export interface SchedulerOptions {
  /** Where the task set is persisted. */
  store: TaskStore;
  /** Starts an execution for a tick; the promise settles when that execution is over. */
  onTick: (task: TaskSpec, scheduledFor: Date, trigger: Trigger) => Promise<unknown>;
  /** Receives `task.accepted` / `task.rejected` for every task the server sends. */
  onAnswer?: (answer: TaskAnswer) => void;
  /** Told about every skipped tick. */
  onSkip?: (skip: SkippedTick) => void;
  /** @default createLogger() */
  logger?: Logger;
}

/** A task this agent has a job for. */
export interface ScheduledTask {
  task_id: string;
  revision: number;
}

/** The local schedule. */
export interface Scheduler {
  /** Schedules the persisted task set (no answers: the server is not listening yet). */
  load(): Promise<number>;
  /** Replaces the whole task set: stops jobs not in it, adds new ones, replaces changed ones. */
  sync(tasks: TaskSpec[]): Promise<void>;
  /** Adds or replaces one task when its revision is newer than the one held. */
  upsert(task: TaskSpec): Promise<void>;
  /** Stops and forgets one task. */
  remove(taskId: string): Promise<void>;
  /**
   * Runs `task` once now, outside its schedule (it need not be scheduled here), unless a run
   * of it is still going: then the request is skipped like a tick. Tells whether it started.
   */
  runNow(task: TaskSpec, at: Date): boolean;
  /** Stops every job for good; running executions are left alone. */
  stop(): void;
  /** The tasks that have a job, by task id. */
  scheduled(): ScheduledTask[];
  /** How many ticks of `taskId` were skipped because the previous run was still going. */
  skippedTicks(taskId: string): number;
}

interface Entry {
  task: TaskSpec;
  job: Cron | null;
  rejection: string | null;
}

/**
 * Creates the scheduler. Each tick calls `onTick` unless the previous run of the same task
 * is still going: then the tick is skipped, counted, logged and reported to `onSkip`.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({
 *   store,
 *   onTick: (task, at) => runner.run(task, at).result,
 *   onAnswer: (answer) => connection.send(answer),
 * });
 * await scheduler.load();
 * await scheduler.sync(tasksFromServer);
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, onTick, onAnswer, onSkip, logger = createLogger() } = options;
  const entries = new Map<string, Entry>();
  /** Revision of each deleted task, so a late upsert cannot bring it back. */
  const tombstones = new Map<string, number>();
  const running = new Map<string, Promise<unknown>>();
  const skipped = new Map<string, number>();
  let stopped = false;

  function tick(task: TaskSpec, scheduledFor: Date, trigger: Trigger = "schedule"): boolean {
    if (stopped) return false;
    if (running.has(task.id)) {
      const count = (skipped.get(task.id) ?? 0) + 1;
      skipped.set(task.id, count);
      const skip = {
        task_id: task.id,
        scheduled_for: scheduledFor.toISOString(),
        skipped: count,
        trigger,
      };
      logger.info("Skipped a tick: the previous run is still going", skip);
      onSkip?.(skip);
      return false;
    }
    const run = Promise.resolve()
      .then(() => onTick(task, scheduledFor, trigger))
      .catch((err) => logger.error("Tick failed", { task_id: task.id, error: String(err) }))
      .finally(() => {
        if (running.get(task.id) === run) running.delete(task.id);
      });
    running.set(task.id, run);
    return true;
  }

  function put(task: TaskSpec, answer: boolean): void {
    entries.get(task.id)?.job?.stop();
    const entry = install(task, (task, at) => void tick(task, at));
    entries.set(task.id, entry);
    if (entry.rejection !== null) {
      logger.warn("Task rejected", { task_id: task.id, reason: entry.rejection });
    }
    if (answer) onAnswer?.(answerOf(entry));
  }

  function persist(): Promise<void> {
    const tasks = [...entries.values()].map((entry) => entry.task);
    return store.save(tasks).catch((err) =>
      logger.error("Cannot save the task set", { error: (err as Error).message })
    );
  }

  return {
    async load() {
      const tasks = await store.load();
      for (const task of tasks) if (!stopped) put(task, false);
      logger.info("Loaded the saved task set", { count: tasks.length });
      return tasks.length;
    },
    async sync(tasks) {
      if (stopped) return;
      const wanted = new Set(tasks.map((task) => task.id));
      for (const [id, entry] of entries) {
        if (wanted.has(id)) continue;
        entry.job?.stop();
        entries.delete(id);
      }
      tombstones.clear();
      for (const task of tasks) {
        const current = entries.get(task.id);
        if (current && sameTask(current.task, task)) onAnswer?.(answerOf(current));
        else put(task, true);
      }
      const rejected = [...entries.values()].filter((entry) => entry.rejection !== null).length;
      logger.info("Tasks synced", { count: tasks.length, rejected });
      await persist();
    },
    async upsert(task) {
      if (stopped) return;
      const current = entries.get(task.id);
      const held = current?.task.revision ?? tombstones.get(task.id) ?? -1;
      if (current && task.revision === held && sameTask(current.task, task)) {
        onAnswer?.(answerOf(current));
        return;
      }
      if (task.revision <= held) {
        logger.debug("Ignored a stale task update", { task_id: task.id, revision: task.revision });
        return;
      }
      tombstones.delete(task.id);
      put(task, true);
      await persist();
    },
    async remove(taskId) {
      if (stopped) return;
      const entry = entries.get(taskId);
      if (!entry) return;
      entry.job?.stop();
      entries.delete(taskId);
      tombstones.set(taskId, entry.task.revision);
      logger.info("Task deleted", { task_id: taskId });
      await persist();
    },
    runNow: (task, at) => tick(task, at, "manual"),
    stop() {
      stopped = true;
      for (const entry of entries.values()) entry.job?.stop();
    },
    scheduled() {
      return [...entries.values()]
        .filter((entry) => entry.job !== null)
        .map(({ task }) => ({ task_id: task.id, revision: task.revision }));
    },
    skippedTicks: (taskId) => skipped.get(taskId) ?? 0,
  };
}

/** Creates the job for `task`, or says why it cannot be scheduled. */
function install(task: TaskSpec, tick: (task: TaskSpec, scheduledFor: Date) => void): Entry {
  const rejection = task.command.trim() === ""
    ? "Command is empty"
    : checkCronError(task.frequency, task.timezone);
  if (rejection !== null) return { task, job: null, rejection };
  try {
    // croner fires with the time it actually fires at; the planned tick is the next run it
    // announced before firing, which differs when the event loop was busy past the tick.
    let planned: Date | null = null;
    const job = new Cron(task.frequency, cronZone(task.timezone), (self: Cron) => {
      const scheduledFor = planned !== null && planned.getTime() <= Date.now()
        ? planned
        : latestMatch(self);
      planned = self.nextRun();
      tick(task, scheduledFor);
    });
    planned = job.nextRun();
    return { task, job, rejection: null };
  } catch (err) {
    return { task, job: null, rejection: `Invalid cron expression: ${(err as Error).message}` };
  }
}

function answerOf({ task, rejection }: Entry): TaskAnswer {
  const { id: task_id, revision } = task;
  return rejection === null
    ? { type: "task.accepted", task_id, revision }
    : { type: "task.rejected", task_id, revision, reason: rejection.slice(0, 1000) };
}

function checkCronError(frequency: string, timezone: string): string | null {
  const check = checkCron(frequency, timezone);
  return check.ok ? null : check.error;
}

/** The latest match not after now: the tick being fired when the planned one is unknown. */
function latestMatch(job: Cron): Date {
  const now = Date.now();
  return job.previousRuns(1, new Date(now + 1))[0] ?? new Date(now);
}

function sameTask(a: TaskSpec, b: TaskSpec): boolean {
  return a.revision === b.revision && a.command === b.command && a.frequency === b.frequency &&
    a.timezone === b.timezone && a.timeout_seconds === b.timeout_seconds;
}
