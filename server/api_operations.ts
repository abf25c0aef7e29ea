/**
 * The route table: every route the server answers, with the zod schemas its handler reads
 * and answers with. The OpenAPI document is generated from it, and a test checks that it
 * lists exactly the routes the app serves.
 *
 * @module
 */
import { z } from "zod";
import {
  AuditPageBody,
  AuditQuery,
  CreateTokenBody,
  ErrorBody,
  ExecutionBody,
  ExecutionIdParams,
  ExecutionPageBody,
  HealthBody,
  KillAcceptedBody,
  ListExecutionsQuery,
  ListServersQuery,
  ListTasksQuery,
  RunAcceptedBody,
  ServerDetailBody,
  ServerIdParams,
  ServerPageBody,
  StreamEventBody,
  TaskCreatedBody,
  TaskDetailBody,
  TaskIdParams,
  TaskPageBody,
  TaskStatusResponseBody,
  TokenBody,
  TokenCreatedBody,
  TokenIdParams,
  TokenListBody,
} from "./api_schemas.ts";
import type { Operation, ResponseSpec } from "./openapi.ts";
import { type SchemaLimits, taskSchemas } from "./task_schemas.ts";

const ERRORS: Record<number, string> = {
  400:
    "Malformed request: bad JSON, unknown fields (named in `fields`), a bad id or query parameter",
  401: "No valid token: missing, malformed, unknown or revoked (`WWW-Authenticate: Bearer`)",
  403: "The token's role may not make this call, or an agent speaks for another host",
  404: "No such resource",
  409: "Conflicts with the resource's state (see `error`)",
  413: "Request body too large",
  415: "Body not sent as application/json",
  422: "A field is missing or has a bad value (`field` names it)",
  429: "Too many failed authentications from this address; see `Retry-After`",
  503: "The database does not answer",
};

function errors(...codes: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(
    codes.map((code) => [code, { description: ERRORS[code], schema: ErrorBody }]),
  );
}

/** The bodies a refused task change answers with: `{"status": "TASK_INVALID", ...}`. */
const TaskInvalidBody = ErrorBody.extend({ status: z.literal("TASK_INVALID") });

/**
 * Every operation, for the configured limits.
 *
 * @example
 * ```ts
 * const document = openApiDocument(apiOperations(config), { title, version });
 * ```
 */
