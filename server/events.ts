/**
 * A change other parts of the server (and other instances) must hear about: a task changed
 * (created, patched, paused, resumed, retargeted) or was deleted, a task must run now on some
 * hosts, or an execution must be killed on its host. The hub holding a host's connection acts.
 */
export type TaskEvent =
  | { type: "task.changed"; task_id: string }
  | { type: "task.deleted"; task_id: string }
  | { type: "task.run"; task_id: string; server_ids: string[] }
  | { type: "execution.kill"; execution_id: string; server_id: string };

/** Publishes task events to every subscriber, possibly across server instances. */
export interface EventBus {
  publish(event: TaskEvent): Promise<void>;
  /** Calls `handler` for every event; returns the unsubscribe function. */
  subscribe(handler: (event: TaskEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * An event bus within one process; the seam where a PostgreSQL LISTEN/NOTIFY bus carries
 * the same events between instances.
 *
 * @example
 * ```ts
 * const bus = createLocalEventBus();
 * bus.subscribe((event) => console.log(event.type));
 * await bus.publish({ type: "task.changed", task_id: id });
 * ```
 */
export function createLocalEventBus(): EventBus {
  const handlers = new Set<(event: TaskEvent) => void>();
  return {
    publish(event) {
      for (const handler of handlers) handler(event);
      return Promise.resolve();
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    close() {
      handlers.clear();
      return Promise.resolve();
    },
  };
}
