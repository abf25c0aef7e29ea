import { Hono } from "hono";
import type { EventBus } from "../events.ts";
import type { LiveOutputBroker } from "../live_output.ts";
import type { Store } from "../store.ts";
import type { SchemaLimits } from "../task_schemas.ts";
import { executionRoutes } from "./executions.ts";
import { serverRoutes } from "./servers.ts";
import { taskAdminRoutes } from "./tasks_admin.ts";

/** What the fleet operations routes need. */
export interface OperationRoutesOptions {
  store: Store;
  events: EventBus;
  limits: SchemaLimits;
  clock: { now(): Date };
  live: LiveOutputBroker;
}

/**
 * The API for operating the fleet, mounted under `/api/v1`: the task lifecycle, execution
 * history with live output and kill, and the hosts.
 *
 * @example
 * ```ts
 * api.route("/", operationRoutes({ store, events, limits: config, clock, live }));
 * ```
 */
export function operationRoutes(options: OperationRoutesOptions): Hono {
  const { store, events, limits, clock, live } = options;
  const app = new Hono();
  app.route("/tasks", taskAdminRoutes({ store, events, limits, clock }));
  app.route("/servers", serverRoutes({ store }));
  app.route("/", executionRoutes({ store, events, live }));
  return app;
}
