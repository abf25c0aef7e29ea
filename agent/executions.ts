/**
 * The executions in flight on this host: started on ticks, handed to delivery when they end,
 * drained at shutdown.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import type { ExecutionResult, TaskSpec } from "../shared/protocol.ts";
import type { Delivery } from "./delivery.ts";
import type { LiveOutput } from "./live_output.ts";
import type { Execution, ExecutionRef, Runner } from "./runner.ts";
import { settlesWithin } from "./timing.ts";

/** Options for {@linkcode createExecutions}. */
export interface ExecutionsOptions {
  runner: Runner;
  delivery: Delivery;
  live: LiveOutput;
  /** Told about every result once it is spooled and sent. */
  onFinished?: (result: ExecutionResult) => void;
  /** @default createLogger() */
  logger?: Logger;
}

/** What runs on this host now. */
export interface Executions {
  /** Starts an execution; settles once its result is spooled and sent (if connected). */
  run(task: TaskSpec, scheduledFor: Date): Promise<void>;
  /** The executions whose result is not spooled yet, as `hello` reports them. */
  running(): ExecutionRef[];
  /**
   * Stops a running execution (SIGTERM to its process group, SIGKILL after the grace) with
   * `reason` as its error; tells whether it was running here.
   */
  kill(executionId: string, reason: string): boolean;
  /**
   * Waits up to `graceMs` for the running executions, stops those still going with
   * `reason`, and resolves once every result is spooled.
   */
  drain(graceMs: number, reason: string): Promise<void>;
}

/**
 * Creates the set of executions in flight.
 *
 * @example
 * ```ts
 * const executions = createExecutions({ runner, delivery, live });
 * await executions.run(task, scheduledFor);
 * await executions.drain(30_000, "Stopped at agent shutdown");
 * ```
 */
export function createExecutions(options: ExecutionsOptions): Executions {
  const { runner, delivery, live, onFinished, logger = createLogger() } = options;
  const inFlight = new Map<string, { execution: Execution; done: Promise<void> }>();

  async function finish(result: ExecutionResult): Promise<void> {
    live.end(result.execution_id);
    await delivery.keep(result);
    // Only once spooled does it stop counting as running in a hello.
    inFlight.delete(result.execution_id);
    delivery.send(result);
    logger.info("Execution finished", {
      task_id: result.task_id,
      execution_id: result.execution_id,
      exit_code: result.exit_code,
      error: result.error,
      duration_ms: Date.parse(result.finished_at) - Date.parse(result.started_at),
    });
    onFinished?.(result);
  }

  async function settled(): Promise<void> {
    while (inFlight.size > 0) await Promise.all([...inFlight.values()].map((entry) => entry.done));
  }

  return {
    run(task, scheduledFor) {
      const execution = runner.run(task, scheduledFor);
      const done = execution.result.then(finish).catch((err) => {
        inFlight.delete(execution.executionId);
        logger.error("Cannot deliver a result", {
          execution_id: execution.executionId,
          error: String(err),
        });
      });
      inFlight.set(execution.executionId, { execution, done });
      return done;
    },
    running() {
      return [...inFlight.values()].map(({ execution }) => ({
        execution_id: execution.executionId,
        task_id: execution.taskId,
      }));
    },
    kill(executionId, reason) {
      const entry = inFlight.get(executionId);
      entry?.execution.terminate(reason);
      return entry !== undefined;
    },
    async drain(graceMs, reason) {
      if (inFlight.size === 0) return;
      if (!await settlesWithin(settled(), graceMs)) {
        for (const { execution } of inFlight.values()) execution.terminate(reason);
      }
      await settled();
    },
  };
}
