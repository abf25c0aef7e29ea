/**
 * A clean PostgreSQL database for each test file.
 *
 * `startTestDatabase()` picks, in order: a fresh database inside `DATABASE_URL` when it is set;
 * a throwaway server started from the local PostgreSQL binaries (`initdb` + `postgres` on a
 * free port); PGlite exposed on a loopback socket when no binaries exist.
 * `TASKSCHEDULER_TEST_DB=pglite` (or `postgres`, `external`) forces one of them.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { startTestDatabase } from "./helpers/postgres.ts";
 *
 * Deno.test("the store keeps a task", async () => {
 *   await using db = await startTestDatabase();
 *   const sql = postgres(db.url);
 *   try {
 *     await sql`select 1`;
 *   } finally {
 *     await sql.end();
 *   }
 * });
 * ```
 *
 * @module
 */
import { findPostgresBinaries } from "./_postgres_binaries.ts";
import { createExternalDatabase } from "./_external_database.ts";
import { startPglite } from "./_pglite.ts";
import { startPostgres } from "./_postgres_server.ts";
import type { TestDatabase, TestDatabaseKind } from "./_types.ts";

export { findPostgresBinaries, type PostgresBinaries } from "./_postgres_binaries.ts";
export { freePort } from "./_postgres_server.ts";
export type { TestDatabase, TestDatabaseKind } from "./_types.ts";

/** Options for {@linkcode startTestDatabase}. */
export interface StartTestDatabaseOptions {
  /**
   * Which database to start; `auto` reads `TASKSCHEDULER_TEST_DB`, then `DATABASE_URL`, then
   * looks for binaries, then falls back to PGlite.
   * @default "auto"
   */
  kind?: TestDatabaseKind | "auto";
  /** Where `DATABASE_URL` and `TASKSCHEDULER_TEST_DB` are read. @default Deno.env */
  env?: { get(name: string): string | undefined };
  /** Directory holding `initdb` and `postgres`. @default found by {@linkcode findPostgresBinaries} */
  binDir?: string;
  /** Extra server settings for kind `postgres`, each passed as `-c name=value`. @default {} */
  settings?: Record<string, string | number>;
  /** How long starting may take, in milliseconds. @default 60_000 */
  startTimeout?: number;
}

const KINDS: readonly string[] = ["postgres", "pglite", "external"];

let saidPglite = false;

/**
 * Starts a database of its own for the caller: every call is an independent, empty one.
 *
 * @example
 * ```ts
 * await using db = await startTestDatabase({ kind: "pglite" });
 * console.log(db.url); // postgres://postgres@127.0.0.1:40123/postgres
 * ```
 */
export async function startTestDatabase(
  options: StartTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const env = options.env ?? Deno.env;
  const startTimeout = options.startTimeout ?? 60_000;
  const kind = await resolveKind(options.kind ?? "auto", env, options.binDir);
  if (kind === "external") {
    const url = env.get("DATABASE_URL");
    if (!url) {
      throw new TypeError("Cannot use an external test database as 'DATABASE_URL' is not set");
    }
    return await createExternalDatabase(url, startTimeout);
  }
  if (kind === "pglite") return await startPglite(startTimeout);
  const binaries = await findPostgresBinaries(options.binDir);
  if (!binaries) {
    throw new Error(`Cannot start PostgreSQL: no initdb and postgres binaries found`);
  }
  return await startPostgres(binaries, options.settings ?? {}, startTimeout);
}

async function resolveKind(
  requested: TestDatabaseKind | "auto",
  env: { get(name: string): string | undefined },
  binDir: string | undefined,
): Promise<TestDatabaseKind> {
  if (requested !== "auto") return requested;
  const forced = env.get("TASKSCHEDULER_TEST_DB");
  if (forced) {
    if (!KINDS.includes(forced)) {
      throw new TypeError(
        `Cannot start a test database as 'TASKSCHEDULER_TEST_DB' must be one of ${
          KINDS.join(", ")
        }: current value is ${forced}`,
      );
    }
    return forced as TestDatabaseKind;
  }
  if (env.get("DATABASE_URL")) return "external";
  if (await findPostgresBinaries(binDir)) return "postgres";
  if (!saidPglite) {
    saidPglite = true;
    console.error("No PostgreSQL binaries found: tests run on PGlite");
  }
  return "pglite";
}
