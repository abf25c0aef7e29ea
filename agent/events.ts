/**
 * The events an agent emits, so that callers (and tests) can follow what it does without
 * polling or sleeping.
 *
 * @module
 */
import type { ExecutionResult } from "../shared/protocol.ts";
import type { CloseInfo } from "./connection.ts";
import type { ExecutionStart } from "./runner.ts";
import type { SkippedTick, TaskAnswer } from "./scheduler.ts";
import type { ClaimOutcome } from "./tick_claims.ts";

/** Every event an agent emits, with the `detail` it carries. */
export interface AgentEventMap {
  /** A connection opened and `hello` was sent on it. */
  connected: { url: string };
  /** An open connection ended. */
  disconnected: CloseInfo;
  /** A `sync` from the server was applied. */
  synced: { count: number };
  /** The agent accepted a task revision (sent as `task.accepted` when connected). */
  "task:accepted": TaskAnswer;
  /** The agent refused a task revision (sent as `task.rejected` when connected). */
  "task:rejected": TaskAnswer;
  /** An execution's process started. */
  "execution:started": ExecutionStart;
  /** An execution ended; its result is in the spool (and was sent if connected). */
  "execution:finished": ExecutionResult;
  /** The server acknowledged a result, which left the spool. */
  acked: { execution_id: string };
  /** A tick came while the previous run of its task was still going. */
  "tick:skipped": SkippedTick;
  /** The server answered (or could not answer) a claim on a tick of a mode `one` task. */
  "tick:claimed": { task_id: string; scheduled_for: string; outcome: ClaimOutcome };
  /** The server asked to run a task now; `started` is false when a run of it was going. */
  "run:requested": { task_id: string; started: boolean };
  /** The server asked to kill an execution; `found` tells whether it was running here. */
  "kill:requested": { execution_id: string; found: boolean };
  /** The agent finished shutting down. */
  stopped: Record<string, never>;
}

/** The name of an agent event. */
export type AgentEventName = keyof AgentEventMap;

/**
 * An `EventTarget` whose events are `CustomEvent`s typed by {@linkcode AgentEventMap}.
 *
 * @example
 * ```ts
 * const events = new AgentEvents();
 * const off = events.on("acked", ({ execution_id }) => console.log(execution_id));
 * events.emit("acked", { execution_id: "..." });
 * off();
 * ```
 */
export class AgentEvents extends EventTarget {
  /** Dispatches `name` with `detail`. */
  emit<K extends AgentEventName>(name: K, detail: AgentEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** Calls `listener` with the detail of every `name` event; returns a function to stop. */
  on<K extends AgentEventName>(name: K, listener: (detail: AgentEventMap[K]) => void): () => void {
    const handler = (event: Event) => listener((event as CustomEvent<AgentEventMap[K]>).detail);
    this.addEventListener(name, handler);
    return () => this.removeEventListener(name, handler);
  }
}
