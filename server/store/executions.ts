/**
 * The SQL of execution history: pages of a task's executions and one execution in full.
 *
 * @module
 */
import type { CompletedStatus, TaskStatus } from "../../shared/task_status.ts";
import type { Sql } from "../db/database.ts";

/** The statuses an execution can be in. */
export type ExecutionStatus = typeof TaskStatus.Executing | CompletedStatus;

/** An execution without its output, as history lists it. */
export interface ExecutionSummary {
  id: string;
  task_id: string;
  server_id: string;
  status: ExecutionStatus;
  scheduled_for: Date | null;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  exit_code: number | null;
  error: string | null;
  stdout_dropped_bytes: number;
  stderr_dropped_bytes: number;
  schedule_lag_ms: number | null;
  abandoned: boolean;
}

/** A listed execution with its position in the list, for the next page's cursor. */
export interface ListedExecution extends ExecutionSummary {
  /** `started_at` with microseconds, exact enough to resume the list from. */
  position: string;
}

/** An execution with both streams. */
export interface ExecutionRecord extends ExecutionSummary {
  stdout: string | null;
  stderr: string | null;
  received_at: Date;
}

/** A page of one task's executions, newest first. */
export interface ExecutionListQuery {
  limit: number;
  /** Resume after this execution: `[position, id]` of the previous page's last one. */
  after: [string, string] | null;
  server_id: string | null;
  status: ExecutionStatus | null;
  /** Only executions started at or after this. */
  since: Date | null;
  /** Only executions started before this. */
  until: Date | null;
}

/** What a kill request needs to know about an execution. */
export interface ExecutionHost {
  status: ExecutionStatus;
  server_id: string;
  connected: boolean;
}

/**
 * The execution history queries.
 *
 * @example
 * ```ts
 * const executions = executionQueries(sql);
 * const run = await executions.execution(id);
 * ```
 */
export function executionQueries(sql: Sql) {
  const summary = sql`
    e.id, e.task_id, e.server_id, e.status, e.scheduled_for, e.started_at, e.finished_at,
    (extract(epoch from e.finished_at - e.started_at) * 1000)::float8 as duration_ms,
    e.exit_code, e.error, e.stdout_dropped_bytes::float8 as stdout_dropped_bytes,
    e.stderr_dropped_bytes::float8 as stderr_dropped_bytes, e.schedule_lag_ms, e.abandoned`;

  return {
    /** One page of a task's executions, newest first; one more than `limit` if more follow. */
    async listExecutions(taskId: string, query: ExecutionListQuery): Promise<ListedExecution[]> {
      const [afterAt, afterId] = query.after ?? [null, null];
      return await sql<ListedExecution[]>`
        select ${summary},
               to_char(e.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                 as position
          from executions e
         where e.task_id = ${taskId}
           and (${query.server_id}::text is null or e.server_id = ${query.server_id}::text)
           and (${query.status}::text is null or e.status = ${query.status}::text)
           and (${query.since}::timestamptz is null or e.started_at >= ${query.since})
           and (${query.until}::timestamptz is null or e.started_at < ${query.until})
           and (${afterAt}::timestamptz is null
                or (e.started_at, e.id) < (${afterAt}::timestamptz, ${afterId}::uuid))
         order by e.started_at desc, e.id desc
         limit ${query.limit + 1}`;
    },

    /** One execution with both streams, or undefined. */
    async execution(executionId: string): Promise<ExecutionRecord | undefined> {
      const [row] = await sql<ExecutionRecord[]>`
        select ${summary}, e.stdout, e.stderr, e.received_at
          from executions e where e.id = ${executionId}`;
      return row;
    },

    /** An execution's status and whether its host is connected, or undefined. */
    async executionHost(executionId: string): Promise<ExecutionHost | undefined> {
      const [row] = await sql<ExecutionHost[]>`
        select e.status, e.server_id, s.connected_to is not null as connected
          from executions e join servers s on s.id = e.server_id
         where e.id = ${executionId}`;
      return row;
    },
  };
}
