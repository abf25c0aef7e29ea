import assert from "node:assert/strict";
import { ServerDetailBody, ServerPageBody } from "../server/api_schemas.ts";
import { startTestApp } from "./helpers/app.ts";
import { assertShape, createTask, report } from "./helpers/tasks.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello } from "./helpers/ws_client.ts";

Deno.test("the hosts endpoints", async (t) => {
  await using app = await startTestApp();
  const everywhere = await createTask(app, { command: "echo all" });
  const prodOnly = await createTask(app, { targets: { labels: { env: "prod" } } });
  const paused = await createTask(app);
  await app.request("POST", `/api/v1/tasks/${paused}/pause`);
  await using a = await connectWs(app.url, { token: app.adminToken });
  a.send(hello("host-a", { labels: { env: "prod" }, version: "1.2.3" }));
  await a.next("sync");
  a.send({ type: "task.accepted", task_id: everywhere, revision: 1 });
  await report(app, everywhere, { server_id: "web-old", stdout: "" });
  const execution = crypto.randomUUID();
  const now = new Date().toISOString();
  a.send({
    type: "execution.started",
    execution_id: execution,
    task_id: everywhere,
    scheduled_for: now,
    started_at: now,
  });
  await waitFor(async () => (await app.store.server("host-a"))?.running_executions === 1, {
    what: "the running execution",
  });

  await t.step("should list hosts by id with what they run", async () => {
    const reply = await app.request("GET", "/api/v1/servers");
    assert.equal(reply.status, 200);
    assertShape(ServerPageBody, reply.body);
    const [hostA, old] = reply.body.servers;
    assert.deepEqual(reply.body.servers.map((s: { server_id: string }) => s.server_id), [
      "host-a",
      "web-old",
    ]);
    assert.equal(hostA.connected, true);
    assert.deepEqual(hostA.labels, { env: "prod" });
    assert.equal(hostA.version, "1.2.3");
    assert.equal(hostA.hostname, "host-a.example");
    assert.equal(hostA.running_executions, 1);
    assert.equal(hostA.tasks_assigned, 2);
    assert.equal(old.connected, false);
    assert.equal(old.tasks_assigned, 1, "the prod task does not select it");
  });

  await t.step("should page and filter on connected", async () => {
    const first = await app.request("GET", "/api/v1/servers?limit=1");
    assert.equal(first.body.servers.length, 1);
    const second = await app.request(
      "GET",
      `/api/v1/servers?limit=1&cursor=${first.body.next_cursor}`,
    );
    assert.equal(second.body.servers[0].server_id, "web-old");
    assert.equal(second.body.next_cursor, null);
    const offline = await app.request("GET", "/api/v1/servers?connected=false");
    assert.deepEqual(offline.body.servers.map((s: { server_id: string }) => s.server_id), [
      "web-old",
    ]);
    assert.equal((await app.request("GET", "/api/v1/servers?connected=yes")).status, 400);
  });

  await t.step("should show one host's running executions and assigned tasks", async () => {
    const reply = await app.request("GET", "/api/v1/servers/host-a");
    assert.equal(reply.status, 200);
    assertShape(ServerDetailBody, reply.body);
    assert.deepEqual(reply.body.running.map((r: { execution_id: string }) => r.execution_id), [
      execution,
    ]);
    const tasks = reply.body.tasks.map((task: { task_id: string; state: string }) => [
      task.task_id,
      task.state,
    ]);
    assert.equal(tasks.length, 2);
    assert.deepEqual(tasks[1], [prodOnly, "sent"]);
    assert.equal(tasks[0][0], everywhere);
  });

  await t.step("should answer 404 for an unknown host, 400 for a malformed id", async () => {
    assert.equal((await app.request("GET", "/api/v1/servers/nobody")).status, 404);
    assert.equal((await app.request("GET", "/api/v1/servers/-bad")).status, 400);
  });

  await t.step("should show a host disconnected once it has gone", async () => {
    await a.close();
    await waitFor(async () => {
      const reply = await app.request("GET", "/api/v1/servers/host-a");
      return reply.body.connected === false;
    }, { what: "host-a to be disconnected" });
  });
});
