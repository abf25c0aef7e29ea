import { Hono } from "hono";
import type { z } from "zod";
import { checkCron } from "../../shared/cron.ts";
import { TaskStatus } from "../../shared/task_status.ts";
import {
  ListTasksQuery,
  type RunAcceptedBody,
  type TaskBody,
  type TaskDetailBody,
  type TaskPageBody,
} from "../api_schemas.ts";
import type { EventBus } from "../events.ts";
import { auditEntry } from "../audit.ts";
import { ApiError } from "../http_errors.ts";
import { uuidParam } from "../path_params.ts";
import { readJsonBody } from "../request_body.ts";
import { decodePositionCursor, pageOf, readQuery } from "../request_query.ts";
import type { Store } from "../store.ts";
import type { TaskDefinition, TaskHostRow, TaskRecord } from "../store/tasks.ts";
import { type SchemaLimits, taskSchemas, type UpdateTaskBody } from "../task_schemas.ts";

/** What the task lifecycle routes need. */
export interface TaskAdminRoutesOptions {
  store: Store;
  events: EventBus;
  limits: SchemaLimits;
  clock: { now(): Date };
  /** Picks the host of a mode `one` run-now among the connected ones. @default Math.random */
  random?: () => number;
}

const INVALID = { status: TaskStatus.Invalid };
/** Attempts at a PATCH that races with another change of the same task. */
const PATCH_ATTEMPTS = 3;

/**
 * The task lifecycle: list, read, change, pause, resume, delete, and run now.
 *
 * @example
 * ```ts
 * api.route("/tasks", taskAdminRoutes({ store, events, limits, clock }));
 * ```
 */
export function taskAdminRoutes(options: TaskAdminRoutesOptions): Hono {
  const { store, events, limits, clock, random = Math.random } = options;
  const { UpdateTaskBody } = taskSchemas(limits);
  const app = new Hono();

  const detail = async (taskId: string) => {
    const [task, hosts] = await Promise.all([store.task(taskId), store.taskHosts(taskId)]);
    if (!task) throw taskNotFound(taskId);
    return taskDetailBody(task, hosts);
  };
  const liveTask = async (taskId: string) => {
    const task = await store.task(taskId);
    if (!task || task.state === "deleted") throw taskNotFound(taskId);
    return task;
  };

  app.get("/", async (c) => {
    const query = readQuery(c, ListTasksQuery);
    const rows = await store.listTasks({
      limit: query.limit,
      after: query.cursor ? decodePositionCursor(query.cursor) : null,
      states: query.state ?? ["active", "paused"],
      status: query.status ?? null,
      q: query.q ?? null,
    });
    const { page, next_cursor } = pageOf(rows, query.limit, (last) => [last.position, last.id]);
    const body: z.input<typeof TaskPageBody> = { tasks: page.map(taskBody), next_cursor };
    return c.json(body);
  });

  app.get("/:task_id", async (c) => {
    return c.json(await detail(uuidParam(c.req.param("task_id"), "task")));
  });

  app.patch("/:task_id", async (c) => {
    const taskId = uuidParam(c.req.param("task_id"), "task");
    const body = await readJsonBody(c, UpdateTaskBody, { invalidExtra: INVALID });
    if (Object.keys(body).length === 0) {
      throw new ApiError(422, "Nothing to change: name at least one field", INVALID);
    }
    for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      const current = await liveTask(taskId);
      const next = changedDefinition(current, body);
      const cron = checkCron(next.frequency, next.timezone, clock.now());
      if (!cron.ok) {
        const field = cron.error.startsWith("Unknown timezone") ? "timezone" : "frequency";
        throw new ApiError(422, cron.error, { ...INVALID, field });
      }
      const updated = await store.transaction(async (tx) => {
        if (!(await tx.updateTask(taskId, current.revision, next))) return false;
        await tx.recordAudit(auditEntry(c, {
          action: "task.update",
          target_id: taskId,
          details: { fields: Object.keys(body).join(","), revision: current.revision + 1 },
        }));
        return true;
      });
      if (updated) {
        await events.publish({ type: "task.changed", task_id: taskId });
        return c.json(await detail(taskId));
      }
    }
    throw new ApiError(409, "The task kept changing while this change was applied; try again");
  });

  app.delete("/:task_id", async (c) => {
    const taskId = uuidParam(c.req.param("task_id"), "task");
    const deleted = await store.transaction(async (tx) => {
      if (!(await tx.deleteTask(taskId, clock.now()))) return false;
      await tx.recordAudit(auditEntry(c, { action: "task.delete", target_id: taskId }));
      return true;
    });
    if (!deleted) throw taskNotFound(taskId);
    await events.publish({ type: "task.deleted", task_id: taskId });
    return c.body(null, 204);
  });

  for (const [action, paused] of [["pause", true], ["resume", false]] as const) {
    app.post(`/:task_id/${action}`, async (c) => {
      const taskId = uuidParam(c.req.param("task_id"), "task");
      const changed = await store.transaction(async (tx) => {
        const changed = await tx.setTaskPaused(taskId, paused);
        if (changed) {
          await tx.recordAudit(auditEntry(c, { action: `task.${action}`, target_id: taskId }));
        }
        return changed;
      });
      if (changed === undefined) throw taskNotFound(taskId);
      if (changed) await events.publish({ type: "task.changed", task_id: taskId });
      return c.json(await detail(taskId));
    });
  }

  app.post("/:task_id/run", async (c) => {
    const taskId = uuidParam(c.req.param("task_id"), "task");
    const found = await store.taskRunTargets(taskId);
    if (!found) throw taskNotFound(taskId);
    if (found.connected.length === 0) {
      throw new ApiError(409, "No connected host is targeted by this task", { task_id: taskId });
    }
    const serverIds = found.task.mode === "one"
      ? [found.connected[Math.floor(random() * found.connected.length)]]
      : found.connected;
    await store.recordAudit(auditEntry(c, {
      action: "task.run",
      target_id: taskId,
      details: { server_ids: serverIds.join(",") },
    }));
    await events.publish({ type: "task.run", task_id: taskId, server_ids: serverIds });
    const body: z.input<typeof RunAcceptedBody> = { task_id: taskId, server_ids: serverIds };
    return c.json(body, 202);
  });

  return app;
}

