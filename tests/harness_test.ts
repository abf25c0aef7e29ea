import assert from "node:assert/strict";
import postgres from "postgres";
import { findPostgresBinaries, startTestDatabase } from "./helpers/postgres.ts";

const binaries = await findPostgresBinaries();
const noBinaries = binaries === undefined;

/** Runs `fn` with a postgres.js client on `url` and always ends the client. */
async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice() {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function refusesConnections(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test({
  name: "startTestDatabase() starts a real PostgreSQL server from the local binaries",
  ignore: noBinaries,
  async fn() {
    await using db = await startTestDatabase({ kind: "postgres" });
    assert.equal(db.kind, "postgres");
    assert.match(db.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const [row] = await withSql(
      db.url,
      (sql) => sql`select version(), current_setting('data_directory') as data_directory`,
    );
    assert.match(row.version, new RegExp(`^PostgreSQL ${binaries?.version.replace(".", "\\.")} `));
    assert.doesNotMatch(row.version, /PGlite/);
    assert.equal(row.data_directory, `${db.dir}/data`);
  },
});

Deno.test({
  name: "startTestDatabase() gives concurrent callers isolated clusters",
  ignore: noBinaries,
  async fn() {
    const [a, b] = await Promise.all([
      startTestDatabase({ kind: "postgres" }),
      startTestDatabase({ kind: "postgres" }),
    ]);
    try {
      assert.notEqual(a.url, b.url);
      await withSql(a.url, (sql) => sql`create table only_in_a (id int primary key)`);
      const [inA] = await withSql(a.url, (sql) => sql`select to_regclass('only_in_a') as t`);
      const [inB] = await withSql(b.url, (sql) => sql`select to_regclass('only_in_a') as t`);
      assert.equal(inA.t, "only_in_a");
      assert.equal(inB.t, null);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
});

Deno.test({
  name: "close() stops the server, frees its port and removes its temp dir",
  ignore: noBinaries,
  async fn() {
    const db = await startTestDatabase({ kind: "postgres" });
    const port = Number(new URL(db.url).port);
    const dir = db.dir;
    try {
      assert.ok(dir);
      assert.ok((await Deno.stat(dir)).isDirectory);
      assert.equal(await refusesConnections(port), false);
    } finally {
      await db.close();
    }
    assert.equal(await refusesConnections(port), true);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
    await db.close(); // a second close is harmless
  },
});

Deno.test({
  name: "startTestDatabase() throws with the server log when PostgreSQL cannot start",
  ignore: noBinaries,
  async fn() {
    await assert.rejects(
      startTestDatabase({ kind: "postgres", settings: { shared_buffers: "plenty" } }),
      (error: Error) => {
        assert.match(error.message, /^Cannot start PostgreSQL on port \d+: /);
        assert.match(error.message, /invalid value for parameter "shared_buffers": "plenty"/);
        return true;
      },
    );
  },
});

Deno.test({
  name: "startTestDatabase() with DATABASE_URL creates a fresh database and drops it on close",
  ignore: noBinaries,
  async fn() {
    await using server = await startTestDatabase({ kind: "postgres" });
    const env = new Map([["DATABASE_URL", server.url]]);
    const db = await startTestDatabase({ env });
    let name: string;
    try {
      assert.equal(db.kind, "external");
      [{ name }] = await withSql(db.url, (sql) => sql`select current_database() as name`);
      assert.match(name, /^ts_test_[0-9a-f]{16}$/);
      await withSql(db.url, (sql) => sql`create table t (id int)`);
      // Keep a client connected: close() must drop the database all the same.
      const lingering = postgres(db.url, { max: 1 });
      await lingering`select 1`;
      await db.close();
      await lingering.end();
    } finally {
      await db.close();
    }
    const rows = await withSql(
      server.url,
      (sql) => sql`select 1 from pg_database where datname = ${name}`,
    );
    assert.equal(rows.length, 0);
  },
});

Deno.test("startTestDatabase() on PGlite answers queries over a loopback socket", async (t) => {
  await t.step("forced by TASKSCHEDULER_TEST_DB=pglite", async () => {
    const env = new Map([["TASKSCHEDULER_TEST_DB", "pglite"]]);
    await using db = await startTestDatabase({ env });
    assert.equal(db.kind, "pglite");
    const [row] = await withSql(db.url, (sql) => sql`select version(), 6 * 7 as answer`);
    assert.match(row.version, /PGlite/);
    assert.equal(row.answer, 42);
  });

  await t.step("asked for with kind pglite, and gone after close()", async () => {
    const db = await startTestDatabase({ kind: "pglite" });
    const port = Number(new URL(db.url).port);
    try {
      await withSql(db.url, async (sql) => {
        await sql`create table tasks (id int primary key, command text not null)`;
        await sql`insert into tasks ${sql([{ id: 1, command: "echo hi" }])}`;
        const rows = await sql`select command from tasks`;
        assert.deepEqual(rows.map((r) => r.command), ["echo hi"]);
      });
    } finally {
      await db.close();
    }
    assert.equal(await refusesConnections(port), true);
  });
});

Deno.test("startTestDatabase() rejects an unknown TASKSCHEDULER_TEST_DB", async () => {
  const env = new Map([["TASKSCHEDULER_TEST_DB", "mysql"]]);
  await assert.rejects(
    startTestDatabase({ env }),
    new TypeError(
      "Cannot start a test database as 'TASKSCHEDULER_TEST_DB' must be one of postgres, pglite, external: current value is mysql",
    ),
  );
});
