import assert from "node:assert/strict";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { startTestApp } from "./helpers/app.ts";

const json = { "content-type": "application/json" };

Deno.test("the server on the embedded default keeps its data across a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "taskscheduler-data-" });
  try {
    let id: string;
    {
      await using server = await startServer({ env: { TASKSCHEDULER_DATA_DIR: dataDir } });
      assert.ok(server.logs.some((l) => l.msg === "Using the embedded database (PGlite)"));
      const res = await fetch(`${server.url}/api/v1/tasks/create`, {
        method: "POST",
        headers: { ...json, ...server.auth },
        body: JSON.stringify({ command: "echo persisted", frequency: "@daily" }),
      });
      assert.equal(res.status, 201);
      id = (await res.json()).command_id;
      assert.equal(await server.stop("SIGTERM"), 0, "a graceful stop exits 0");
    }
    await using server = await startServer({ env: { TASKSCHEDULER_DATA_DIR: dataDir } });
    assert.ok(!server.logs.some((l) => l.msg === "Applied migration"), "no migration runs twice");
    const res = await fetch(`${server.url}/api/v1/tasks/${id}/status`, { headers: server.auth });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.command, "echo persisted");
    assert.equal(body.status, "TASK_RECEIVED");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the server on PostgreSQL answers health probes and stops gracefully", async () => {
  await using database = await startTestDatabase();
  await using server = await startServer({ env: { DATABASE_URL: database.url } });
  assert.ok(server.logs.some((l) => l.msg === "Using PostgreSQL"));
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
  assert.equal(await server.stop("SIGINT"), 0);
  assert.ok(server.logs.some((l) => l.msg === "Stopped"));
});

Deno.test("the server refuses to start with a bad setting, naming it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "server/main.ts"],
    cwd: new URL("../", import.meta.url),
    env: { PORT: "not-a-port" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /Invalid value for PORT: "not-a-port"/);
});

Deno.test("readyz answers 503 and unexpected failures answer 500 with a request id", async () => {
  await using app = await startTestApp();
  const created = await app.request("POST", "/api/v1/tasks/create", {
    command: "true",
    frequency: "* * * * *",
  });
  await app.sql.end();
  const ready = await app.request("GET", "/readyz");
  assert.equal(ready.status, 503);
  const reply = await app.request("GET", `/api/v1/tasks/${created.body.command_id}/status`);
  assert.equal(reply.status, 500);
  assert.equal(reply.body.error, "Internal server error");
  assert.equal(reply.headers.get("x-request-id"), reply.body.request_id);
  const logged = app.logs.find((l) => l.msg === "Request failed");
  assert.equal(logged?.request_id, reply.body.request_id);
  assert.ok(!JSON.stringify(reply.body).includes("CONNECTION"), "no internals in the answer");
});
