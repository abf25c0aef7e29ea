import assert from "node:assert/strict";
import postgres from "postgres";
import { migrate, readMigrations } from "../server/db/migrate.ts";
import { memoryLogger } from "./helpers/app.ts";
import { startTestDatabase } from "./helpers/postgres.ts";

Deno.test("migrate()", async (t) => {
  await using database = await startTestDatabase();
  const sql = postgres(database.url, { max: 4, onnotice: () => {} });
  try {
    const migrations = await readMigrations();

    await t.step("should read the numbered files in order", () => {
      assert.ok(migrations.length >= 1);
      const versions = migrations.map((m) => m.version);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
      assert.equal(migrations[0].version, 1);
    });

    await t.step("should apply each migration once, even when two run together", async () => {
      const [a, b] = await Promise.all([
        migrate(sql, migrations, memoryLogger()),
        migrate(sql, migrations, memoryLogger()),
      ]);
      assert.deepEqual([...a, ...b].sort(), migrations.map((m) => m.version).sort());
      const again = await migrate(sql, migrations, memoryLogger());
      assert.deepEqual(again, []);
      const rows = await sql`select version from schema_migrations order by version`;
      assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version));
    });

    await t.step("should roll back a failing migration and leave it unrecorded", async () => {
      const broken = { version: 9999, name: "broken", sql: "create table half (x int); nope;" };
      await assert.rejects(() => migrate(sql, [...migrations, broken], memoryLogger()));
      const [table] = await sql`select to_regclass('half') as t`;
      assert.equal(table.t, null);
      const [row] = await sql`select 1 from schema_migrations where version = 9999`;
      assert.equal(row, undefined);
    });
  } finally {
    await sql.end();
  }
});
