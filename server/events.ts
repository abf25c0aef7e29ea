import { z } from "zod";
import type { Logger } from "../shared/logger.ts";
import type { Sql } from "./db/database.ts";

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

/** The PostgreSQL channel task events travel on between instances. */
export const EVENT_CHANNEL = "taskscheduler_events";

const TaskEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("task.changed"), task_id: z.uuid() }),
  z.object({ type: z.literal("task.deleted"), task_id: z.uuid() }),
  z.object({ type: z.literal("task.run"), task_id: z.uuid(), server_ids: z.array(z.string()) }),
  z.object({ type: z.literal("execution.kill"), execution_id: z.uuid(), server_id: z.string() }),
]);

/**
 * An event bus over PostgreSQL LISTEN/NOTIFY, for several server instances sharing one
 * database: a publish is a NOTIFY, and every instance (this one included) hears it on its
 * LISTEN connection and hands it to its subscribers, so each hub pushes to its own agents.
 * postgres.js re-listens after a lost connection; events sent meanwhile are missed, which
 * agents make up for with the full sync they get on their next hello.
 *
 * @example
 * ```ts
 * const bus = await createPgEventBus(db.sql, logger);
 * ```
 */
export async function createPgEventBus(sql: Sql, logger: Logger): Promise<EventBus> {
  const local = createLocalEventBus();
  const listening = await sql.listen(EVENT_CHANNEL, (payload) => {
    let event;
    try {
      event = TaskEventSchema.parse(JSON.parse(payload));
    } catch (err) {
      logger.warn("Ignored a malformed task event", { payload, error: String(err) });
      return;
    }
    void local.publish(event);
  });
  return {
    async publish(event) {
      await sql.notify(EVENT_CHANNEL, JSON.stringify(event));
    },
    subscribe: local.subscribe,
    async close() {
      await listening.unlisten();
      await local.close();
    },
  };
}
