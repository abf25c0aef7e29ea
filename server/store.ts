/**
 * Every SQL statement of the server, one function per operation. Handlers and the hub call
 * these; nothing else builds SQL. postgres.js tagged templates only.
 *
 * @module
 */
import type { CompletedStatus, TaskStatus } from "../shared/task_status.ts";
import type { ExecutionResult, HelloMessage, TaskSpec } from "../shared/protocol.ts";
import type { Sql } from "./db/database.ts";
import type { Role } from "./tokens.ts";
import { operationQueries } from "./store/operations.ts";
import type { TaskMode, TaskTargets } from "./store/tasks.ts";

/** A new task as validated by the API. */
export interface NewTask {
  id: string;
  command: string;
  frequency: string;
  timezone: string;
  timeout_seconds: number | null;
  targets: TaskTargets;
  mode: TaskMode;
}

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

/** What the server knows of a connected host's hello. */
export type HostHello = Pick<HelloMessage, "server_id" | "hostname" | "labels" | "version">;

/** An execution's start as an agent reports it. */
export interface ExecutionStart {
  execution_id: string;
  task_id: string;
  scheduled_for: string;
  started_at: string;
}

/** A token as stored, for lookups by hash: never the token, never its hash. */
export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** The host an agent token speaks for; null for other roles. */
  server_id: string | null;
  created_at: Date;
  created_by: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A token to store: its hash, never the token itself. */
export interface NewToken {
  id: string;
  name: string;
  role: Role;
  server_id: string | null;
  token_hash: Uint8Array;
  created_by: string;
}

/** One line of the audit log, as written. */
export interface AuditEntry {
  /** The acting token; null for the bootstrap token from the environment. */
  actor_token_id: string | null;
  actor_name: string;
  /** What happened, e.g. `task.create`, `token.revoke`. */
  action: string;
  target_id: string | null;
  client_address: string;
  /** Facts about the change; never a secret. */
  details: AuditDetails;
}

/** Flat facts about an audited change. */
export type AuditDetails = Record<string, string | number | boolean | null>;

/** One line of the audit log, as read back; `id` (a bigint as text) orders the log. */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: Date;
}

/** A page of the audit log, newest first. */
export interface AuditPageQuery {
  limit: number;
  /** Only entries older than this id (the previous page's cursor). */
  before: string | null;
}

/** The data-access layer: see each method. */
export type Store = ReturnType<typeof createStore>;

/**
 * The store inside {@linkcode Store.transaction}: every query except those that open a
 * transaction of their own, which postgres.js cannot nest.
 */
export type TransactionStore = Omit<
  ReturnType<typeof storeQueries>,
  "insertReportedExecution" | "insertFirstAdminToken"
>;

