/**
 * Live output of running executions, from the hub to Server-Sent Events subscribers. Best
 * effort and in-process: chunks reach the subscribers of the instance the host is connected
 * to, and a short backlog lets a late subscriber see how the run began.
 *
 * @module
 */
import type { TaskStatus } from "../shared/task_status.ts";

/** A slice of what an execution printed. */
export interface OutputChunk {
  stream: "stdout" | "stderr";
  data: string;
}

/** How an execution ended, as the stream's last event tells it. */
export interface FinalStatus {
  execution_id: string;
  status: TaskStatus;
  exit_code: number | null;
  error: string | null;
  finished_at: string | null;
}

/** What a subscriber is told. */
export type LiveEvent =
  | { type: "output"; chunk: OutputChunk }
  | { type: "end"; final: FinalStatus };

/** Options for {@linkcode createLiveOutputBroker}. */
export interface LiveOutputOptions {
  /** Characters kept per execution for subscribers who come late. @default 65536 */
  backlogChars?: number;
  /** Executions whose backlog is kept; the oldest is forgotten first. @default 1000 */
  maxExecutions?: number;
}

/** Carries live output from the hub to subscribers. */
export interface LiveOutputBroker {
  /** Passes chunks an agent sent to the execution's subscribers, and keeps a backlog. */
  publish(executionId: string, chunks: OutputChunk[]): void;
  /** Tells the execution's subscribers how it ended, and forgets it. */
  finish(final: FinalStatus): void;
  /**
   * Calls `listener` with the backlog, then with every event of the execution until it ends;
   * returns the unsubscribe function.
   */
  subscribe(executionId: string, listener: (event: LiveEvent) => void): () => void;
}

interface Entry {
  backlog: OutputChunk[];
  chars: number;
  listeners: Set<(event: LiveEvent) => void>;
}

/**
 * Creates the broker.
 *
 * @example
 * ```ts
 * const live = createLiveOutputBroker();
 * const off = live.subscribe(id, (event) => console.log(event.type));
 * live.publish(id, [{ stream: "stdout", data: "hello\n" }]);
 * ```
 */
export function createLiveOutputBroker(options: LiveOutputOptions = {}): LiveOutputBroker {
  const { backlogChars = 65_536, maxExecutions = 1000 } = options;
  const entries = new Map<string, Entry>();

  function entryOf(executionId: string): Entry {
    let entry = entries.get(executionId);
    if (!entry) {
      entry = { backlog: [], chars: 0, listeners: new Set() };
      entries.set(executionId, entry);
      for (const [id, old] of entries) {
        if (entries.size <= maxExecutions) break;
        if (old.listeners.size === 0) entries.delete(id);
      }
    }
    return entry;
  }

  function keep(entry: Entry, chunk: OutputChunk): void {
    entry.backlog.push(chunk);
    entry.chars += chunk.data.length;
    while (entry.chars > backlogChars && entry.backlog.length > 1) {
      entry.chars -= entry.backlog.shift()!.data.length;
    }
  }

  return {
    publish(executionId, chunks) {
      const entry = entryOf(executionId);
      for (const chunk of chunks) {
        keep(entry, chunk);
        for (const listener of entry.listeners) listener({ type: "output", chunk });
      }
    },
    finish(final) {
      const entry = entries.get(final.execution_id);
      entries.delete(final.execution_id);
      for (const listener of entry?.listeners ?? []) listener({ type: "end", final });
    },
    subscribe(executionId, listener) {
      const entry = entryOf(executionId);
      for (const chunk of entry.backlog) listener({ type: "output", chunk });
      entry.listeners.add(listener);
      return () => {
        entry.listeners.delete(listener);
      };
    },
  };
}
