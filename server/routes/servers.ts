import { Hono } from "hono";
import type { z } from "zod";
import {
  ListServersQuery,
  type ServerBody,
  type ServerDetailBody,
  type ServerPageBody,
} from "../api_schemas.ts";
import { ApiError } from "../http_errors.ts";
import { serverIdParam } from "../path_params.ts";
import { decodeCursor, pageOf, readQuery } from "../request_query.ts";
import type { Store } from "../store.ts";
import type { ServerRecord } from "../store/servers.ts";

/**
 * The hosts: `GET /servers` and `GET /servers/{server_id}`.
 *
 * @example
 * ```ts
 * api.route("/servers", serverRoutes({ store }));
 * ```
 */
export function serverRoutes({ store }: { store: Store }): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const query = readQuery(c, ListServersQuery);
    const rows = await store.listServers({
      limit: query.limit,
      after: query.cursor ? decodeCursor(query.cursor, 1)[0] : null,
      connected: query.connected === undefined ? null : query.connected === "true",
    });
    const { page, next_cursor } = pageOf(rows, query.limit, (last) => [last.id]);
    const body: z.input<typeof ServerPageBody> = { servers: page.map(serverBody), next_cursor };
    return c.json(body);
  });

  app.get("/:server_id", async (c) => {
    const serverId = serverIdParam(c.req.param("server_id"));
    const [server, running, tasks] = await Promise.all([
      store.server(serverId),
      store.serverRunningExecutions(serverId),
      store.serverTasks(serverId),
    ]);
    if (!server) throw new ApiError(404, "Server not found", { server_id: serverId });
    const body: z.input<typeof ServerDetailBody> = {
      ...serverBody(server),
      running: running.map((r) => ({
        execution_id: r.execution_id,
        task_id: r.task_id,
        scheduled_for: r.scheduled_for?.toISOString() ?? null,
        started_at: r.started_at.toISOString(),
      })),
      tasks,
    };
    return c.json(body);
  });

  return app;
}

function serverBody(row: ServerRecord): z.input<typeof ServerBody> {
  return {
    server_id: row.id,
    hostname: row.hostname,
    labels: row.labels,
    version: row.version,
    connected: row.connected,
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    running_executions: row.running_executions,
    tasks_assigned: row.tasks_assigned,
  };
}
