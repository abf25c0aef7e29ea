/**
 * The SQL behind running the fleet: tick claims for mode `one` tasks, retention, and the
 * counts the metrics page shows.
 *
 * @module
 */
import type { Sql } from "../db/database.ts";
import type { TaskState } from "./tasks.ts";

/** Tasks per state, for the metrics page. */
export type TaskCounts = Record<TaskState, number>;

/** Hosts known to the server, for the metrics page. */
export interface HostCounts {
  connected: number;
  disconnected: number;
}

/**
 * The fleet queries.
 *
 * @example
 * ```ts
 * const fleet = fleetQueries(sql);
 * if (await fleet.claimTick(taskId, scheduledFor, "web-1")) run();
 * ```
 */
export function fleetQueries(sql: Sql) {
  return {
    /**
     * Claims one tick of a task for a host: the first claim of a tick wins and is granted
     * again to the same host if it asks twice; every other host is refused, and so is every
     * claim on a task that is paused, deleted or unknown.
     */
    async claimTick(taskId: string, scheduledFor: Date, serverId: string): Promise<boolean> {
      const [row] = await sql<{ granted: boolean | null }[]>`
        with inserted as (
          insert into tick_claims (task_id, scheduled_for, server_id)
          select id, ${scheduledFor}, ${serverId} from tasks
           where id = ${taskId} and deleted_at is null and not paused
          on conflict (task_id, scheduled_for) do nothing
          returning server_id
        )
        select coalesce(
                 (select server_id from inserted),
                 (select server_id from tick_claims
                   where task_id = ${taskId} and scheduled_for = ${scheduledFor})
               ) = ${serverId} as granted`;
      return row?.granted === true;
    },

    /** Deletes up to `limit` completed executions that finished before `cutoff`. */
    async pruneExecutionsFinishedBefore(cutoff: Date, limit: number): Promise<number> {
      const [{ count }] = await sql<{ count: number }[]>`
        with pruned as (
          delete from executions where id in (
            select id from executions
             where finished_at < ${cutoff} and status <> 'TASK_EXECUTING'
             limit ${limit})
          returning 1
        )
        select count(*)::int as count from pruned`;
      return count;
    },

    /** Deletes up to `limit` completed executions beyond the newest `keep` per task and host. */
    async pruneExecutionsBeyondNewest(keep: number, limit: number): Promise<number> {
      const [{ count }] = await sql<{ count: number }[]>`
        with ranked as (
          select id, row_number() over (
                   partition by task_id, server_id order by started_at desc, id desc) as n
            from executions
           where status <> 'TASK_EXECUTING'
        ), pruned as (
          delete from executions where id in (
            select id from ranked where n > ${keep} limit ${limit})
          returning 1
        )
        select count(*)::int as count from pruned`;
      return count;
    },

    /** Deletes up to `limit` tasks deleted before `cutoff` that have no execution left. */
    async pruneDeletedTasks(cutoff: Date, limit: number): Promise<number> {
      const [{ count }] = await sql<{ count: number }[]>`
        with pruned as (
          delete from tasks where id in (
            select t.id from tasks t
             where t.deleted_at < ${cutoff}
               and not exists (select 1 from executions e where e.task_id = t.id)
             limit ${limit})
          returning 1
        )
        select count(*)::int as count from pruned`;
      return count;
    },

    /** Deletes up to `limit` tick claims for ticks before `cutoff`. */
    async pruneTickClaims(cutoff: Date, limit: number): Promise<number> {
      const [{ count }] = await sql<{ count: number }[]>`
        with pruned as (
          delete from tick_claims where (task_id, scheduled_for) in (
            select task_id, scheduled_for from tick_claims
             where scheduled_for < ${cutoff}
             limit ${limit})
          returning 1
        )
        select count(*)::int as count from pruned`;
      return count;
    },

    /** How many tasks are active, paused and deleted. */
    async taskCounts(): Promise<TaskCounts> {
      const [row] = await sql<TaskCounts[]>`
        select count(*) filter (where deleted_at is null and not paused)::int as active,
               count(*) filter (where deleted_at is null and paused)::int as paused,
               count(*) filter (where deleted_at is not null)::int as deleted
          from tasks`;
      return row;
    },

    /** How many known hosts are connected and disconnected. */
    async hostCounts(): Promise<HostCounts> {
      const [row] = await sql<HostCounts[]>`
        select count(*) filter (where connected_to is not null)::int as connected,
               count(*) filter (where connected_to is null)::int as disconnected
          from servers`;
      return row;
    },
  };
}
