import { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { z } from "zod";
import {
  type ExecutionBody,
  type ExecutionPageBody,
  type ExecutionSummaryBody,
  type KillAcceptedBody,
  ListExecutionsQuery,
} from "../api_schemas.ts";
import type { EventBus } from "../events.ts";
import { auditEntry } from "../audit.ts";
import { ApiError } from "../http_errors.ts";
import type { FinalStatus, LiveEvent, LiveOutputBroker } from "../live_output.ts";
import { uuidParam } from "../path_params.ts";
import { decodePositionCursor, pageOf, readQuery } from "../request_query.ts";
import type { Store } from "../store.ts";
import type { ExecutionRecord, ExecutionSummary } from "../store/executions.ts";

/** What the execution routes need. */
export interface ExecutionRoutesOptions {
  store: Store;
  events: EventBus;
  live: LiveOutputBroker;
  /**
   * How often a live stream checks the database for its execution's end, in case the result
   * was stored by another server instance; also how often a keep-alive is sent. @default 5000
   */
  streamCheckMs?: number;
}

/**
 * Execution history, live output and kill: `GET /tasks/{id}/executions`,
 * `GET /executions/{id}`, `GET /executions/{id}/stream`, `POST /executions/{id}/kill`.
 *
 * @example
 * ```ts
 * api.route("/", executionRoutes({ store, events, live }));
 * ```
 */
export function executionRoutes(options: ExecutionRoutesOptions): Hono {
  const { store, events, live, streamCheckMs = 5_000 } = options;
  const app = new Hono();

  app.get("/tasks/:task_id/executions", async (c) => {
    const taskId = uuidParam(c.req.param("task_id"), "task");
    const query = readQuery(c, ListExecutionsQuery);
    if (!(await store.taskExists(taskId))) {
      throw new ApiError(404, "Task not found", { task_id: taskId });
    }
    const rows = await store.listExecutions(taskId, {
      limit: query.limit,
      after: query.cursor ? decodePositionCursor(query.cursor) : null,
      server_id: query.server_id ?? null,
      status: query.status ?? null,
      since: query.since ? new Date(query.since) : null,
      until: query.until ? new Date(query.until) : null,
    });
    const { page, next_cursor } = pageOf(rows, query.limit, (last) => [last.position, last.id]);
    const body: z.input<typeof ExecutionPageBody> = {
      executions: page.map(summaryBody),
      next_cursor,
    };
    return c.json(body);
  });

  app.get("/executions/:execution_id", async (c) => {
    const id = uuidParam(c.req.param("execution_id"), "execution");
    const row = await store.execution(id);
    if (!row) throw executionNotFound(id);
    const body: z.input<typeof ExecutionBody> = {
      ...summaryBody(row),
      stdout: row.stdout,
      stderr: row.stderr,
      received_at: row.received_at.toISOString(),
    };
    return c.json(body);
  });

  app.post("/executions/:execution_id/kill", async (c) => {
    const id = uuidParam(c.req.param("execution_id"), "execution");
    const host = await store.executionHost(id);
    if (!host) throw executionNotFound(id);
    if (host.status !== "TASK_EXECUTING") {
      throw new ApiError(409, "The execution is not running", {
        execution_id: id,
        execution_status: host.status,
      });
    }
    if (!host.connected) {
      throw new ApiError(409, "The host running this execution is not connected", {
        execution_id: id,
        server_id: host.server_id,
      });
    }
    await store.recordAudit(auditEntry(c, {
      action: "execution.kill",
      target_id: id,
      details: { server_id: host.server_id },
    }));
    await events.publish({ type: "execution.kill", execution_id: id, server_id: host.server_id });
    const body: z.input<typeof KillAcceptedBody> = { execution_id: id, server_id: host.server_id };
    return c.json(body, 202);
  });

  app.get("/executions/:execution_id/stream", async (c) => {
    const id = uuidParam(c.req.param("execution_id"), "execution");
    if (!(await store.execution(id))) throw executionNotFound(id);
    return streamSSE(c, (stream) => follow(stream, id));
  });

  /** Streams an execution's output until it ends, or its stored output if it has ended. */
  async function follow(stream: SSEStreamingApi, id: string): Promise<void> {
    const queue: LiveEvent[] = [];
    let wake = () => {};
    const unsubscribe = live.subscribe(id, (event) => {
      queue.push(event);
      wake();
    });
    stream.onAbort(() => wake());
    try {
      // Read after subscribing, so an end that comes in between is not missed.
      let row = await store.execution(id);
      if (row && row.status !== "TASK_EXECUTING") return await replay(stream, row);
      while (!stream.aborted) {
        for (let event = queue.shift(); event; event = queue.shift()) {
          if (event.type === "end") return await writeEnd(stream, event.final);
          await stream.writeSSE({ event: "output", data: JSON.stringify(event.chunk) });
        }
        const woken = new Promise<void>((resolve) => wake = resolve);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const checked = await Promise.race([
          woken.then(() => false),
          new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), streamCheckMs)),
        ]);
        clearTimeout(timer);
        if (!checked || stream.aborted) continue;
        row = await store.execution(id);
        if (!row || row.status !== "TASK_EXECUTING") {
          return row ? await writeEnd(stream, finalOf(row)) : undefined;
        }
        await stream.write(": still running\n\n");
      }
    } finally {
      unsubscribe();
    }
  }

  return app;
}

/** Sends the stored output of an execution that has ended, then its end. */
async function replay(stream: SSEStreamingApi, row: ExecutionRecord): Promise<void> {
  for (const name of ["stdout", "stderr"] as const) {
    const data = row[name];
    if (data) {
      await stream.writeSSE({ event: "output", data: JSON.stringify({ stream: name, data }) });
    }
  }
  await writeEnd(stream, finalOf(row));
}

async function writeEnd(stream: SSEStreamingApi, final: FinalStatus): Promise<void> {
  await stream.writeSSE({ event: "end", data: JSON.stringify(final) });
}

function finalOf(row: ExecutionRecord): FinalStatus {
  return {
    execution_id: row.id,
    status: row.status,
    exit_code: row.exit_code,
    error: row.error,
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}

function executionNotFound(id: string): ApiError {
  return new ApiError(404, "Execution not found", { execution_id: id });
}

function summaryBody(row: ExecutionSummary): z.input<typeof ExecutionSummaryBody> {
  return {
    id: row.id,
    task_id: row.task_id,
    server_id: row.server_id,
    status: row.status,
    scheduled_for: row.scheduled_for?.toISOString() ?? null,
    started_at: row.started_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
    duration_ms: row.duration_ms,
    exit_code: row.exit_code,
    error: row.error,
    truncated: row.stdout_dropped_bytes > 0 || row.stderr_dropped_bytes > 0,
    stdout_dropped_bytes: row.stdout_dropped_bytes,
    stderr_dropped_bytes: row.stderr_dropped_bytes,
    schedule_lag_ms: row.schedule_lag_ms,
    abandoned: row.abandoned,
  };
}
