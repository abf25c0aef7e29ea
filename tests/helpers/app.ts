import postgres from "postgres";
import type { Context, Hono } from "hono";
import { createLogger, type Logger } from "../../shared/logger.ts";
import { createApp } from "../../server/app.ts";
import { parseConfig } from "../../server/config.ts";
import type { Sql } from "../../server/db/database.ts";
import { migrate, readMigrations } from "../../server/db/migrate.ts";
import { createLocalEventBus, type EventBus } from "../../server/events.ts";
import { createHub, type Hub, hubLimits } from "../../server/hub.ts";
import { createLiveOutputBroker, type LiveOutputBroker } from "../../server/live_output.ts";
import { createMetrics, type Metrics } from "../../server/metrics.ts";
import { createStore, type Store } from "../../server/store.ts";
import { generateToken, hashToken, type Role } from "../../server/tokens.ts";
import { startTestDatabase, type TestDatabase } from "./postgres.ts";

/** Sends requests through the app in-process, with one token or none. */
export interface Requester {
  /**
   * Sends a JSON request (or a raw string body) and returns status and parsed body; an
   * `Authorization` header in `headers` replaces the requester's own.
   */
  request(method: string, path: string, body?: unknown, headers?: HeadersInit): Promise<Reply>;
}

/** A token created for a test. */
export interface TestToken {
  id: string;
  token: string;
}

/** Options for {@linkcode startTestApp}. */
export interface TestAppOptions {
  /** Passed to `createApp`; by default every in-process request comes from `unknown`. */
  clientAddress?: (c: Context) => string;
  /** Passed to `createApp`. @default the system clock */
  clock?: { now(): Date };
}

/**
 * An in-process app on a fresh, migrated database. `request()` sends the admin token
 * `adminToken`; `as(token)` sends another, `as(null)` none.
 */
export interface TestApp extends Requester {
  app: Hono;
  sql: Sql;
  store: Store;
  events: EventBus;
  database: TestDatabase;
  /** The agent hub, also serving `/api/v1/agents/connect`. */
  hub: Hub;
  /** The live output the hub publishes and execution streams read. */
  live: LiveOutputBroker;
  /** The metrics shared by the app and the hub. */
  metrics: Metrics;
  /** Where the app is served on loopback, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Log lines the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** An admin token, stored like any other; `request()` sends it. */
  adminToken: string;
  /** Sends requests with `token`, or with no credentials at all for null. */
  as(token: string | null): Requester;
  /** Stores a new token of `role` (no audit entry); agent tokens need `serverId`. */
  createToken(role: Role, options?: { name?: string; serverId?: string }): Promise<TestToken>;
  /**
   * Creates a task as admin (`echo hi` every minute unless `fields` say otherwise) and
   * returns its id.
   */
  createTask(fields?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A response with its parsed JSON body. */
export interface Reply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A logger that keeps the parsed lines in `lines`. */
export function memoryLogger(lines: Record<string, unknown>[] = []): Logger {
  return createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
}

/**
 * Starts the app in-process on its own migrated database, with its hub, served on a free
 * loopback port; `env` overrides configuration. An admin token is created first.
 *
 * @example
 * ```ts
 * await using t = await startTestApp();
 * const reply = await t.request("POST", "/api/v1/tasks/create", { command, frequency });
 * ```
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = await startTestDatabase();
  const sql = postgres(database.url, { max: 5, onnotice: () => {} });
  const logs: Record<string, unknown>[] = [];
  const logger = memoryLogger(logs);
  await migrate(sql, await readMigrations(), logger);
  const store = createStore(sql);
  const events = createLocalEventBus();
  const config = parseConfig(env);
  const live = createLiveOutputBroker();
  const metrics = createMetrics({ store, logger });
  const hub = createHub({
    live,
    metrics,
    store,
    events,
    logger,
    instanceId: "test-instance",
    ...hubLimits(config),
  });
  const app = createApp({ config, store, events, logger, hub, live, metrics, ...options });
  const createToken: TestApp["createToken"] = async (role, { name, serverId } = {}) => {
    const token = generateToken();
    const { id } = await store.insertToken({
      id: crypto.randomUUID(),
      name: name ?? `test ${role}`,
      role,
      server_id: serverId ?? null,
      token_hash: hashToken(token),
      created_by: "test",
    });
    return { id, token };
  };
  const { token: adminToken } = await createToken("admin", { name: "test admin" });
  const as = (token: string | null): Requester => ({
    async request(method, path, body, headers) {
      const h = new Headers(headers);
      if (token !== null && !h.has("authorization")) h.set("authorization", `Bearer ${token}`);
      const init: RequestInit = { method, headers: h };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        if (!h.has("content-type")) h.set("content-type", "application/json");
      }
      const res = await app.request(path, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
    },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const close = async () => {
    await hub.close();
    await server.shutdown();
    await events.close();
    await sql.end({ timeout: 5 });
    await database.close();
  };
  const { request } = as(adminToken);
  return {
    app,
    sql,
    store,
    events,
    hub,
    live,
    metrics,
    url: `http://127.0.0.1:${server.addr.port}`,
    database,
    logs,
    adminToken,
    as,
    createToken,
    request,
    async createTask(fields = {}) {
      const task = { command: "echo hi", frequency: "* * * * *", ...fields };
      const reply = await request("POST", "/api/v1/tasks/create", task);
      if (reply.status !== 201) throw new Error(`Create answered ${reply.status}`);
      return reply.body.command_id;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
