import type { Logger } from "../../shared/logger.ts";
import type { Sql } from "./database.ts";

/** One numbered migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary, fixed key of the advisory lock that serialises migrators across instances. */
const MIGRATION_LOCK_KEY = 7_340_021_915;
const FILE_NAME = /^(\d+)_([a-z0-9_]+)\.sql$/;

/**
 * Reads the migrations in `dir` (files named `NNN_name.sql`), ordered by number.
 *
 * @throws {Error} when two files share a number
 */
export async function readMigrations(
  dir = new URL("../../migrations/", import.meta.url),
): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? FILE_NAME.exec(entry.name) : null;
    if (!match) continue;
    const sql = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({ version: Number(match[1]), name: match[2], sql });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new Error(`Two migrations share the number ${migrations[i].version}`);
    }
  }
  return migrations;
}

/**
 * Applies every migration not applied yet, in order, each once and in its own transaction,
 * under an advisory lock so several server instances can start together.
 *
 * @returns the versions applied by this call
 */
export async function migrate(
  sql: Sql,
  migrations: Migration[],
  logger: Logger,
): Promise<number[]> {
  const applied: number[] = [];
  await sql`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now()
  )`.catch(ignoreConcurrentCreate);
  for (const migration of migrations) {
    const ran = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      const [done] = await tx`
        select 1 from schema_migrations where version = ${migration.version}`;
      if (done) return false;
      await tx.unsafe(migration.sql);
      await tx`
        insert into schema_migrations (version, name)
        values (${migration.version}, ${migration.name})`;
      return true;
    });
    if (ran) {
      applied.push(migration.version);
      logger.info("Applied migration", { version: migration.version, name: migration.name });
    }
  }
  return applied;
}

/** Two instances racing on `create table if not exists` may collide on the type's name. */
function ignoreConcurrentCreate(err: { code?: string }): void {
  if (err.code !== "23505" && err.code !== "42P07") throw err;
}
