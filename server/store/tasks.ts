/**
 * The SQL of the task lifecycle: listing, reading, changing, pausing and deleting tasks, and
 * placing them on the hosts their targets select.
 *
 * @module
 */
import type { TaskSpec } from "../../shared/protocol.ts";
import type { TaskStatus } from "../../shared/task_status.ts";
import type { Sql } from "../db/database.ts";
import type { ExecutionStatus } from "./executions.ts";

/** Which hosts run a task: every part given must match; `{}` selects every host. */
export type TaskTargets = {
  server_ids?: string[];
  labels?: Record<string, string>;
};

/** `all`: every targeted host runs each tick; `one`: exactly one of them does. */
export type TaskMode = "all" | "one";

/** Where a task is in its life. */
export type TaskState = "active" | "paused" | "deleted";

/** A task as the API shows it. */
export interface TaskRecord {
  id: string;
  command: string;
  frequency: string;
  timezone: string;
  timeout_seconds: number | null;
  targets: TaskTargets;
  mode: TaskMode;
  state: TaskState;
  revision: number;
  status: TaskStatus;
  latest_complete_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A listed task with the position it holds in the list, for the next page's cursor. */
export interface ListedTask extends TaskRecord {
  /** `created_at` with microseconds, exact enough to resume the list from. */
  position: string;
}

/** A page of tasks, newest first. */
export interface TaskListQuery {
  limit: number;
  /** Resume after this task: `[position, id]` of the previous page's last one. */
  after: [string, string] | null;
  states: TaskState[];
  status: TaskStatus | null;
  /** Case-insensitive substring of the command. */
  q: string | null;
}

/** What a host has and did of one task. */
export interface TaskHostRow {
  server_id: string;
  connected: boolean;
  /** `sent`, `accepted` or `rejected` for the revision the host last received; null if none. */
  state: "sent" | "accepted" | "rejected" | null;
  revision: number | null;
  reason: string | null;
  updated_at: Date | null;
  latest_execution_id: string | null;
  latest_status: ExecutionStatus | null;
  latest_started_at: Date | null;
  latest_finished_at: Date | null;
}

/** The fields of a task a PATCH may change, all of them resolved. */
export interface TaskDefinition {
  command: string;
  frequency: string;
  timezone: string;
  timeout_seconds: number | null;
  targets: TaskTargets;
  mode: TaskMode;
}

/** Where a task goes among some hosts: its spec while it is active, and the hosts it targets. */
export interface TaskPlacement {
  /** The spec agents run; null when the task is paused, deleted or unknown. */
  task: TaskSpec | null;
  targeted: string[];
}

/** A task to run now: its spec, and the connected hosts it targets. */
export interface TaskRunTargets {
  task: TaskSpec;
  connected: string[];
}

/**
 * The task lifecycle queries.
 *
 * @example
 * ```ts
 * const tasks = taskQueries(sql);
 * const page = await tasks.listTasks({ limit: 50, after: null, states: ["active"], ... });
 * ```
 */
export function taskQueries(sql: Sql) {
  const record = sql`
    t.id, t.command, t.frequency, t.timezone, t.timeout_seconds, t.targets, t.mode,
    case when t.deleted_at is not null then 'deleted' when t.paused then 'paused'
         else 'active' end as state,
    t.revision::int as revision, task_derived_status(t.id) as status,
    (select c.finished_at from executions c
      where c.task_id = t.id and c.finished_at is not null
      order by c.finished_at desc limit 1) as latest_complete_at,
    t.created_at, t.updated_at, t.deleted_at`;

  return {
    /** One page of tasks, newest first, one more than `limit` when another page follows. */
    async listTasks(query: TaskListQuery): Promise<ListedTask[]> {
      const [afterAt, afterId] = query.after ?? [null, null];
      return await sql<ListedTask[]>`
        select * from (
          select ${record},
                 to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                   as position
            from tasks t
           where (case when t.deleted_at is not null then 'deleted' when t.paused then 'paused'
                       else 'active' end) = any(${query.states}::text[])
             and (${query.q}::text is null
                  or strpos(lower(t.command), lower(${query.q}::text)) > 0)
             and (${afterAt}::timestamptz is null
                  or (t.created_at, t.id) < (${afterAt}::timestamptz, ${afterId}::uuid))
        ) page
         where ${query.status}::text is null or page.status = ${query.status}::text
         order by page.created_at desc, page.id desc
         limit ${query.limit + 1}`;
    },

    /** One task, deleted ones included, or undefined when there is no such task. */
    async task(taskId: string): Promise<TaskRecord | undefined> {
      const [row] = await sql<TaskRecord[]>`select ${record} from tasks t where t.id = ${taskId}`;
      return row;
    },

    /** Every host that received the task or ran it, with its answer and latest execution. */
    async taskHosts(taskId: string): Promise<TaskHostRow[]> {
      return await sql<TaskHostRow[]>`
        with hosts as (
          select server_id from task_servers where task_id = ${taskId}
          union
          select distinct server_id from executions where task_id = ${taskId}
        )
        select h.server_id, s.connected_to is not null as connected,
               ts.state, ts.revision::int as revision, ts.reason, ts.updated_at,
               e.id as latest_execution_id, e.status as latest_status,
               e.started_at as latest_started_at, e.finished_at as latest_finished_at
          from hosts h
          join servers s on s.id = h.server_id
          left join task_servers ts on ts.task_id = ${taskId} and ts.server_id = h.server_id
          left join lateral (
            select id, status, started_at, finished_at from executions
             where task_id = ${taskId} and server_id = h.server_id
             order by started_at desc, id desc limit 1
          ) e on true
         order by h.server_id`;
    },

    /**
     * Replaces a task's definition and bumps its revision, unless it was deleted or changed
     * since `expectedRevision` was read (then undefined). Hosts the new targets no longer
     * select forget their answer to it.
     */
    async updateTask(
      taskId: string,
      expectedRevision: number,
      task: TaskDefinition,
    ): Promise<{ revision: number } | undefined> {
      const [row] = await sql<{ revision: number }[]>`
        with updated as (
          update tasks
             set command = ${task.command}, frequency = ${task.frequency},
                 timezone = ${task.timezone}, timeout_seconds = ${task.timeout_seconds},
                 targets = ${sql.json(task.targets)}, mode = ${task.mode},
                 revision = revision + 1, updated_at = now()
           where id = ${taskId} and deleted_at is null and revision = ${expectedRevision}
          returning id, targets, revision
        ), forgotten as (
          delete from task_servers ts
           using updated u, servers s
           where ts.task_id = u.id and s.id = ts.server_id
             and not task_targets_host(u.targets, s.id, s.labels)
        )
        select revision::int from updated`;
      return row;
    },

    /**
     * Pauses or resumes a task that is not deleted; resuming bumps the revision so agents take
     * it back. Tells whether anything changed, or undefined when there is no such task.
     */
    async setTaskPaused(taskId: string, paused: boolean): Promise<boolean | undefined> {
      const [row] = await sql<{ changed: boolean }[]>`
        with target as (
          select id, paused from tasks where id = ${taskId} and deleted_at is null for update
        ), updated as (
          update tasks t
             set paused = ${paused}, updated_at = now(),
                 revision = t.revision + case when ${paused} then 0 else 1 end
            from target
           where t.id = target.id and target.paused <> ${paused}
          returning t.id
        )
        select exists (select 1 from updated) as changed from target`;
      return row?.changed;
    },

    /** Marks a task deleted at `at`; false when there is no such task or it already is. */
    async deleteTask(taskId: string, at: Date): Promise<boolean> {
      const rows = await sql`
        update tasks set deleted_at = ${at}, updated_at = now()
         where id = ${taskId} and deleted_at is null
        returning id`;
      return rows.length > 0;
    },

    /** The task's spec while it is active, and which of `serverIds` its targets select. */
    async taskPlacement(taskId: string, serverIds: string[]): Promise<TaskPlacement> {
      const [row] = await sql<{ task: TaskSpec; targeted: string[] }[]>`
        select json_build_object(
                 'id', t.id, 'command', t.command, 'frequency', t.frequency,
                 'timezone', t.timezone, 'timeout_seconds', t.timeout_seconds,
                 'revision', t.revision, 'mode', t.mode) as task,
               array(select s.id from servers s
                      where s.id = any(${serverIds}::text[])
                        and task_targets_host(t.targets, s.id, s.labels)) as targeted
          from tasks t
         where t.id = ${taskId} and t.deleted_at is null and not t.paused`;
      return row ?? { task: null, targeted: [] };
    },

    /** Removes a host's answers to tasks that are active but no longer target it. */
    async forgetUntargetedTasks(serverId: string): Promise<number> {
      const rows = await sql`
        delete from task_servers ts
         using tasks t, servers s
         where ts.server_id = ${serverId} and t.id = ts.task_id and s.id = ts.server_id
           and t.deleted_at is null and not t.paused
           and not task_targets_host(t.targets, s.id, s.labels)
        returning ts.task_id`;
      return rows.length;
    },

    /** A task that is not deleted (paused is fine), with the connected hosts it targets. */
    async taskRunTargets(taskId: string): Promise<TaskRunTargets | undefined> {
      const [row] = await sql<TaskRunTargets[]>`
        select json_build_object(
                 'id', t.id, 'command', t.command, 'frequency', t.frequency,
                 'timezone', t.timezone, 'timeout_seconds', t.timeout_seconds,
                 'revision', t.revision, 'mode', t.mode) as task,
               array(select s.id from servers s
                      where s.connected_to is not null
                        and task_targets_host(t.targets, s.id, s.labels)
                      order by s.id) as connected
          from tasks t
         where t.id = ${taskId} and t.deleted_at is null`;
      return row;
    },

    /** A task's spec for running it by hand (paused is fine), unless it is deleted. */
    async taskSpecForRun(taskId: string): Promise<TaskSpec | undefined> {
      const [row] = await sql<TaskSpec[]>`
        select id, command, frequency, timezone, timeout_seconds, revision::int, mode
          from tasks where id = ${taskId} and deleted_at is null`;
      return row;
    },
  };
}