function taskNotFound(taskId: string): ApiError {
  return new ApiError(404, "Task not found", { task_id: taskId });
}

/** The task's definition with `change` applied; `null` clears a timeout or targets. */
function changedDefinition(current: TaskRecord, change: UpdateTaskBody): TaskDefinition {
  return {
    command: change.command ?? current.command,
    frequency: change.frequency ?? current.frequency,
    timezone: change.timezone ?? current.timezone,
    timeout_seconds: change.timeout_seconds === undefined
      ? current.timeout_seconds
      : change.timeout_seconds,
    targets: change.targets === undefined ? current.targets : change.targets ?? {},
    mode: change.mode ?? current.mode,
  };
}

/**
 * A task as the API shows it.
 *
 * @example
 * ```ts
 * c.json(taskBody(await store.task(id)));
 * ```
 */
export function taskBody(task: TaskRecord): z.input<typeof TaskBody> {
  return {
    id: task.id,
    command: task.command,
    frequency: task.frequency,
    timezone: task.timezone,
    timeout_seconds: task.timeout_seconds,
    targets: task.targets,
    mode: task.mode,
    state: task.state,
    revision: task.revision,
    status: task.status,
    latest_complete_execution_timestamp: task.latest_complete_at?.toISOString() ?? null,
    created_at: task.created_at.toISOString(),
    updated_at: task.updated_at.toISOString(),
    deleted_at: task.deleted_at?.toISOString() ?? null,
  };
}

function taskDetailBody(task: TaskRecord, hosts: TaskHostRow[]): z.input<typeof TaskDetailBody> {
  return {
    ...taskBody(task),
    hosts: hosts.map((host) => ({
      server_id: host.server_id,
      connected: host.connected,
      state: host.state,
      revision: host.revision,
      reason: host.reason,
      updated_at: host.updated_at?.toISOString() ?? null,
      latest_execution: host.latest_execution_id && host.latest_status && host.latest_started_at
        ? {
          id: host.latest_execution_id,
          status: host.latest_status,
          started_at: host.latest_started_at.toISOString(),
          finished_at: host.latest_finished_at?.toISOString() ?? null,
        }
        : null,
    })),
  };
}
