/**
 * The zod schemas of the operations API: query strings (parsed with them) and response bodies
 * (documented with them in the OpenAPI document, and checked against them in tests).
 *
 * @module
 */
import { z } from "zod";
import { SERVER_ID_PATTERN } from "../shared/ids.ts";
import { TASK_STATUSES } from "../shared/task_status.ts";
import { TaskMode, TaskTargets } from "./task_schemas.ts";
import { ROLES } from "./tokens.ts";

/** The largest page any list answers. */
export const MAX_PAGE_SIZE = 500;

const timestamp = z.iso.datetime({ offset: true });
const uuid = z.uuid();
const serverId = z.string().regex(
  SERVER_ID_PATTERN,
  "must be 1-128 letters, digits, '.', '_' or '-'",
);
const status = z.enum(TASK_STATUSES);
const executionStatus = z.enum([
  "TASK_EXECUTING",
  "TASK_COMPLETED_SUCCESS",
  "TASK_COMPLETED_ERROR",
]);
const limit = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50)
  .describe(`Page size, 1 to ${MAX_PAGE_SIZE}`);
const cursor = z.string().max(200).optional()
  .describe("The next_cursor of the previous page; opaque");

/** Where a task is in its life. */
export const TaskState = z.enum(["active", "paused", "deleted"]);

/** Every error answer: a message, and the offending field where there is one. */
export const ErrorBody = z.looseObject({
  error: z.string(),
  field: z.string().optional(),
});

/** Path parameter `task_id`. */
export const TaskIdParams = z.strictObject({ task_id: uuid });
/** Path parameter `execution_id`. */
export const ExecutionIdParams = z.strictObject({ execution_id: uuid });
/** Path parameter `server_id`. */
export const ServerIdParams = z.strictObject({ server_id: serverId });

/** `GET /api/v1/tasks` query. */
export const ListTasksQuery = z.strictObject({
  limit,
  cursor,
  status: status.optional().describe("Only tasks whose status (as GET status derives it) is this"),
  state: z.string().transform((s) => s.split(",").map((part) => part.trim()))
    .pipe(z.array(TaskState).min(1)).optional()
    .describe("Comma-separated states to list: active, paused, deleted; default active,paused"),
  q: z.string().min(1).max(1000)
    .refine((s) => !s.includes("\0"), "q must not contain NUL characters").optional()
    .describe("Only tasks whose command contains this text (case-insensitive)"),
});

/** `GET /api/v1/tasks/{task_id}/executions` query. */
export const ListExecutionsQuery = z.strictObject({
  limit,
  cursor,
  server_id: serverId.optional().describe("Only executions on this host"),
  status: executionStatus.optional().describe("Only executions in this status"),
  since: timestamp.optional().describe("Only executions started at or after this time"),
  until: timestamp.optional().describe("Only executions started before this time"),
});

/** `GET /api/v1/servers` query. */
export const ListServersQuery = z.strictObject({
  limit,
  cursor,
  connected: z.enum(["true", "false"]).optional().describe("Only connected or disconnected hosts"),
});

/** A task as the operations API shows it. */
export const TaskBody = z.strictObject({
  id: uuid,
  command: z.string(),
  frequency: z.string(),
  timezone: z.string(),
  timeout_seconds: z.number().int().nullable(),
  targets: TaskTargets,
  mode: TaskMode,
  state: TaskState,
  revision: z.number().int(),
  status: status,
  latest_complete_execution_timestamp: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  deleted_at: timestamp.nullable(),
});

/** What one host has and did of a task. */
export const TaskHostBody = z.strictObject({
  server_id: z.string(),
  connected: z.boolean(),
  state: z.enum(["sent", "accepted", "rejected"]).nullable()
    .describe("The host's answer to the revision it last received; null if it received none"),
  revision: z.number().int().nullable(),
  reason: z.string().nullable(),
  updated_at: timestamp.nullable(),
  latest_execution: z.strictObject({
    id: uuid,
    status: executionStatus,
    started_at: timestamp,
    finished_at: timestamp.nullable(),
  }).nullable(),
});

/** `GET /api/v1/tasks/{task_id}`: the task and each host's state. */
export const TaskDetailBody = TaskBody.extend({ hosts: z.array(TaskHostBody) });

/** `GET /api/v1/tasks`. */
export const TaskPageBody = z.strictObject({
  tasks: z.array(TaskBody),
  next_cursor: z.string().nullable(),
});

/** `POST /api/v1/tasks/{task_id}/run`. */
export const RunAcceptedBody = z.strictObject({ task_id: uuid, server_ids: z.array(z.string()) });

/** An execution without its output. */
export const ExecutionSummaryBody = z.strictObject({
  id: uuid,
  task_id: uuid,
  server_id: z.string(),
  status: executionStatus,
  scheduled_for: timestamp.nullable(),
  started_at: timestamp,
  finished_at: timestamp.nullable(),
  duration_ms: z.number().nullable(),
  exit_code: z.number().int().nullable(),
  error: z.string().nullable(),
  truncated: z.boolean().describe("Whether bytes were cut from stdout or stderr by the cap"),
  stdout_dropped_bytes: z.number().int(),
  stderr_dropped_bytes: z.number().int(),
  schedule_lag_ms: z.number().nullable(),
  abandoned: z.boolean()
    .describe("Closed by the server because its host came back without it"),
});

