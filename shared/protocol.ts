/**
 * The agent protocol: JSON text frames over one WebSocket, each `{type: "...", ...}`.
 * Both sides parse every frame with {@linkcode parseAgentMessage} or
 * {@linkcode parseServerMessage}; nothing else defines the wire format.
 *
 * @module
 */
import { z } from "zod";
import { SERVER_ID_PATTERN } from "./ids.ts";

/** The protocol version this build speaks; a hello with another version is refused. */
export const PROTOCOL_VERSION = 1;

/** WebSocket close code the server uses for an agent it will not talk to. */
export const CLOSE_PROTOCOL_MISMATCH = 4000;
/** WebSocket close code for a connection replaced by a newer one from the same host. */
export const CLOSE_REPLACED = 4001;
/** WebSocket close code for a connection that stopped answering heartbeats. */
export const CLOSE_HEARTBEAT_TIMEOUT = 4002;
/** WebSocket close code for a connection whose credentials are no longer valid. */
export const CLOSE_UNAUTHORIZED = 4003;

const uuid = z.uuid();
const timestamp = z.iso.datetime({ offset: true });
const serverId = z.string().regex(SERVER_ID_PATTERN, "Invalid server_id");

/** What an agent needs to know to schedule and run a task. */
export const TaskSpec = z.strictObject({
  id: uuid,
  command: z.string(),
  frequency: z.string(),
  timezone: z.string(),
  timeout_seconds: z.number().int().positive().nullable(),
  /** Grows with every change of the task; lets an agent ignore stale updates. */
  revision: z.number().int().nonnegative(),
  /**
   * `one`: the agent asks the server (`tick.claim`) before each tick and runs it only when
   * granted, so exactly one host runs it; absent or `all`: every host runs every tick.
   */
  mode: z.enum(["all", "one"]).optional(),
});
/** A task as the server pushes it to agents. */
export type TaskSpec = z.infer<typeof TaskSpec>;

/** An execution an agent is still running when it says hello. */
const RunningExecution = z.strictObject({ execution_id: uuid, task_id: uuid });

const Hello = z.strictObject({
  type: z.literal("hello"),
  protocol: z.number().int(),
  server_id: serverId,
  hostname: z.string().max(255),
  labels: z.record(z.string().max(63), z.string().max(255)),
  version: z.string().max(64),
  running: z.array(RunningExecution),
});

const TaskAccepted = z.strictObject({
  type: z.literal("task.accepted"),
  task_id: uuid,
  revision: z.number().int().nonnegative(),
});

const TaskRejected = z.strictObject({
  type: z.literal("task.rejected"),
  task_id: uuid,
  revision: z.number().int().nonnegative(),
  reason: z.string().max(1000),
});

const ExecutionStarted = z.strictObject({
  type: z.literal("execution.started"),
  execution_id: uuid,
  task_id: uuid,
  scheduled_for: timestamp,
  started_at: timestamp,
});

/** A slice of live output; best effort, the finished message is authoritative. */
const OutputChunk = z.strictObject({
  stream: z.enum(["stdout", "stderr"]),
  data: z.string(),
});

const ExecutionOutput = z.strictObject({
  type: z.literal("execution.output"),
  execution_id: uuid,
  task_id: uuid,
  chunks: z.array(OutputChunk).min(1),
});

/** The complete, self-contained result of one execution. */
export const ExecutionResult = z.strictObject({
  execution_id: uuid,
  task_id: uuid,
  scheduled_for: timestamp,
  started_at: timestamp,
  finished_at: timestamp,
  /** The process's exit code; null when it was killed by a signal or never started. */
  exit_code: z.number().int().nullable(),
  /** Why the run failed beyond its exit code (timeout, signal, spawn failure), else null. */
  error: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  /** Bytes cut from the middle of each stream to respect the output cap. */
  stdout_dropped_bytes: z.number().int().nonnegative(),
  stderr_dropped_bytes: z.number().int().nonnegative(),
  /** Milliseconds from the scheduled tick to the child process starting. */
  schedule_lag_ms: z.number().nonnegative(),
});
/** The complete, self-contained result of one execution. */
export type ExecutionResult = z.infer<typeof ExecutionResult>;

