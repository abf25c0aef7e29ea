/**
 * Every SQL statement of the bench: seeding, the direct-insert baseline, and reading back
 * what the server stored. Batches go as one statement, never a loop.
 *
 * @module
 */
import type { Sql } from "../server/db/database.ts";
import type { ExecutionResult } from "../shared/protocol.ts";

/**
 * Inserts `count` tasks in one statement and returns their ids.
 *
 * @example
 * ```ts
 * const ids = await seedTasks(sql, 10_000);
 * ```
 */
export async function seedTasks(
  sql: Sql,
  count: number,
  frequency = "0 0 1 1 *",
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    insert into tasks (id, command, frequency)
    select gen_random_uuid(), 'echo bench task ' || g, ${frequency}
      from generate_series(1, ${count}::int) g
    returning id`;
  return rows.map((row) => row.id);
}

/** Inserts hosts `bench-host-1` … `bench-host-<count>`, and marks every task accepted by each. */
export async function seedHosts(sql: Sql, count: number): Promise<void> {
  await sql`
    insert into servers (id, hostname)
    select 'bench-host-' || g, 'bench-host-' || g || '.bench'
      from generate_series(1, ${count}::int) g`;
  await sql`
    insert into task_servers (task_id, server_id, state, revision)
    select t.id, 'bench-host-' || g, 'accepted', 1
      from tasks t, generate_series(1, ${count}::int) g`;
}

/**
 * Inserts `count` completed executions in one statement, spread evenly over the tasks and
 * the hosts `bench-host-1` … `bench-host-<hosts>`, one minute apart per task; one in twenty
 * failed.
 */
export async function seedExecutions(sql: Sql, count: number, hosts: number): Promise<void> {
  await sql`
    with t as (select array_agg(id order by id) as ids from tasks)
    insert into executions (id, task_id, server_id, status, scheduled_for, started_at,
                            finished_at, exit_code, stdout, stderr, schedule_lag_ms)
    select gen_random_uuid(),
           t.ids[1 + g % cardinality(t.ids)],
           'bench-host-' || (1 + g % ${hosts}::int),
           case when g % 20 = 0 then 'TASK_COMPLETED_ERROR' else 'TASK_COMPLETED_SUCCESS' end,
           s.at, s.at + interval '2 ms', s.at + interval '30 ms',
           case when g % 20 = 0 then 1 else 0 end,
           case when g % 20 = 0 then '' else 'bench output line ' || g || E'\n' end,
           case when g % 20 = 0 then 'bench error line ' || g || E'\n' else '' end,
           2
      from t, generate_series(0, ${count}::int - 1) g,
           lateral (select date_trunc('minute', now())
                             - make_interval(mins => g / cardinality(t.ids)) as at) s`;
  await sql`analyze`;
}

/** The columns of a finished execution, as the baseline inserts them. */
const EXECUTION_COLUMNS = [
  "id",
  "task_id",
  "server_id",
  "status",
  "scheduled_for",
  "started_at",
  "finished_at",
  "exit_code",
  "error",
  "stdout",
  "stderr",
  "stdout_dropped_bytes",
  "stderr_dropped_bytes",
  "schedule_lag_ms",
] as const;

/**
 * The baseline of benchmark 3: postgres.js inserting finished executions of `serverId`
 * directly, one multi-row insert per batch.
 */
export async function insertResults(
  sql: Sql,
  serverId: string,
  results: readonly ExecutionResult[],
): Promise<void> {
  const rows = results.map((r) => ({
    id: r.execution_id,
    task_id: r.task_id,
    server_id: serverId,
    status: r.exit_code === 0 && r.error === null
      ? "TASK_COMPLETED_SUCCESS"
      : "TASK_COMPLETED_ERROR",
    scheduled_for: r.scheduled_for,
    started_at: r.started_at,
    finished_at: r.finished_at,
    exit_code: r.exit_code,
    error: r.error,
    stdout: r.stdout,
    stderr: r.stderr,
    stdout_dropped_bytes: r.stdout_dropped_bytes,
    stderr_dropped_bytes: r.stderr_dropped_bytes,
    schedule_lag_ms: r.schedule_lag_ms,
  }));
  await sql`insert into executions ${sql(rows, ...EXECUTION_COLUMNS)}`;
}

/** Inserts a host row, as its hello would. */
export async function insertHost(sql: Sql, serverId: string): Promise<void> {
  await sql`insert into servers (id) values (${serverId}) on conflict (id) do nothing`;
}

/** How many tasks `serverId` has accepted. */
export async function acceptedCount(sql: Sql, serverId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from task_servers
     where server_id = ${serverId} and state = 'accepted'`;
  return row.n;
}

/** How many finished executions of `serverId` are stored. */
export async function finishedCount(sql: Sql, serverId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from executions
     where server_id = ${serverId} and finished_at is not null`;
  return row.n;
}

/** What the executions of one host for ticks in `[from, to)` show. */
export interface TickWindow {
  /** `schedule_lag_ms` of every finished execution, as the agent reported it. */
  lags: number[];
  /** Executions still running. */
  running: number;
}

/** Reads the executions of `serverId` whose tick falls in `[from, to)`. */
export async function ticksIn(
  sql: Sql,
  serverId: string,
  from: Date,
  to: Date,
): Promise<TickWindow> {
  const rows = await sql<{ lag: number | null; running: boolean }[]>`
    select schedule_lag_ms as lag, finished_at is null as running from executions
     where server_id = ${serverId} and scheduled_for >= ${from} and scheduled_for < ${to}`;
  return {
    lags: rows.filter((r) => !r.running && r.lag !== null).map((r) => r.lag as number),
    running: rows.filter((r) => r.running).length,
  };
}

/**
 * The finished executions of `serverId` stored in `[from, to)`, and the seconds their
 * processes ran in total (over the window, the mean number running at once).
 */
export async function storedIn(
  sql: Sql,
  serverId: string,
  from: Date,
  to: Date,
): Promise<{ count: number; busySeconds: number }> {
  const [row] = await sql<{ count: number; busy: number | null }[]>`
    select count(*)::int as count,
           sum(extract(epoch from finished_at - started_at))::float8 as busy
      from executions
     where server_id = ${serverId} and finished_at is not null
       and received_at >= ${from} and received_at < ${to}`;
  return { count: row.count, busySeconds: row.busy ?? 0 };
}
