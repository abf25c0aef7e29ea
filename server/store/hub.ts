/**
 * The SQL of the agent hub: hosts saying hello and leaving, the tasks placed on them and their
 * answers, and the executions they report.
 *
 * @module
 */
import type { ExecutionResult, HelloMessage, TaskSpec } from "../../shared/protocol.ts";
import type { CompletedStatus } from "../../shared/task_status.ts";
import type { Sql } from "../db/database.ts";

/** What the server knows of a connected host's hello. */
export type HostHello = Pick<HelloMessage, "server_id" | "hostname" | "labels" | "version">;

/** An execution's start as an agent reports it. */
export interface ExecutionStart {
  execution_id: string;
  task_id: string;
  scheduled_for: string;
  started_at: string;
}

/** What the hub records and reads for connected hosts. */
export function hubQueries(sql: Sql) {
  return {
    /** Records a host's hello: who it is and which server instance it is attached to. */
    async recordHello(host: HostHello, instanceId: string): Promise<void> {
      await sql`
        insert into servers (id, hostname, labels, version, connected_to)
        values (${host.server_id}, ${host.hostname}, ${sql.json(host.labels)}, ${host.version},
                ${instanceId})
        on conflict (id) do update
          set hostname = excluded.hostname, labels = excluded.labels,
              version = excluded.version, connected_to = excluded.connected_to,
              last_seen_at = now()`;
    },

    /** Marks a host disconnected, unless it has meanwhile attached to another instance. */
    async recordDisconnect(serverId: string, instanceId: string): Promise<void> {
      await sql`
        update servers set connected_to = null, last_seen_at = now()
         where id = ${serverId} and connected_to = ${instanceId}`;
    },

    /**
     * Closes as errors the executions a host left running but no longer reports, keeping
     * them open to the real result should it still arrive from the host's spool.
     */
    async abandonExecutions(serverId: string, stillRunning: string[], reason: string) {
      const rows = await sql`
        update executions
           set status = 'TASK_COMPLETED_ERROR', finished_at = greatest(now(), started_at),
               error = ${reason}, stderr = ${reason}, abandoned = true
         where server_id = ${serverId} and status = 'TASK_EXECUTING'
           and id <> all(${stillRunning}::uuid[])
        returning id`;
      return rows.length;
    },

    /** The tasks a host must run: active ones whose targets select it. */
    async tasksForServer(serverId: string): Promise<TaskSpec[]> {
      return await sql<TaskSpec[]>`
        select t.id, t.command, t.frequency, t.timezone, t.timeout_seconds,
               t.revision::int, t.mode
          from tasks t join servers s on s.id = ${serverId}
         where t.deleted_at is null and not t.paused
           and task_targets_host(t.targets, s.id, s.labels)
         order by t.created_at`;
    },

    /** Notes that these task revisions were pushed to a host (one statement for all). */
    async recordTasksSent(serverId: string, tasks: Pick<TaskSpec, "id" | "revision">[]) {
      if (tasks.length === 0) return;
      await sql`
        insert into task_servers (task_id, server_id, state, revision)
        select t.id, ${serverId}, 'sent', t.revision
          from unnest(${tasks.map((t) => t.id)}::uuid[], ${tasks.map((t) => t.revision)}::bigint[])
               as t(id, revision)
          join tasks on tasks.id = t.id
        on conflict (task_id, server_id) do update
          set state = 'sent', revision = excluded.revision, reason = null, updated_at = now()
          where task_servers.revision < excluded.revision`;
    },

    /** Notes that one task revision was pushed to these hosts (one statement for all). */
    async recordTaskSentToHosts(task: Pick<TaskSpec, "id" | "revision">, serverIds: string[]) {
      if (serverIds.length === 0) return;
      await sql`
        insert into task_servers (task_id, server_id, state, revision)
        select tasks.id, s.id, 'sent', ${task.revision}
          from unnest(${serverIds}::text[]) as s(id)
          join tasks on tasks.id = ${task.id}
        on conflict (task_id, server_id) do update
          set state = 'sent', revision = excluded.revision, reason = null, updated_at = now()
          where task_servers.revision < excluded.revision`;
    },

    /** Records a host's answer to a task revision; an answer to an older revision is ignored. */
    async recordTaskAnswer(answer: {
      task_id: string;
      server_id: string;
      revision: number;
      state: "accepted" | "rejected";
      reason: string | null;
    }): Promise<void> {
      await sql`
        insert into task_servers (task_id, server_id, state, revision, reason)
        select ${answer.task_id}, ${answer.server_id}, ${answer.state}, ${answer.revision},
               ${answer.reason}
         where exists (select 1 from tasks where id = ${answer.task_id})
        on conflict (task_id, server_id) do update
          set state = excluded.state, revision = excluded.revision, reason = excluded.reason,
              updated_at = now()
          where task_servers.revision <= excluded.revision`;
    },

    /** Records that a host started an execution; a repeat changes nothing. */
    async recordExecutionStarted(serverId: string, start: ExecutionStart): Promise<void> {
      await sql`
        insert into executions (id, task_id, server_id, status, scheduled_for, started_at)
        select ${start.execution_id}, ${start.task_id}, ${serverId}, 'TASK_EXECUTING',
               ${start.scheduled_for}, ${start.started_at}
         where exists (select 1 from tasks where id = ${start.task_id})
        on conflict (id) do nothing`;
    },

    /**
     * Stores finished executions of one host in one statement, idempotent on the execution
     * id: a result replaces a row only while that row is still running or was abandoned.
     * Returns the ids of the results stored now (not those stored before).
     */
    async recordExecutionsFinished(serverId: string, results: ExecutionResult[]) {
      if (results.length === 0) return [];
      const rows = results.map((r) => ({ ...r, server_id: serverId, status: resultStatus(r) }));
      const stored = await sql`
        insert into executions (id, task_id, server_id, status, scheduled_for, started_at,
                                finished_at, exit_code, error, stdout, stderr,
                                stdout_dropped_bytes, stderr_dropped_bytes, schedule_lag_ms)
        select r.execution_id, r.task_id, r.server_id, r.status, r.scheduled_for,
               r.started_at, r.finished_at, r.exit_code, r.error, r.stdout, r.stderr,
               r.stdout_dropped_bytes, r.stderr_dropped_bytes, r.schedule_lag_ms
          from jsonb_to_recordset(${sql.json(rows)}) as r(
                 execution_id uuid, task_id uuid, server_id text, status text,
                 scheduled_for timestamptz, started_at timestamptz, finished_at timestamptz,
                 exit_code integer, error text, stdout text, stderr text,
                 stdout_dropped_bytes bigint, stderr_dropped_bytes bigint,
                 schedule_lag_ms double precision)
          join tasks on tasks.id = r.task_id
        on conflict (id) do update
          set status = excluded.status, scheduled_for = excluded.scheduled_for,
              started_at = excluded.started_at, finished_at = excluded.finished_at,
              exit_code = excluded.exit_code, error = excluded.error,
              stdout = excluded.stdout, stderr = excluded.stderr,
              stdout_dropped_bytes = excluded.stdout_dropped_bytes,
              stderr_dropped_bytes = excluded.stderr_dropped_bytes,
              schedule_lag_ms = excluded.schedule_lag_ms, abandoned = false,
              received_at = now()
          where executions.server_id = excluded.server_id
            and (executions.status = 'TASK_EXECUTING' or executions.abandoned)
        returning id`;
      return stored.map((row) => row.id as string);
    },
  };
}

/** A finished execution succeeded when it exited 0 and nothing else went wrong. */
export function resultStatus(result: ExecutionResult): CompletedStatus {
  return result.exit_code === 0 && result.error === null
    ? "TASK_COMPLETED_SUCCESS"
    : "TASK_COMPLETED_ERROR";
}
