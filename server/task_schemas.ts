import { z } from "zod";
import { SERVER_ID_PATTERN } from "../shared/ids.ts";
import { COMPLETED_STATUSES } from "../shared/task_status.ts";

/** Limits the request schemas enforce. */
export interface SchemaLimits {
  maxCommandBytes: number;
  maxOutputBytes: number;
}

const encoder = new TextEncoder();
const utf8Length = (s: string) => encoder.encode(s).length;
const noNul = (s: string) => !s.includes("\0");

/** The longest `timeout_seconds` a task may ask for: one week. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

/**
 * Which hosts run a task: those whose `server_id` is listed and whose labels include every
 * label given. Without targets a task runs on every host.
 */
export const TaskTargets = z.strictObject({
  server_ids: z.array(
    z.string().regex(
      SERVER_ID_PATTERN,
      "server_ids must be 1-128 letters, digits, '.', '_' or '-'",
    ),
  ).min(1, "server_ids must not be empty: leave it out to select every host").max(1000)
    .optional(),
  labels: z.record(z.string().min(1).max(63), z.string().max(255)).optional(),
});

/** `all`: every targeted host runs each tick; `one`: exactly one connected host does. */
export const TaskMode = z.enum(["all", "one"]);

/**
 * The request bodies of the task routes, built for the configured limits.
 *
 * @example
 * ```ts
 * const { CreateTaskBody } = taskSchemas({ maxCommandBytes: 65536, maxOutputBytes: 1 << 20 });
 * ```
 */
export function taskSchemas(limits: SchemaLimits) {
  const output = (name: string) =>
    z.string()
      .refine(noNul, `${name} must not contain NUL characters`)
      .refine(
        (s) => utf8Length(s) <= limits.maxOutputBytes,
        `${name} is longer than ${limits.maxOutputBytes} bytes`,
      );

  const CreateTaskBody = z.object({
    command: z.string()
      .refine((s) => s.trim() !== "", "command must not be empty")
      .refine(noNul, "command must not contain NUL characters")
      .refine(
        (s) => utf8Length(s) <= limits.maxCommandBytes,
        `command is longer than ${limits.maxCommandBytes} bytes`,
      ),
    frequency: z.string().max(256),
    timezone: z.string().max(64).optional(),
    timeout_seconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).nullable().optional(),
    targets: TaskTargets.nullable().optional(),
    mode: TaskMode.optional(),
  });

  /** A PATCH: any field of a task; `null` clears `timeout_seconds` or `targets`. */
  const UpdateTaskBody = CreateTaskBody.partial();

  const ReportStatusBody = z.object({
    server_id: z.string().regex(
      SERVER_ID_PATTERN,
      "server_id must be 1-128 letters, digits, '.', '_' or '-'",
    ),
    stdout: output("stdout"),
    stderr: output("stderr"),
    exit_code: z.number().int().min(-2147483648).max(2147483647).nullable().optional(),
    status: z.enum(COMPLETED_STATUSES).optional(),
    execution_id: z.uuid().optional(),
    started_at: z.iso.datetime({ offset: true }).optional(),
    finished_at: z.iso.datetime({ offset: true }).optional(),
  });

  return { CreateTaskBody, UpdateTaskBody, ReportStatusBody };
}

/** A validated create body. */
export type CreateTaskBody = z.infer<ReturnType<typeof taskSchemas>["CreateTaskBody"]>;
/** A validated PATCH body. */
export type UpdateTaskBody = z.infer<ReturnType<typeof taskSchemas>["UpdateTaskBody"]>;
/** A validated status report body. */
export type ReportStatusBody = z.infer<ReturnType<typeof taskSchemas>["ReportStatusBody"]>;
