/**
 * The queries of fleet operations, gathered for `createStore`: task lifecycle and targeting,
 * execution history, hosts, tick claims, retention and metrics.
 *
 * @module
 */
import type { Sql } from "../db/database.ts";
import { executionQueries } from "./executions.ts";
import { fleetQueries } from "./fleet.ts";
import { serverQueries } from "./servers.ts";
import { taskQueries } from "./tasks.ts";

/**
 * Every operations query over `sql`.
 *
 * @example
 * ```ts
 * const store = { ...coreQueries(sql), ...operationQueries(sql) };
 * ```
 */
export function operationQueries(sql: Sql) {
  return {
    ...taskQueries(sql),
    ...executionQueries(sql),
    ...serverQueries(sql),
    ...fleetQueries(sql),
  };
}
