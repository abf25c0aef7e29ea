import { Hono } from "hono";
import { checkCron } from "../../shared/cron.ts";
import { auditEntry } from "../audit.ts";
import { assertReportsForItself } from "../auth.ts";
import { isUuid } from "../../shared/ids.ts";
import { type CompletedStatus, TaskStatus } from "../../shared/task_status.ts";
import type { EventBus } from "../events.ts";
import { ApiError } from "../http_errors.ts";
import type { Metrics } from "../metrics.ts";
import { readJsonBody } from "../request_body.ts";
import type { ReportedExecution, Store } from "../store.ts";
import { type ReportStatusBody, type SchemaLimits, taskSchemas } from "../task_schemas.ts";
import { statusBody } from "../task_status.ts";

/** What the task routes need. */
export interface TaskRoutesOptions {
  store: Store;
  events: EventBus;
  limits: SchemaLimits;
  clock: { now(): Date };
  /** Counts the executions reported over HTTP. */
  metrics?: Pick<Metrics, "executionsStored">;
}

const INVALID = { status: TaskStatus.Invalid };

/**
 * The spec's task routes: create, read status, report a result over HTTP.
 *
 * @example
 * ```ts
 * app.route("/api/v1/tasks", taskRoutes({ store, events, limits, clock }));
 * ```
 */
export function taskRoutes(options: TaskRoutesOptions): Hono {
  const { store, events, limits, clock, metrics } = options;
  const { CreateTaskBody, ReportStatusBody } = taskSchemas(limits);
  const app = new Hono();

  app.post("/create", async (c) => {
    const body = await readJsonBody(c, CreateTaskBody, { invalidExtra: INVALID });
    const timezone = body.timezone ?? "UTC";
    const cron = checkCron(body.frequency, timezone, clock.now());
    if (!cron.ok) {
      const field = cron.error.startsWith("Unknown timezone") ? "timezone" : "frequency";
      throw new ApiError(422, cron.error, { ...INVALID, field });
    }
    const id = crypto.randomUUID();
    const timeout_seconds = body.timeout_seconds ?? null;
    const targets = body.targets ?? {};
    const mode = body.mode ?? "all";
    const task = await store.createTaskAudited(
      {
        id,
        command: body.command,
        frequency: body.frequency,
        timezone,
        timeout_seconds,
        targets,
        mode,
      },
      auditEntry(c, {
        action: "task.create",
        target_id: id,
        details: {
          command: body.command,
          frequency: body.frequency,
          timezone,
          timeout_seconds,
          mode,
          targets: JSON.stringify(targets),
        },
      }),
    );
    await events.publish({ type: "task.changed", task_id: task.id });
    return c.json({ command_id: task.id }, 201);
  });

  app.get("/:task_id/status", async (c) => {
    const taskId = taskIdParam(c.req.param("task_id"));
    const row = await store.taskStatus(taskId);
    if (!row) throw taskNotFound(taskId);
    return c.json(statusBody(row));
  });

  app.put("/:task_id/status", async (c) => {
    const taskId = taskIdParam(c.req.param("task_id"));
    const body = await readJsonBody(c, ReportStatusBody);
    assertReportsForItself(c, body.server_id);
    if (!(await store.taskExists(taskId))) throw taskNotFound(taskId);
    const run = reportedExecution(taskId, body, clock.now());
    const outcome = await store.insertReportedExecution(run).catch((err) => {
      // The task was deleted between the check and the insert.
      if (err?.code === "23503") throw taskNotFound(taskId);
      throw err;
    });
    if (outcome === "conflict") {
      throw new ApiError(409, "execution_id is already used by another task or host", {
        field: "execution_id",
      });
    }
    if (outcome === "inserted") {
      metrics?.executionsStored([{ status: run.status, schedule_lag_ms: null }]);
    }
    // An agent reads back only what its own host reported.
    const row = await store.taskStatus(
      taskId,
      c.get("principal").role === "agent" ? body.server_id : undefined,
    );
    if (!row) throw taskNotFound(taskId);
    return c.json(statusBody(row));
  });

  return app;
}

function taskIdParam(value: string): string {
  if (!isUuid(value)) throw new ApiError(400, `Malformed task id: '${value}' is not a UUID`);
  return value.toLowerCase();
}

function taskNotFound(taskId: string): ApiError {
  return new ApiError(404, "Task not found", { task_id: taskId });
}

/** Turns a PUT body into a completed execution, settling its status and times. */
function reportedExecution(taskId: string, body: ReportStatusBody, now: Date): ReportedExecution {
  const finishedAt = body.finished_at ? new Date(body.finished_at) : now;
  const startedAt = body.started_at ? new Date(body.started_at) : finishedAt;
  if (startedAt > finishedAt) {
    throw new ApiError(422, "started_at must not be after finished_at", { field: "started_at" });
  }
  return {
    id: body.execution_id?.toLowerCase() ?? crypto.randomUUID(),
    task_id: taskId,
    server_id: body.server_id,
    status: reportedStatus(body),
    started_at: startedAt,
    finished_at: finishedAt,
    exit_code: body.exit_code ?? null,
    stdout: body.stdout,
    stderr: body.stderr,
  };
}

function reportedStatus(body: ReportStatusBody): CompletedStatus {
  const fromExit = body.exit_code == null
    ? undefined
    : body.exit_code === 0
    ? TaskStatus.CompletedSuccess
    : TaskStatus.CompletedError;
  if (body.status && fromExit && body.status !== fromExit) {
    throw new ApiError(422, `status ${body.status} contradicts exit_code ${body.exit_code}`, {
      field: "status",
    });
  }
  if (body.status) return body.status;
  if (fromExit) return fromExit;
  return body.stderr === "" ? TaskStatus.CompletedSuccess : TaskStatus.CompletedError;
}