/** `GET /api/v1/executions/{execution_id}`. */
export const ExecutionBody = ExecutionSummaryBody.extend({
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  received_at: timestamp,
});

/** `GET /api/v1/tasks/{task_id}/executions`. */
export const ExecutionPageBody = z.strictObject({
  executions: z.array(ExecutionSummaryBody),
  next_cursor: z.string().nullable(),
});

/** `POST /api/v1/executions/{execution_id}/kill`. */
export const KillAcceptedBody = z.strictObject({ execution_id: uuid, server_id: z.string() });

/** A host as the API shows it. */
export const ServerBody = z.strictObject({
  server_id: z.string(),
  hostname: z.string(),
  labels: z.record(z.string(), z.string()),
  version: z.string(),
  connected: z.boolean(),
  first_seen_at: timestamp,
  last_seen_at: timestamp,
  running_executions: z.number().int(),
  tasks_assigned: z.number().int(),
});

/** `GET /api/v1/servers/{server_id}`: the host, what runs there and what it is assigned. */
export const ServerDetailBody = ServerBody.extend({
  running: z.array(z.strictObject({
    execution_id: uuid,
    task_id: uuid,
    scheduled_for: timestamp.nullable(),
    started_at: timestamp,
  })),
  tasks: z.array(z.strictObject({
    task_id: uuid,
    command: z.string(),
    frequency: z.string(),
    mode: TaskMode,
    state: z.enum(["sent", "accepted", "rejected"]).nullable(),
    revision: z.number().int(),
  })),
});

/** `GET /api/v1/servers`. */
export const ServerPageBody = z.strictObject({
  servers: z.array(ServerBody),
  next_cursor: z.string().nullable(),
});

/** A JSON body described by `schema`. */
export type Body<S extends z.ZodType> = z.input<S>;

/** `POST /api/v1/tasks/create`. */
export const TaskCreatedBody = z.strictObject({ command_id: uuid });

/** `GET /api/v1/tasks/{task_id}/status` (and the answer to PUT). */
export const TaskStatusResponseBody = z.strictObject({
  status,
  command: z.string(),
  frequency: z.string(),
  latest_complete_execution_timestamp: timestamp.nullable(),
  stdout: z.string().nullable().describe("Only when status is TASK_COMPLETED_SUCCESS"),
  stderr: z.string().nullable().describe("Only when status is TASK_COMPLETED_ERROR"),
});

/** `GET /healthz` and `GET /readyz`. */
export const HealthBody = z.looseObject({ status: z.string() });

/** The events of `GET /api/v1/executions/{execution_id}/stream`, one JSON object each. */
export const StreamEventBody = z.union([
  z.strictObject({ stream: z.enum(["stdout", "stderr"]), data: z.string() })
    .describe("event: output, a slice of what the execution printed"),
  z.strictObject({
    execution_id: uuid,
    status: executionStatus,
    exit_code: z.number().int().nullable(),
    error: z.string().nullable(),
    finished_at: timestamp.nullable(),
  }).describe("event: end, the final status; the stream closes after it"),
]);

/** The body of `POST /api/v1/tokens`. */
export const CreateTokenBody = z.object({
  name: z.string().trim().min(1).max(100)
    .refine((s) => !/\p{Cc}/u.test(s), "name must not contain control characters"),
  role: z.enum(ROLES),
  server_id: z.string()
    .regex(SERVER_ID_PATTERN, "server_id must be 1-128 letters, digits, '.', '_' or '-'")
    .optional(),
});

/** The path parameters of a token route. */
export const TokenIdParams = z.strictObject({ token_id: uuid });

/** A token as listed: never the token itself nor its hash. */
export const TokenBody = z.strictObject({
  id: uuid,
  name: z.string(),
  role: z.enum(ROLES),
  server_id: z.string().nullable(),
  created_at: timestamp,
  created_by: z.string(),
  last_used_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
});

/** A created token: the one answer that carries the token. */
export const TokenCreatedBody = TokenBody.extend({ token: z.string() });

/** The body of `GET /api/v1/tokens`. */
export const TokenListBody = z.strictObject({ tokens: z.array(TokenBody) });

/** The query of `GET /api/v1/audit`. */
export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  before: z.string().regex(/^\d{1,16}$/).optional(),
});

/** One page of the audit log, newest first. */
export const AuditPageBody = z.strictObject({
  entries: z.array(z.strictObject({
    id: z.string(),
    at: timestamp,
    actor_token_id: uuid.nullable(),
    actor_name: z.string(),
    action: z.string(),
    target_id: z.string().nullable(),
    client_address: z.string().nullable(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })),
  next_cursor: z.string().nullable(),
});
