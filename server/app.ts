import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "../shared/logger.ts";
import { authenticate } from "./auth.ts";
import type { Config } from "./config.ts";
import type { EventBus } from "./events.ts";
import { ApiError } from "./http_errors.ts";
import type { Hub } from "./hub.ts";
import { createFailureLimiter } from "./rate_limit.ts";
import { auditRoutes } from "./routes/audit.ts";
import { createLiveOutputBroker, type LiveOutputBroker } from "./live_output.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { apiOperations } from "./api_operations.ts";
import { openApiDocument } from "./openapi.ts";
import { agentRoutes } from "./routes/agents.ts";
import { DOCS_CONTENT_POLICY, docsRoutes } from "./routes/docs.ts";
import { operationRoutes } from "./routes/operations.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { securityHeaders } from "./security_headers.ts";
import type { Store } from "./store.ts";

/** The app's dependencies; only `main.ts` builds the real ones. */
export interface AppDeps {
  config: Pick<
    Config,
    "maxBodyBytes" | "maxCommandBytes" | "maxOutputBytes" | "apiToken" | "authFailureLimit"
  >;
  store: Store;
  events: EventBus;
  logger: Logger;
  clock?: { now(): Date };
  /** The agent hub; without it `/api/v1/agents/connect` is not served. */
  hub?: Hub;
  /** The caller's address for the audit log and the rate limit. @default the peer address */
  clientAddress?: (c: Context) => string;
  /** Live output the hub publishes, for the execution streams. @default a broker of its own */
  live?: LiveOutputBroker;
  /** Shared with the hub, rendered at `/metrics`. @default metrics of its own */
  metrics?: Metrics;
}

/**
 * Builds the HTTP app: open health probes and the REST API behind bearer tokens, with one
 * error handler that turns every failure into a JSON answer.
 *
 * @example
 * ```ts
 * const app = createApp({ config, store, events, logger });
 * Deno.serve(app.fetch);
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const { config, store, events, logger, clock = { now: () => new Date() } } = deps;
  const { live = createLiveOutputBroker(), metrics = createMetrics({ store, logger }) } = deps;
  const app = new Hono();

  app.use(securityHeaders({ pagePolicies: { "/docs": DOCS_CONTENT_POLICY } }));
  app.use(requestId());
  app.use(accessLog(logger));
  app.use(metrics.http);

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await store.ping();
      return c.json({ status: "ready" });
    } catch (err) {
      logger.warn("Database is not answering", { error: String(err) });
      return c.json({ status: "unavailable", error: "Database is not answering" }, 503);
    }
  });

  const auth = authenticate({
    store,
    apiToken: config.apiToken,
    limiter: createFailureLimiter({ maxFailures: config.authFailureLimit, clock }),
    logger,
    clientAddress: deps.clientAddress,
    clock,
  });
  const api = new Hono();
  api.use(auth);
  api.use(bodyLimit({
    maxSize: config.maxBodyBytes,
    onError: () => {
      throw new ApiError(413, `Request body is larger than ${config.maxBodyBytes} bytes`);
    },
  }));
  api.route("/tasks", taskRoutes({ store, events, limits: config, clock, metrics }));
  api.route("/tokens", tokenRoutes({ store, hub: deps.hub }));
  api.route("/audit", auditRoutes({ store }));
  api.route("/", operationRoutes({ store, events, limits: config, clock, live }));
  if (deps.hub) api.route("/agents", agentRoutes(deps.hub));
  const openApi = openApiDocument(apiOperations(config), {
    title: "taskscheduler",
    version: "1",
    description: "Cron-scheduled shell commands on a fleet of hosts.",
  });
  api.get("/openapi.json", (c) => c.json(openApi));
  app.route("/api/v1", api);
  app.route("/docs", docsRoutes(openApi));
  app.get("/metrics", auth, async (c) => {
    c.header("Content-Type", metrics.registry.contentType);
    return c.body(await metrics.render());
  });

  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status);
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: err.message || "Bad request" }, err.status);
    }
    const id = c.get("requestId");
    logger.error("Request failed", { request_id: id, error: String(err), stack: err.stack });
    return c.json({ error: "Internal server error", request_id: id }, 500);
  });
  return app;
}

/** One log line per request, with its id, route, status and duration. */
function accessLog(logger: Logger): MiddlewareHandler {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    logger.info("Request", {
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
