/**
 * The SQL of the hosts endpoints: who is connected, what runs there, what it is assigned.
 *
 * @module
 */
import type { Sql } from "../db/database.ts";
import type { TaskMode } from "./tasks.ts";

/** A host as the API shows it. */
export interface ServerRecord {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  version: string;
  connected: boolean;
  first_seen_at: Date;
  last_seen_at: Date;
  running_executions: number;
  tasks_assigned: number;
}

/** A page of hosts, by id. */
export interface ServerListQuery {
  limit: number;
  /** Resume after this `server_id`. */
  after: string | null;
  /** Only connected (true) or disconnected (false) hosts; null for both. */
  connected: boolean | null;
}

/** An execution running on a host. */
export interface RunningExecution {
  execution_id: string;
  task_id: string;
  scheduled_for: Date | null;
  started_at: Date;
}

/** An active task whose targets select a host, with the host's answer to it. */
export interface AssignedTask {
  task_id: string;
  command: string;
  frequency: string;
  mode: TaskMode;
  /** The host's answer to the revision it last received; null before it received any. */
  state: "sent" | "accepted" | "rejected" | null;
  revision: number;
}

/**
 * The hosts queries.
 *
 * @example
 * ```ts
 * const servers = serverQueries(sql);
 * const host = await servers.server("web-1");
 * ```
 */
export function serverQueries(sql: Sql) {
  const record = sql`
    s.id, s.hostname, s.labels, s.version, s.connected_to is not null as connected,
    s.first_seen_at, s.last_seen_at,
    (select count(*)::int from executions e
      where e.server_id = s.id and e.status = 'TASK_EXECUTING') as running_executions,
    (select count(*)::int from tasks t
      where t.deleted_at is null and not t.paused
        and task_targets_host(t.targets, s.id, s.labels)) as tasks_assigned`;

  return {
    /** One page of hosts ordered by id; one more than `limit` when another page follows. */
    async listServers(query: ServerListQuery): Promise<ServerRecord[]> {
      return await sql<ServerRecord[]>`
        select ${record} from servers s
         where (${query.after}::text is null or s.id > ${query.after}::text)
           and (${query.connected}::boolean is null
                or (s.connected_to is not null) = ${query.connected}::boolean)
         order by s.id
         limit ${query.limit + 1}`;
    },

    /** One host, or undefined. */
    async server(serverId: string): Promise<ServerRecord | undefined> {
      const [row] = await sql<
        ServerRecord[]
      >`select ${record} from servers s where s.id = ${serverId}`;
      return row;
    },

    /** The executions a host is running, oldest first. */
    async serverRunningExecutions(serverId: string): Promise<RunningExecution[]> {
      return await sql<RunningExecution[]>`
        select id as execution_id, task_id, scheduled_for, started_at from executions
         where server_id = ${serverId} and status = 'TASK_EXECUTING'
         order by started_at`;
    },

    /** The active tasks whose targets select a host, oldest first. */
    async serverTasks(serverId: string): Promise<AssignedTask[]> {
      return await sql<AssignedTask[]>`
        select t.id as task_id, t.command, t.frequency, t.mode, ts.state,
               t.revision::int as revision
          from servers s
          join tasks t on t.deleted_at is null and not t.paused
                      and task_targets_host(t.targets, s.id, s.labels)
          left join task_servers ts on ts.task_id = t.id and ts.server_id = s.id
         where s.id = ${serverId}
         order by t.created_at, t.id`;
    },
  };
}