/** Every query, over the pool or over a transaction. */
function storeQueries(sql: Sql) {
  return {
    /** Answers when the database answers a trivial query. */
    async ping(): Promise<void> {
      await sql`select 1`;
    },

    /** Stores a new task; its revision starts at 1. */
    async createTask(task: NewTask): Promise<TaskSpec> {
      const [row] = await sql<TaskSpec[]>`
        insert into tasks (id, command, frequency, timezone, timeout_seconds, targets, mode)
        values (${task.id}, ${task.command}, ${task.frequency}, ${task.timezone},
                ${task.timeout_seconds}, ${sql.json(task.targets)}, ${task.mode})
        returning id, command, frequency, timezone, timeout_seconds, revision::int, mode`;
      return row;
    },

    /** Everything GET status derives from, or undefined for an unknown task. */
    async taskStatus(taskId: string): Promise<TaskStatusRow | undefined> {
      const [row] = await sql<TaskStatusRow[]>`
        select t.command, t.frequency,
               latest.status as latest_status,
               latest.stdout as latest_stdout,
               latest.stderr as latest_stderr,
               (select c.finished_at from executions c
                 where c.task_id = t.id and c.finished_at is not null
                 order by c.finished_at desc limit 1) as latest_complete_at,
               acks.accepted, acks.rejected, acks.received
          from tasks t
          left join lateral (
            select e.status, e.stdout, e.stderr from executions e
             where e.task_id = t.id
             order by e.started_at desc, e.received_at desc limit 1
          ) latest on true
          cross join lateral (
            select count(*) filter (where ts.state = 'accepted')::int as accepted,
                   count(*) filter (where ts.state = 'rejected')::int as rejected,
                   count(*)::int as received
              from task_servers ts where ts.task_id = t.id
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

    // Tokens and audit

    /**
     * What GET status derives from, as one host sees the task: its own executions and its
     * own answer only, so an agent token reads nothing another host reported.
     */
    async taskStatusOfServer(
      taskId: string,
      serverId: string,
    ): Promise<TaskStatusRow | undefined> {
      const [row] = await sql<TaskStatusRow[]>`
        select t.command, t.frequency,
               latest.status as latest_status,
               latest.stdout as latest_stdout,
               latest.stderr as latest_stderr,
               (select c.finished_at from executions c
                 where c.task_id = t.id and c.server_id = ${serverId}
                   and c.finished_at is not null
                 order by c.finished_at desc limit 1) as latest_complete_at,
               acks.accepted, acks.rejected, acks.received
          from tasks t
          left join lateral (
            select e.status, e.stdout, e.stderr from executions e
             where e.task_id = t.id and e.server_id = ${serverId}
             order by e.started_at desc, e.received_at desc limit 1
          ) latest on true
          cross join lateral (
            select count(*) filter (where ts.state = 'accepted')::int as accepted,
                   count(*) filter (where ts.state = 'rejected')::int as rejected,
                   count(*)::int as received
              from task_servers ts where ts.task_id = t.id and ts.server_id = ${serverId}
          ) acks
         where t.id = ${taskId}`;
      return row;
    },

    /** Stores a new token (its hash) and returns it as listed. */
    async insertToken(token: NewToken): Promise<TokenRecord> {
      const [row] = await sql<TokenRecord[]>`
        insert into api_tokens (id, name, role, server_id, token_hash, created_by)
        values (${token.id}, ${token.name}, ${token.role}, ${token.server_id},
                ${token.token_hash}, ${token.created_by})
        returning id, name, role, server_id, created_at, created_by, last_used_at, revoked_at`;
      return row;
    },

    /**
     * Stores `token` as the first admin token unless an active admin token exists, under an
     * advisory lock so instances starting together create one between them.
     *
     * @returns whether the token was stored
     */
    async insertFirstAdminToken(token: NewToken): Promise<boolean> {
      return await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK_KEY})`;
        const inserted = await tx`
          insert into api_tokens (id, name, role, server_id, token_hash, created_by)
          select ${token.id}, ${token.name}, 'admin', null, ${token.token_hash},
                 ${token.created_by}
           where not exists (
             select 1 from api_tokens where role = 'admin' and revoked_at is null)
          returning 1`;
        return inserted.length > 0;
      });
    },

    /** Tells whether any admin token is active. */
    async hasActiveAdminToken(): Promise<boolean> {
      const [row] = await sql`
        select 1 from api_tokens where role = 'admin' and revoked_at is null limit 1`;
      return row !== undefined;
    },

    /** The token stored under `hash`, revoked or not, or undefined. */
    async tokenByHash(hash: Uint8Array): Promise<TokenRecord | undefined> {
      const [row] = await sql<TokenRecord[]>`
        select id, name, role, server_id, created_at, created_by, last_used_at, revoked_at
          from api_tokens where token_hash = ${hash}`;
      return row;
    },

    /** Notes that a token was used now. */
    async touchToken(id: string): Promise<void> {
      await sql`update api_tokens set last_used_at = now() where id = ${id}`;
    },

    /** Every token, oldest first, without secrets. */
    async listTokens(): Promise<TokenRecord[]> {
      return await sql<TokenRecord[]>`
        select id, name, role, server_id, created_at, created_by, last_used_at, revoked_at
          from api_tokens order by created_at, id`;
    },

    /**
     * Revokes a token. `revoked` tells whether this call revoked it (false when it already
     * was); undefined for an unknown id.
     */
    async revokeToken(id: string): Promise<{ token: TokenRecord; revoked: boolean } | undefined> {
      const [row] = await sql<(TokenRecord & { was_active: boolean })[]>`
        with before as (select id, revoked_at is null as was_active from api_tokens
                         where id = ${id} for update)
        update api_tokens t set revoked_at = coalesce(t.revoked_at, now())
          from before where t.id = before.id
        returning t.id, t.name, t.role, t.server_id, t.created_at, t.created_by,
                  t.last_used_at, t.revoked_at, before.was_active`;
      if (!row) return undefined;
      const { was_active, ...token } = row;
      return { token, revoked: was_active };
    },

    /** Those of `ids` that name tokens still active. */
    async activeTokenIds(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await sql<{ id: string }[]>`
        select id from api_tokens where id = any(${ids}::uuid[]) and revoked_at is null`;
      return rows.map((r) => r.id);
    },

    /** Appends one line to the audit log. */
    async recordAudit(entry: AuditEntry): Promise<void> {
      await sql`
        insert into audit_log (actor_token_id, actor_name, action, target_id, client_address,
                               details)
        values (${entry.actor_token_id}, ${entry.actor_name}, ${entry.action}, ${entry.target_id},
                ${entry.client_address}, ${sql.json(entry.details)})`;
    },

    /** A page of the audit log, newest first. */
    async auditPage(query: AuditPageQuery): Promise<AuditRecord[]> {
      return await sql<AuditRecord[]>`
        select id::text, at, actor_token_id, actor_name, action, target_id, client_address,
               details
          from audit_log
         where ${query.before}::bigint is null or id < ${query.before}::bigint
         order by id desc
         limit ${query.limit}`;
    },
    // Operations
    ...operationQueries(sql),
  };
}

/**
 * Creates the store over a postgres.js client.
 *
 * @example
 * ```ts
 * const store = createStore(db.sql);
 * await store.createTask({ id, command: "echo hi", frequency: "* * * * *", ... });
 * ```
 */
export function createStore(sql: Sql) {
  return {
    ...storeQueries(sql),

    /**
     * Runs `change` in one transaction with a store bound to it, so a change and its audit
     * entry commit or roll back together; a throw rolls back.
     *
     * @example
     * ```ts
     * await store.transaction(async (tx) => {
     *   await tx.createTask(task);
     *   await tx.recordAudit(entry);
     * });
     * ```
     */
    async transaction<T>(change: (tx: TransactionStore) => Promise<T>): Promise<T> {
      // A transaction client answers the same tagged templates as the pool; only begin()
      // differs, and TransactionStore leaves out the queries that call it.
      const result = await sql.begin((tx) => change(storeQueries(tx as unknown as Sql)));
      return result as T;
    },
  };
}

/** Arbitrary, fixed key of the advisory lock that serialises creating the first admin token. */
const FIRST_ADMIN_LOCK_KEY = 7_340_021_916;

/** A finished execution succeeded when it exited 0 and nothing else went wrong. */
export function resultStatus(result: ExecutionResult): CompletedStatus {
  return result.exit_code === 0 && result.error === null
    ? "TASK_COMPLETED_SUCCESS"
    : "TASK_COMPLETED_ERROR";
}