const ExecutionFinished = ExecutionResult.extend({ type: z.literal("execution.finished") });

const Pong = z.strictObject({ type: z.literal("pong"), nonce: z.string() });

/** Asks to run the tick `scheduled_for` of a mode `one` task; answered by `tick.claimed`. */
const TickClaim = z.strictObject({
  type: z.literal("tick.claim"),
  task_id: uuid,
  scheduled_for: timestamp,
});

/** Every message an agent may send. */
export const AgentMessage = z.discriminatedUnion("type", [
  Hello,
  TaskAccepted,
  TaskRejected,
  ExecutionStarted,
  ExecutionOutput,
  ExecutionFinished,
  Pong,
  TickClaim,
]);
/** A message from an agent to the server. */
export type AgentMessage = z.infer<typeof AgentMessage>;
/** The `hello` an agent opens every connection with. */
export type HelloMessage = z.infer<typeof Hello>;
/** An agent's request to run one tick of a mode `one` task. */
export type TickClaimMessage = z.infer<typeof TickClaim>;

const Sync = z.strictObject({ type: z.literal("sync"), tasks: z.array(TaskSpec) });
const TaskUpsert = z.strictObject({ type: z.literal("task.upsert"), task: TaskSpec });
const TaskDelete = z.strictObject({ type: z.literal("task.delete"), task_id: uuid });
const ExecutionAck = z.strictObject({ type: z.literal("execution.ack"), execution_id: uuid });
const Ping = z.strictObject({ type: z.literal("ping"), nonce: z.string() });
const ErrorMessage = z.strictObject({ type: z.literal("error"), error: z.string() });
/** Run this task once now, outside its schedule (it need not be scheduled on the host). */
const TaskRun = z.strictObject({ type: z.literal("task.run"), task: TaskSpec });
/** Stop this running execution: SIGTERM to its process group, SIGKILL after the grace. */
const ExecutionKill = z.strictObject({ type: z.literal("execution.kill"), execution_id: uuid });
/** The answer to `tick.claim`: run the tick only when `granted`. */
const TickClaimed = z.strictObject({
  type: z.literal("tick.claimed"),
  task_id: uuid,
  scheduled_for: timestamp,
  granted: z.boolean(),
});

/** Every message the server may send. */
export const ServerMessage = z.discriminatedUnion("type", [
  Sync,
  TaskUpsert,
  TaskDelete,
  ExecutionAck,
  Ping,
  ErrorMessage,
  TaskRun,
  ExecutionKill,
  TickClaimed,
]);
/** A message from the server to an agent. */
export type ServerMessage = z.infer<typeof ServerMessage>;

/** The outcome of parsing one frame. */
export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * Parses one text frame from an agent.
 *
 * @example
 * ```ts
 * const parsed = parseAgentMessage('{"type":"pong","nonce":"1"}');
 * if (parsed.ok) console.log(parsed.message.type); // "pong"
 * ```
 */
export function parseAgentMessage(frame: string): Parsed<AgentMessage> {
  return parseFrame(AgentMessage, frame);
}

/** Parses one text frame from the server; see {@linkcode parseAgentMessage}. */
export function parseServerMessage(frame: string): Parsed<ServerMessage> {
  return parseFrame(ServerMessage, frame);
}

function parseFrame<T>(schema: z.ZodType<T>, frame: string): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return { ok: false, error: "Message is not valid JSON" };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  return { ok: false, error: `Invalid message: ${describeIssues(result.error)}` };
}

/**
 * Turns a zod error into one line naming each offending field.
 *
 * @example
 * ```ts
 * describeIssues(error); // "command: Invalid input: expected string, received number"
 * ```
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