export function apiOperations(limits: SchemaLimits): Operation[] {
  const { CreateTaskBody, UpdateTaskBody, ReportStatusBody } = taskSchemas(limits);
  const invalid = {
    422: { description: ERRORS[422] + "; `status` is TASK_INVALID", schema: TaskInvalidBody },
  };
  const task = { tag: "tasks", params: TaskIdParams };
  const execution = { tag: "executions", params: ExecutionIdParams };
  const operations: Operation[] = [
    {
      method: "post",
      path: "/api/v1/tasks/create",
      operationId: "createTask",
      tag: "tasks",
      summary: "Create a task",
      description: "Cron times are UTC unless `timezone` is given; a task without `targets` " +
        "runs on every host; `mode: one` runs each tick on exactly one connected host.",
      body: CreateTaskBody,
      responses: {
        201: { description: "Created", schema: TaskCreatedBody },
        ...errors(400, 413, 415),
        ...invalid,
      },
    },
    {
      ...task,
      method: "get",
      path: "/api/v1/tasks/{task_id}/status",
      operationId: "getTaskStatus",
      summary: "A task's status, from its latest execution over all hosts",
      responses: {
        200: { description: "The status", schema: TaskStatusResponseBody },
        ...errors(400, 404),
      },
    },
    {
      ...task,
      method: "put",
      path: "/api/v1/tasks/{task_id}/status",
      operationId: "reportTaskResult",
      summary: "Report a completed run over HTTP",
      body: ReportStatusBody,
      responses: {
        200: { description: "Stored (also when already stored)", schema: TaskStatusResponseBody },
        ...errors(400, 404, 409, 413, 415, 422),
      },
    },
    {
      method: "get",
      path: "/api/v1/tasks",
      operationId: "listTasks",
      tag: "tasks",
      summary: "List tasks, newest first",
      query: ListTasksQuery,
      responses: { 200: { description: "A page", schema: TaskPageBody }, ...errors(400) },
    },
    {
      ...task,
      method: "get",
      path: "/api/v1/tasks/{task_id}",
      operationId: "getTask",
      summary: "A task's definition and each host's state (deleted tasks too)",
      responses: { 200: { description: "The task", schema: TaskDetailBody }, ...errors(400, 404) },
    },
    {
      ...task,
      method: "patch",
      path: "/api/v1/tasks/{task_id}",
      operationId: "updateTask",
      summary: "Change a task; agents reschedule at once",
      description: "Fields left out are kept; `null` clears `timeout_seconds` or `targets`.",
      body: UpdateTaskBody,
      responses: {
        200: { description: "The changed task", schema: TaskDetailBody },
        ...errors(400, 404, 409, 413, 415),
        ...invalid,
      },
    },
    {
      ...task,
      method: "delete",
      path: "/api/v1/tasks/{task_id}",
      operationId: "deleteTask",
      summary: "Delete a task; agents unschedule it, its history stays until retention",
      responses: { 204: { description: "Deleted" }, ...errors(400, 404) },
    },
    ...(["pause", "resume"] as const).map((action): Operation => ({
      ...task,
      method: "post",
      path: `/api/v1/tasks/{task_id}/${action}`,
      operationId: `${action}Task`,
      summary: action === "pause"
        ? "Pause a task: agents unschedule it until it is resumed"
        : "Resume a paused task",
      responses: {
        200: { description: "The task", schema: TaskDetailBody },
        ...errors(400, 404),
      },
    })),
    {
      ...task,
      method: "post",
      path: "/api/v1/tasks/{task_id}/run",
      operationId: "runTask",
      summary: "Run a task now on its connected hosts (one of them for mode one)",
      responses: {
        202: { description: "Sent to these hosts", schema: RunAcceptedBody },
        ...errors(400, 404, 409),
      },
    },
    {
      ...task,
      method: "get",
      path: "/api/v1/tasks/{task_id}/executions",
      operationId: "listExecutions",
      tag: "executions",
      summary: "A task's executions, newest first",
      query: ListExecutionsQuery,
      responses: {
        200: { description: "A page", schema: ExecutionPageBody },
        ...errors(400, 404),
      },
    },
    {
      ...execution,
      method: "get",
      path: "/api/v1/executions/{execution_id}",
      operationId: "getExecution",
      summary: "One execution with both streams",
      responses: {
        200: { description: "The execution", schema: ExecutionBody },
        ...errors(400, 404),
      },
    },
    {
      ...execution,
      method: "get",
      path: "/api/v1/executions/{execution_id}/stream",
      operationId: "streamExecution",
      summary: "Live output as Server-Sent Events, ending with the final status",
      description: "Events `output` (`{stream, data}`) then one `end` (the final status). " +
        "An execution that has ended replays its stored output.",
      responses: {
        200: {
          description: "The event stream",
          schema: StreamEventBody,
          contentType: "text/event-stream",
        },
        ...errors(400, 404),
      },
    },
    {
      ...execution,
      method: "post",
      path: "/api/v1/executions/{execution_id}/kill",
      operationId: "killExecution",
      summary: "Stop a running execution on its host",
      responses: {
        202: { description: "Sent to its host", schema: KillAcceptedBody },
        ...errors(400, 404, 409),
      },
    },
    {
      method: "get",
      path: "/api/v1/servers",
      operationId: "listServers",
      tag: "servers",
      summary: "List hosts by id",
      query: ListServersQuery,
      responses: { 200: { description: "A page", schema: ServerPageBody }, ...errors(400) },
    },
    {
      method: "get",
      path: "/api/v1/servers/{server_id}",
      operationId: "getServer",
      tag: "servers",
      summary: "One host: what runs there and what it is assigned",
      params: ServerIdParams,
      responses: {
        200: { description: "The host", schema: ServerDetailBody },
        ...errors(400, 404),
      },
    },
    {
      method: "post",
      path: "/api/v1/tokens",
      operationId: "createToken",
      tag: "tokens",
      summary: "Create a token (admin); the answer is the only place the token appears",
      body: CreateTokenBody,
      responses: {
        201: { description: "Created", schema: TokenCreatedBody },
        ...errors(400, 413, 415, 422),
      },
    },
    {
      method: "get",
      path: "/api/v1/tokens",
      operationId: "listTokens",
      tag: "tokens",
      summary: "List tokens (admin), never a token nor its hash",
      responses: { 200: { description: "The tokens", schema: TokenListBody } },
    },
    {
      method: "delete",
      path: "/api/v1/tokens/{token_id}",
      operationId: "revokeToken",
      tag: "tokens",
      summary: "Revoke a token (admin); hub connections made with it are closed",
      params: TokenIdParams,
      responses: {
        200: { description: "The revoked token", schema: TokenBody },
        ...errors(400, 404),
      },
    },
    {
      method: "get",
      path: "/api/v1/audit",
      operationId: "listAudit",
      tag: "audit",
      summary: "The audit log (admin), newest first",
      query: AuditQuery,
      responses: { 200: { description: "A page", schema: AuditPageBody }, ...errors(400) },
    },
    {
      method: "get",
      path: "/api/v1/agents/connect",
      operationId: "connectAgent",
      tag: "agents",
      summary: "The WebSocket agents connect to (see the agent protocol)",
      responses: {
        101: { description: "Switching to the WebSocket protocol" },
        404: { description: "Not a WebSocket upgrade request", schema: ErrorBody },
      },
    },
    {
      method: "get",
      path: "/api/v1/openapi.json",
      operationId: "getOpenApi",
      tag: "service",
      summary: "This document",
      responses: { 200: { description: "The OpenAPI 3.1 document", schema: z.looseObject({}) } },
    },
    {
      method: "get",
      path: "/healthz",
      operationId: "health",
      tag: "service",
      summary: "Whether the process runs",
      responses: { 200: { description: "Running", schema: HealthBody } },
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "ready",
      tag: "service",
      summary: "Whether the database answers",
      responses: {
        200: { description: "Ready", schema: HealthBody },
        503: { description: ERRORS[503], schema: HealthBody },
      },
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      tag: "service",
      summary: "Prometheus metrics",
      responses: {
        200: {
          description: "The Prometheus text format",
          schema: z.string(),
          contentType: "text/plain; version=0.0.4",
        },
      },
    },
    {
      method: "get",
      path: "/docs",
      operationId: "docs",
      tag: "service",
      summary: "Interactive documentation of this API",
      responses: {
        200: { description: "An HTML page", schema: z.string(), contentType: "text/html" },
      },
    },
    {
      method: "get",
      path: "/docs/openapi.json",
      operationId: "docsOpenApi",
      tag: "service",
      summary: "This document, without a token, for the documentation page",
      responses: { 200: { description: "The OpenAPI 3.1 document", schema: z.looseObject({}) } },
    },
    {
      method: "get",
      path: "/docs/{file}",
      operationId: "docsAsset",
      tag: "service",
      summary: "The documentation page's script and styles (Swagger UI, served locally)",
      params: z.object({
        file: z.enum(["init.js", "swagger-ui.css", "swagger-ui-bundle.js"]),
      }),
      responses: {
        200: { description: "The file", schema: z.string(), contentType: "text/javascript" },
        404: { description: ERRORS[404], schema: ErrorBody },
      },
    },
  ];
  return operations.map(withAuthentication);
}

/** Every route under `/api/v1`, and `/metrics`, needs a token; the rest is open. */
function withAuthentication(operation: Operation): Operation {
  if (!operation.path.startsWith("/api/v1/") && operation.path !== "/metrics") return operation;
  return {
    ...operation,
    authenticated: true,
    responses: { ...operation.responses, ...errors(401, 403, 429) },
  };
}
