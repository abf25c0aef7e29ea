/**
 * The SQL of the spec's task endpoints: creating a task, deriving its status, and results
 * reported over HTTP.
 *
 * @module
 */
import type { TaskSpec } from "../../shared/protocol.ts";
import type { CompletedStatus, TaskStatus } from "../../shared/task_status.ts";
import type { Sql } from "../db/database.ts";
import type { TaskDefinition } from "./tasks.ts";
import type { AuditEntry } from "./tokens.ts";

/** A new task as validated by the API. */
export type NewTask = TaskDefinition & { id: string };

/** What GET status needs about a task, gathered in one query. */
export interface TaskStatusRow {
  command: string;
  frequency: string;
  latest_status: TaskStatus | null;
  latest_stdout: string | null;
  latest_stderr: string | null;
  latest_complete_at: Date | null;
  accepted: number;
  rejected: number;
  received: number;
}

/** A completed execution reported over HTTP. */
export interface ReportedExecution {
  id: string;
  task_id: string;
  server_id: string;
  status: CompletedStatus;
  started_at: Date;
  finished_at: Date;
  exit_code: number | null;
  stdout: string;
  stderr: string;
}

/** Whether an execution id was new, already stored for the same task and host, or taken. */
export type InsertOutcome = "inserted" | "duplicate" | "conflict";

/** Creating tasks, reading their status, storing results reported over HTTP. */
export function taskStatusQueries(sql: Sql) {
  return {
    /** Stores a new task; its revision starts at 1. */
    async createTask(task: NewTask): Promise<TaskSpec> {
      const [row] = await sql<TaskSpec[]>`
        insert into tasks (id, command, frequency, timezone, timeout_seconds, targets, mode)
        values (${task.id}, ${task.command}, ${task.frequency}, ${task.timezone},
                ${task.timeout_seconds}, ${sql.json(task.targets)}, ${task.mode})
        returning id, command, frequency, timezone, timeout_seconds, revision::int, mode`;
      return row;
    },

    /**
     * Stores a new task and its audit entry in one statement: both or neither, as in a
     * transaction, but in one round trip where a transaction takes four.
     */
    async createTaskAudited(task: NewTask, audit: AuditEntry): Promise<TaskSpec> {
      const [row] = await sql<TaskSpec[]>`
        with task as (
          insert into tasks (id, command, frequency, timezone, timeout_seconds, targets, mode)
          values (${task.id}, ${task.command}, ${task.frequency}, ${task.timezone},
                  ${task.timeout_seconds}, ${sql.json(task.targets)}, ${task.mode})
          returning id, command, frequency, timezone, timeout_seconds, revision::int, mode
        ), audit as (
          insert into audit_log (actor_token_id, actor_name, action, target_id, client_address,
                                 details)
          select ${audit.actor_token_id}, ${audit.actor_name}, ${audit.action},
                 ${audit.target_id}, ${audit.client_address}, ${sql.json(audit.details)}
            from task
        )
        select * from task`;
      return row;
    },

    /**
     * Everything GET status derives from, or undefined for an unknown task. With `serverId`,
     * as that host sees the task: its own executions and answer only, so an agent token reads
     * nothing another host reported.
     */
    async taskStatus(taskId: string, serverId?: string): Promise<TaskStatusRow | undefined> {
      const onHost = () => serverId === undefined ? sql`` : sql`and x.server_id = ${serverId}`;
      const [row] = await sql<TaskStatusRow[]>`
        select t.command, t.frequency,
               latest.status as latest_status,
               latest.stdout as latest_stdout,
               latest.stderr as latest_stderr,
               (select x.finished_at from executions x
                 where x.task_id = t.id and x.finished_at is not null ${onHost()}
                 order by x.finished_at desc limit 1) as latest_complete_at,
               acks.accepted, acks.rejected, acks.received
          from tasks t
          left join lateral (
            select x.status, x.stdout, x.stderr from executions x
             where x.task_id = t.id ${onHost()}
             order by x.started_at desc, x.received_at desc limit 1
          ) latest on true
          cross join lateral (
            select count(*) filter (where x.state = 'accepted')::int as accepted,
                   count(*) filter (where x.state = 'rejected')::int as rejected,
                   count(*)::int as received
              from task_servers x where x.task_id = t.id ${onHost()}
          ) acks
         where t.id = ${taskId}`;
      return row;
    },

    /** Tells whether a task exists. */
    async taskExists(taskId: string): Promise<boolean> {
      const [row] = await sql`select 1 from tasks where id = ${taskId}`;
      return row !== undefined;
    },

    /**
     * Stores a completed execution reported over HTTP, registering its host if new.
     * Idempotent on the execution id.
     */
    async insertReportedExecution(run: ReportedExecution): Promise<InsertOutcome> {
      return await sql.begin(async (tx) => {
        await tx`
          insert into servers (id) values (${run.server_id})
          on conflict (id) do update set last_seen_at = now()`;
        const inserted = await tx`
          insert into executions (id, task_id, server_id, status, started_at, finished_at,
                                  exit_code, stdout, stderr)
          values (${run.id}, ${run.task_id}, ${run.server_id}, ${run.status}, ${run.started_at},
                  ${run.finished_at}, ${run.exit_code}, ${run.stdout}, ${run.stderr})
          on conflict (id) do nothing
          returning 1`;
        if (inserted.length > 0) return "inserted";
        const [existing] = await tx`
          select 1 from executions
           where id = ${run.id} and task_id = ${run.task_id} and server_id = ${run.server_id}`;
        return existing ? "duplicate" : "conflict";
      });
    },
  };
}
