/**
 * What the hub pushes to connected hosts when something happens elsewhere in the server: a
 * task placed on (or taken off) the hosts its targets select, a task to run now, an execution
 * to kill.
 *
 * @module
 */
import type { Logger } from "../shared/logger.ts";
import type { ServerMessage } from "../shared/protocol.ts";
import type { TaskEvent } from "./events.ts";
import type { Store } from "./store.ts";

/** A connected host, as pushes need it. */
export interface PushTarget {
  /** The ids of the tasks the host was last sent (sync and upserts, less deletes). */
  tasks: Set<string>;
}

/** Options for {@linkcode createHubPushes}. */
export interface HubPushesOptions<C extends PushTarget> {
  store: Pick<Store, "taskPlacement" | "recordTaskSentToHosts" | "taskSpecForRun">;
  logger: Logger;
  /** The hosts connected to this instance, by `server_id`. */
  hosts: Map<string, C>;
  send: (connection: C, message: ServerMessage) => void;
}

/**
 * Creates the pushes: `handle(event)` sends what `event` means to the hosts connected here.
 * A host is sent `task.upsert` when an active task targets it and `task.delete` when it holds
 * a task that is paused, deleted or no longer targets it.
 *
 * @example
 * ```ts
 * const pushes = createHubPushes({ store, logger, hosts: byHost, send });
 * events.subscribe((event) => void pushes.handle(event));
 * ```
 */
export function createHubPushes<C extends PushTarget>(options: HubPushesOptions<C>) {
  const { store, logger, hosts, send } = options;

  async function placeTask(taskId: string): Promise<void> {
    const placement = await store.taskPlacement(taskId, [...hosts.keys()]);
    const { task } = placement;
    const targeted = task ? placement.targeted.filter((id) => hosts.has(id)) : [];
    // One statement for every host, not one each: with many hosts, waiting for the pool
    // before each send was most of the time a new task took to reach them.
    if (task) await store.recordTaskSentToHosts(task, targeted);
    const receiving = new Set(targeted);
    for (const [serverId, connection] of hosts) {
      if (task && receiving.has(serverId)) {
        connection.tasks.add(taskId);
        send(connection, { type: "task.upsert", task });
      } else if (connection.tasks.delete(taskId)) {
        send(connection, { type: "task.delete", task_id: taskId });
      }
    }
  }

  async function runTask(taskId: string, serverIds: string[]): Promise<void> {
    const here = serverIds.flatMap((id) => hosts.has(id) ? [[id, hosts.get(id)!] as const] : []);
    if (here.length === 0) return;
    const task = await store.taskSpecForRun(taskId);
    if (!task) return;
    for (const [serverId, connection] of here) {
      logger.info("Asked a host to run a task now", { task_id: taskId, server_id: serverId });
      send(connection, { type: "task.run", task });
    }
  }

  return {
    async handle(event: TaskEvent): Promise<void> {
      if (hosts.size === 0) return;
      switch (event.type) {
        case "task.changed":
        case "task.deleted":
          return await placeTask(event.task_id);
        case "task.run":
          return await runTask(event.task_id, event.server_ids);
        case "execution.kill": {
          const connection = hosts.get(event.server_id);
          if (!connection) return;
          logger.info("Asked a host to kill an execution", { ...event });
          send(connection, { type: "execution.kill", execution_id: event.execution_id });
        }
      }
    },
  };
}
