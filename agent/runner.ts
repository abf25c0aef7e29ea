/**
 * Running one execution of a task: `/bin/sh -c <command>` in its own process group, output
 * captured within the cap, a timeout that really stops everything the command started.
 *
 * @module
 */
import type { ExecutionResult, TaskSpec } from "../shared/protocol.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type CappedOutput, createOutputCap } from "./output_cap.ts";
import { type ChildExit, type ChildProcess, type Spawn, spawnProcessGroup } from "./spawn.ts";
import { settlesWithin } from "./timing.ts";

/** The two captured streams of an execution. */
export type OutputStream = "stdout" | "stderr";

/** What is known about an execution once its process has started. */
export interface ExecutionStart {
  execution_id: string;
  task_id: string;
  scheduled_for: string;
  started_at: string;
}

/** Identifies the execution a piece of live output belongs to. */
export interface ExecutionRef {
  execution_id: string;
  task_id: string;
}

/** Options for {@linkcode createRunner}. */
export interface RunnerOptions {
  /** This host's `server_id`, passed to the command as `TASKSCHEDULER_SERVER_ID`. */
  serverId: string;
  /** Starts processes. @default spawnProcessGroup */
  spawn?: Spawn;
  /** Source of the execution's timestamps. @default systemClock */
  clock?: Clock;
  /** Cap per output stream, in bytes. @default 1048576 */
  maxOutputBytes?: number;
  /** Milliseconds between SIGTERM and SIGKILL when an execution is stopped. @default 5000 */
  killGraceMs?: number;
  /**
   * Milliseconds to wait, once the shell has exited, for processes it left behind to close
   * stdout and stderr before they are stopped. @default 2000
   */
  pipeGraceMs?: number;
  /** The shell that runs the command with `-c`. @default "/bin/sh" */
  shell?: string;
  /** Chooses execution ids. @default crypto.randomUUID */
  newId?: () => string;
  /** Called once the process has started. */
  onStarted?: (start: ExecutionStart) => void;
  /** Called with every chunk the process writes, as it comes. */
  onOutput?: (execution: ExecutionRef, stream: OutputStream, chunk: Uint8Array) => void;
}

/** One execution in progress. */
export interface Execution {
  readonly executionId: string;
  readonly taskId: string;
  /** The complete result; never rejects. */
  readonly result: Promise<ExecutionResult>;
  /**
   * Stops the execution: SIGTERM to its process group, SIGKILL after the kill grace.
   * `reason` becomes the result's `error`. Does nothing once stopping has begun.
   */
  terminate(reason: string): void;
}

/** Runs executions of tasks. */
export interface Runner {
  /**
   * Starts an execution of `task` for the tick at `scheduledFor`. The process starts, and
   * `onStarted` / `onOutput` fire, only after `run` has returned.
   */
  run(task: TaskSpec, scheduledFor: Date): Execution;
}

/**
 * Creates a runner. Each execution runs `/bin/sh -c <command>` with stdin from `/dev/null`
 * and `TASKSCHEDULER_TASK_ID`, `TASKSCHEDULER_EXECUTION_ID`, `TASKSCHEDULER_SERVER_ID` and
 * `TASKSCHEDULER_SCHEDULED_FOR` added to the environment. Exit code 0 is a success; a
 * timeout, a signal or a failure to start leaves `exit_code` null and says why in `error`
 * (and at the end of stderr).
 *
 * @example
 * ```ts
 * const runner = createRunner({ serverId: "db-1" });
 * const execution = runner.run(task, new Date());
 * const result = await execution.result; // { exit_code: 0, stdout: "...", ... }
 * ```
 */
export function createRunner(options: RunnerOptions): Runner {
  const {
    spawn = spawnProcessGroup,
    clock = systemClock,
    killGraceMs = 5_000,
    newId = () => crypto.randomUUID(),
  } = options;
  return {
    run(task, scheduledFor) {
      const executionId = newId();
      const stopper = new Stopper(killGraceMs);
      const job = { task, scheduledFor, executionId, stopper };
      const result = execute({ ...options, spawn, clock, killGraceMs }, job).catch((err) => {
        stopper.dispose();
        return failedRun(job, clock.now(), `Execution failed: ${(err as Error).message}`);
      });
      return {
        executionId,
        taskId: task.id,
        result,
        terminate: (reason) => stopper.stop(reason),
      };
    },
  };
}

type ResolvedOptions = RunnerOptions & { spawn: Spawn; clock: Clock; killGraceMs: number };

interface Job {
  task: TaskSpec;
  scheduledFor: Date;
  executionId: string;
  stopper: Stopper;
}

