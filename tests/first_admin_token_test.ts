import assert from "node:assert/strict";
import { startTestDatabase } from "./helpers/postgres.ts";
import { type ServerProcess, startServer } from "./helpers/server_process.ts";

const CREATED = "Created the first admin token; it is shown only this once";

/** Creates a task and reads its status with `token`, as the README's curl examples do. */
async function createAndRead(server: ServerProcess, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const created = await fetch(`${server.url}/api/v1/tasks/create`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ command: "uptime", frequency: "* * * * *" }),
  });
  assert.equal(created.status, 201);
  const { command_id } = await created.json();
  const status = await fetch(`${server.url}/api/v1/tasks/${command_id}/status`, { headers: auth });
  assert.equal(status.status, 200);
  assert.equal((await status.json()).status, "TASK_RECEIVED");
}

Deno.test("the first start creates an admin token, shown once", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "taskscheduler-data-" });
  const file = `${dataDir}/admin-token`;
  try {
    let token = "";
    await t.step("should show the token once in the log and in a private file", async () => {
      await using server = await startServer({
        apiToken: null,
        env: { TASKSCHEDULER_DATA_DIR: dataDir },
      });
      const lines = server.logs.filter((l) => l.msg === CREATED);
      assert.equal(lines.length, 1);
      token = String(lines[0].token);
      assert.match(token, /^tsk_[A-Za-z0-9_-]{43}$/);
      assert.equal(lines[0].file, file);
      assert.equal((await Deno.readTextFile(file)).trim(), token);
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
      await createAndRead(server, token);
      const anonymous = await fetch(`${server.url}/api/v1/tokens`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401);
      assert.equal(await server.stop(), 0);
      const logged = JSON.stringify(server.logs.filter((l) => l.msg !== CREATED));
      assert.ok(!logged.includes(token), "no other line carries the token");
    });

    await t.step("should create no other token at the next start", async () => {
      await using server = await startServer({
        apiToken: null,
        env: { TASKSCHEDULER_DATA_DIR: dataDir },
      });
      assert.ok(!server.logs.some((l) => l.msg === CREATED));
      assert.equal((await Deno.readTextFile(file)).trim(), token);
      await createAndRead(server, token);
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a token from TASKSCHEDULER_API_TOKEN is used, never stored nor logged", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "taskscheduler-data-" });
  try {
    await using database = await startTestDatabase();
    await using server = await startServer({
      env: { DATABASE_URL: database.url, TASKSCHEDULER_DATA_DIR: dataDir },
    });
    assert.ok(server.logs.some((l) => l.msg === "Admin access through TASKSCHEDULER_API_TOKEN"));
    assert.ok(!server.logs.some((l) => l.msg === CREATED));
    await assert.rejects(() => Deno.stat(`${dataDir}/admin-token`), Deno.errors.NotFound);
    await createAndRead(server, server.token!);
    const audit = await fetch(`${server.url}/api/v1/audit`, { headers: server.auth });
    const [entry] = (await audit.json()).entries;
    assert.equal(entry.actor_name, "TASKSCHEDULER_API_TOKEN");
    assert.equal(entry.actor_token_id, null);
    assert.equal(entry.client_address, "127.0.0.1");
    assert.ok(!JSON.stringify(server.logs).includes(server.token!));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
