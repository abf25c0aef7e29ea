/**
 * The data-access layer: every SQL statement of the server lives under `server/store/`, one
 * function per operation, postgres.js tagged templates only. Handlers and the hub call these;
 * nothing else builds SQL.
 *
 * @module
 */
import type { Sql } from "./db/database.ts";
import { hubQueries } from "./store/hub.ts";
import { operationQueries } from "./store/operations.ts";
import { taskStatusQueries } from "./store/task_status.ts";
import { tokenQueries } from "./store/tokens.ts";

export type { ExecutionStart, HostHello } from "./store/hub.ts";
export { resultStatus } from "./store/hub.ts";
export type {
  InsertOutcome,
  NewTask,
  ReportedExecution,
  TaskStatusRow,
} from "./store/task_status.ts";
export type {
  AuditDetails,
  AuditEntry,
  AuditPageQuery,
  AuditRecord,
  NewToken,
  TokenRecord,
} from "./store/tokens.ts";

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
    ...taskStatusQueries(sql),
    ...hubQueries(sql),
    ...tokenQueries(sql),
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