async function execute(options: ResolvedOptions, job: Job): Promise<ExecutionResult> {
  const { task, scheduledFor, executionId, stopper } = job;
  const { clock, shell = "/bin/sh" } = options;
  // Start on the next microtask, so that `run()` has returned (and its caller has
  // registered the execution) before any callback fires.
  await Promise.resolve();
  if (stopper.reason !== null) return failedRun(job, clock.now(), stopper.reason);
  const env = {
    TASKSCHEDULER_TASK_ID: task.id,
    TASKSCHEDULER_EXECUTION_ID: executionId,
    TASKSCHEDULER_SERVER_ID: options.serverId,
    TASKSCHEDULER_SCHEDULED_FOR: scheduledFor.toISOString(),
  };
  const base = { execution_id: executionId, task_id: task.id, scheduled_for: iso(scheduledFor) };
  let child: ChildProcess;
  try {
    child = options.spawn(shell, ["-c", task.command], { env });
  } catch (err) {
    return failedRun(job, clock.now(), `Failed to start ${shell}: ${(err as Error).message}`);
  }
  const startedAt = clock.now();
  stopper.attach(child);
  options.onStarted?.({ ...base, started_at: iso(startedAt) });
  const timeout = task.timeout_seconds === null ? undefined : setTimeout(
    () => stopper.stop(`Timed out after ${task.timeout_seconds} s`),
    task.timeout_seconds * 1000,
  );
  try {
    const ref = { execution_id: executionId, task_id: task.id };
    const { exit, stdout, stderr } = await collect(options, child, ref, stopper);
    const error = stopper.reason ?? (exit.signal ? `Killed by signal ${exit.signal}` : null);
    return {
      ...base,
      started_at: iso(startedAt),
      finished_at: iso(clock.now()),
      exit_code: error === null ? exit.code : null,
      error,
      stdout: stdout.text,
      stderr: error === null ? stderr.text : appendLine(stderr.text, error),
      stdout_dropped_bytes: stdout.droppedBytes,
      stderr_dropped_bytes: stderr.droppedBytes,
      schedule_lag_ms: lag(scheduledFor, startedAt),
    };
  } finally {
    clearTimeout(timeout);
    stopper.dispose();
  }
}

/** Reads both streams to their end and waits for the child's exit. */
async function collect(
  options: ResolvedOptions,
  child: ChildProcess,
  ref: ExecutionRef,
  stopper: Stopper,
): Promise<{ exit: ChildExit; stdout: CappedOutput; stderr: CappedOutput }> {
  const { maxOutputBytes = 1_048_576, pipeGraceMs = 2_000, onOutput } = options;
  const out = pump(child.stdout, maxOutputBytes, (chunk) => onOutput?.(ref, "stdout", chunk));
  const err = pump(child.stderr, maxOutputBytes, (chunk) => onOutput?.(ref, "stderr", chunk));
  const exit = await child.status;
  const pipes = Promise.all([out.done, err.done]);
  if (!await settlesWithin(pipes, pipeGraceMs)) {
    // The shell is gone but something it started still holds stdout or stderr open: stop the
    // rest of its process group, as systemd does with a service's leftover processes.
    stopper.signalGroup();
    if (!await settlesWithin(pipes, options.killGraceMs + pipeGraceMs)) {
      // Only a process that left the group can still hold them; stop reading.
      out.cancel();
      err.cancel();
    }
  }
  const [stdout, stderr] = await pipes;
  return { exit, stdout, stderr };
}

interface Pump {
  done: Promise<CappedOutput>;
  cancel(): void;
}

function pump(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  onChunk: (chunk: Uint8Array) => void,
): Pump {
  const cap = createOutputCap(maxBytes);
  const reader = stream.getReader();
  const done = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        cap.push(value);
        try {
          onChunk(value);
        } catch {
          // Live output is best effort; a failing listener must not cost the result.
        }
      }
    } catch {
      // A read error ends the stream; what was read so far is kept.
    }
    return cap.finish();
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

/** Signals a child's process group once: SIGTERM, then SIGKILL after the grace. */
class Stopper {
  /** Why the execution was stopped, if it was stopped on purpose. */
  reason: string | null = null;
  #child: ChildProcess | null = null;
  #signalled = false;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  #graceMs: number;

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  attach(child: ChildProcess): void {
    this.#child = child;
    if (this.reason !== null) this.signalGroup();
  }

  stop(reason: string): void {
    if (this.reason !== null || this.#disposed) return;
    this.reason = reason;
    this.signalGroup();
  }

  signalGroup(): void {
    const child = this.#child;
    if (!child || this.#signalled || this.#disposed) return;
    this.#signalled = true;
    child.killGroup("SIGTERM");
    this.#killTimer = setTimeout(() => child.killGroup("SIGKILL"), this.#graceMs);
  }

  /** Called once the execution is over: its process group may be gone, or even reused. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#killTimer);
  }
}

/** The result of an execution whose process never ran (or could not be followed). */
function failedRun(job: Job, now: Date, error: string): ExecutionResult {
  return {
    execution_id: job.executionId,
    task_id: job.task.id,
    scheduled_for: iso(job.scheduledFor),
    started_at: iso(now),
    finished_at: iso(now),
    exit_code: null,
    error,
    stdout: "",
    stderr: appendLine("", error),
    stdout_dropped_bytes: 0,
    stderr_dropped_bytes: 0,
    schedule_lag_ms: lag(job.scheduledFor, now),
  };
}

function appendLine(text: string, line: string): string {
  if (text === "" || text.endsWith("\n")) return `${text}${line}\n`;
  return `${text}\n${line}\n`;
}

function iso(date: Date): string {
  return date.toISOString();
}

function lag(scheduledFor: Date, startedAt: Date): number {
  return Math.max(0, startedAt.getTime() - scheduledFor.getTime());
}
