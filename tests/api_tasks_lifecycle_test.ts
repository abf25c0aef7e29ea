import assert from "node:assert/strict";
import { TaskDetailBody, TaskPageBody } from "../server/api_schemas.ts";
import { startTestApp } from "./helpers/app.ts";
import { assertShape, createTask, report } from "./helpers/tasks.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello } from "./helpers/ws_client.ts";

const UNKNOWN = "7b0c6a2e-8f7e-4a47-9a55-3b1f0b2a9f10";

Deno.test("GET /api/v1/tasks", async (t) => {
  await using app = await startTestApp();
  const ids: string[] = [];
  for (const command of ["backup db", "rotate logs", "BACKUP files", "echo hi", "df -h"]) {
    ids.push(await createTask(app, { command }));
  }

  await t.step("should list tasks newest first, page by page, each once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const reply = await app.request("GET", `/api/v1/tasks${query}`);
      assert.equal(reply.status, 200);
      assertShape(TaskPageBody, reply.body);
      assert.ok(reply.body.tasks.length <= 2);
      seen.push(...reply.body.tasks.map((task: { id: string }) => task.id));
      cursor = reply.body.next_cursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    assert.equal(pages, 3);
  });

  await t.step("should match q against the command, ignoring case", async () => {
    const reply = await app.request("GET", "/api/v1/tasks?q=backup");
    const commands = reply.body.tasks.map((task: { command: string }) => task.command);
    assert.deepEqual(commands, ["BACKUP files", "backup db"]);
    const none = await app.request("GET", `/api/v1/tasks?q=${encodeURIComponent("100%_")}`);
    assert.deepEqual(none.body.tasks, []);
  });

  await t.step("should filter on the status GET status reports", async () => {
    await report(app, ids[1], { server_id: "web-1", stderr: "disk full", exit_code: 1 });
    await report(app, ids[2], { server_id: "web-1", stdout: "ok", exit_code: 0 });
    const failing = await app.request("GET", "/api/v1/tasks?status=TASK_COMPLETED_ERROR");
    assert.deepEqual(failing.body.tasks.map((task: { id: string }) => task.id), [ids[1]]);
    const all = await app.request("GET", "/api/v1/tasks");
    for (const task of all.body.tasks) {
      const status = await app.request("GET", `/api/v1/tasks/${task.id}/status`);
      assert.equal(task.status, status.body.status, "the list agrees with GET status");
    }
  });

  await t.step("should hide deleted tasks unless asked, and filter on state", async () => {
    assert.equal((await app.request("POST", `/api/v1/tasks/${ids[3]}/pause`)).status, 200);
    assert.equal((await app.request("DELETE", `/api/v1/tasks/${ids[4]}`)).status, 204);
    const listed = await app.request("GET", "/api/v1/tasks");
    assert.ok(!listed.body.tasks.some((task: { id: string }) => task.id === ids[4]));
    const paused = await app.request("GET", "/api/v1/tasks?state=paused");
    assert.deepEqual(paused.body.tasks.map((task: { id: string }) => task.id), [ids[3]]);
    const deleted = await app.request("GET", "/api/v1/tasks?state=deleted,paused");
    assert.deepEqual(deleted.body.tasks.map((task: { id: string }) => task.id), [ids[4], ids[3]]);
    assert.equal(deleted.body.tasks[0].state, "deleted");
    assert.ok(deleted.body.tasks[0].deleted_at);
  });

  await t.step("should refuse bad query parameters with 400 naming them", async () => {
    const cases: [string, string][] = [
      ["limit=0", "limit"],
      ["limit=501", "limit"],
      ["limit=ten", "limit"],
      ["status=DONE", "status"],
      ["state=gone", "state"],
      ["cursor=bm9wZQ", "cursor"],
      ["cursor=%%%", "cursor"],
      ["limit=1&limit=2", "limit"],
    ];
    for (const [query, field] of cases) {
      const reply = await app.request("GET", `/api/v1/tasks?${query}`);
      assert.equal(reply.status, 400, query);
      assert.equal(reply.body.field, field, query);
    }
    const unknown = await app.request("GET", "/api/v1/tasks?sort=name");
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body.fields, ["sort"]);
  });
});

Deno.test("GET /api/v1/tasks/{task_id}", async (t) => {
  await using app = await startTestApp();

  await t.step("should show the definition and each host's state", async () => {
    const id = await createTask(app, {
      command: "uptime",
      timezone: "Europe/Paris",
      timeout_seconds: 30,
      targets: { labels: { env: "test" } },
    });
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-a"));
    await ws.next("sync");
    ws.send({ type: "task.accepted", task_id: id, revision: 1 });
    await report(app, id, { server_id: "web-9", stdout: "up", exit_code: 0 });
    const reply = await app.request("GET", `/api/v1/tasks/${id}`);
    assert.equal(reply.status, 200);
    assertShape(TaskDetailBody, reply.body);
    const { hosts, created_at: _c, updated_at: _u, latest_complete_execution_timestamp, ...task } =
      reply.body;
    assert.deepEqual(task, {
      id,
      command: "uptime",
      frequency: "0 3 * * *",
      timezone: "Europe/Paris",
      timeout_seconds: 30,
      targets: { labels: { env: "test" } },
      mode: "all",
      state: "active",
      revision: 1,
      status: "TASK_COMPLETED_SUCCESS",
      deleted_at: null,
    });
    assert.ok(latest_complete_execution_timestamp);
    assert.deepEqual(hosts.map((h: { server_id: string }) => h.server_id), ["host-a", "web-9"]);
    const [a, web] = hosts;
    assert.equal(a.connected, true);
    assert.ok(a.state === "accepted" || a.state === "sent");
    assert.equal(a.latest_execution, null);
    assert.equal(web.connected, false);
    assert.equal(web.state, null);
    assert.equal(web.latest_execution.status, "TASK_COMPLETED_SUCCESS");
  });

  await t.step("should answer 404 for an unknown task and 400 for a malformed id", async () => {
    assert.equal((await app.request("GET", `/api/v1/tasks/${UNKNOWN}`)).status, 404);
    const bad = await app.request("GET", "/api/v1/tasks/42");
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /Malformed task id/);
  });
});

Deno.test("PATCH /api/v1/tasks/{task_id}", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app, { command: "echo one", frequency: "*/5 * * * *" });
  await using ws = await connectWs(app.url, { token: app.adminToken });
  ws.send(hello("host-a"));
  await ws.next("sync");

  await t.step("should change the task, bump its revision and push it to its hosts", async () => {
    const reply = await app.request("PATCH", `/api/v1/tasks/${id}`, {
      command: "echo two",
      timeout_seconds: 10,
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assertShape(TaskDetailBody, reply.body);
    assert.equal(reply.body.command, "echo two");
    assert.equal(reply.body.frequency, "*/5 * * * *", "fields not named are kept");
    assert.equal(reply.body.revision, 2);
    const upsert = await ws.next("task.upsert", (m) => m.task.id === id);
    assert.deepEqual(upsert.task, {
      id,
      command: "echo two",
      frequency: "*/5 * * * *",
      timezone: "UTC",
      timeout_seconds: 10,
      revision: 2,
      mode: "all",
    });
  });

  await t.step("should clear the timeout and the targets with null", async () => {
    await app.request("PATCH", `/api/v1/tasks/${id}`, { targets: { server_ids: ["host-a"] } });
    const reply = await app.request("PATCH", `/api/v1/tasks/${id}`, {
      timeout_seconds: null,
      targets: null,
    });
    assert.equal(reply.body.timeout_seconds, null);
    assert.deepEqual(reply.body.targets, {});
  });

  await t.step("should check the frequency against the task's own timezone", async () => {
    await app.request("PATCH", `/api/v1/tasks/${id}`, { timezone: "Asia/Tokyo" });
    const reply = await app.request("PATCH", `/api/v1/tasks/${id}`, { frequency: "0 9 * * 1-5" });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.timezone, "Asia/Tokyo");
  });

  await t.step(
    "should refuse an invalid change with 422 TASK_INVALID, changing nothing",
    async () => {
      // The earlier changes are pushed to the host asynchronously; snapshot once they landed.
      const before = await waitFor(async () => {
        const task = (await app.request("GET", `/api/v1/tasks/${id}`)).body;
        const settled = task.hosts.every((h: { revision: number | null }) =>
          h.revision === null || h.revision === task.revision
        );
        return settled && task;
      }, { what: "the task's pushes to settle" });
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ frequency: "61 * * * *" }, "frequency", /Invalid cron expression/],
        [{ frequency: "0 0 30 2 *" }, "frequency", /never fires/],
        [{ timezone: "Mars/Olympus" }, "timezone", /Unknown timezone/],
        [{ command: "  " }, "command", /must not be empty/],
        [{ targets: { server_ids: [] } }, "targets.server_ids", /must not be empty/],
        [{ targets: { hosts: ["a"] } }, "targets", /Unrecognized key/],
        [{ mode: "some" }, "mode", /Invalid option/],
        [{}, "", /Nothing to change/],
      ];
      for (const [body, field, error] of cases) {
        const reply = await app.request("PATCH", `/api/v1/tasks/${id}`, body);
        assert.equal(reply.status, 422, JSON.stringify(body));
        assert.equal(reply.body.status, "TASK_INVALID");
        assert.equal(reply.body.field ?? "", field, JSON.stringify(body));
        assert.match(reply.body.error, error);
      }
      const after = (await app.request("GET", `/api/v1/tasks/${id}`)).body;
      assert.deepEqual(after, before);
    },
  );

  await t.step("should refuse unknown fields and bodies that are not JSON", async () => {
    const unknown = await app.request("PATCH", `/api/v1/tasks/${id}`, { name: "x" });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body.fields, ["name"]);
    const text = await app.request("PATCH", `/api/v1/tasks/${id}`, "command=x", {
      "content-type": "text/plain",
    });
    assert.equal(text.status, 415);
  });

  await t.step("should answer 404 for an unknown or deleted task", async () => {
    const unknown = await app.request("PATCH", `/api/v1/tasks/${UNKNOWN}`, { command: "x" });
    assert.equal(unknown.status, 404);
    const gone = await createTask(app);
    await app.request("DELETE", `/api/v1/tasks/${gone}`);
    assert.equal(
      (await app.request("PATCH", `/api/v1/tasks/${gone}`, { command: "x" })).status,
      404,
    );
  });
});

Deno.test("pausing, resuming and deleting a task", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app, { command: "echo paused" });
  await using ws = await connectWs(app.url, { token: app.adminToken });
  ws.send(hello("host-a"));
  assert.ok((await ws.next("sync")).tasks.some((task) => task.id === id));

  await t.step("should take a paused task off its hosts and keep it off at sync", async () => {
    const reply = await app.request("POST", `/api/v1/tasks/${id}/pause`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.state, "paused");
    await ws.next("task.delete", (m) => m.task_id === id);
    await using again = await connectWs(app.url, { token: app.adminToken });
    again.send(hello("host-b"));
    assert.ok(!(await again.next("sync")).tasks.some((task) => task.id === id));
    const twice = await app.request("POST", `/api/v1/tasks/${id}/pause`);
    assert.equal(twice.status, 200, "pausing a paused task changes nothing");
    assert.equal(twice.body.revision, 1);
  });

  await t.step("should give a resumed task back with a newer revision", async () => {
    const reply = await app.request("POST", `/api/v1/tasks/${id}/resume`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.state, "active");
    const upsert = await ws.next("task.upsert", (m) => m.task.id === id);
    assert.equal(upsert.task.revision, 2);
  });

  await t.step("should unschedule a deleted task but keep it readable", async () => {
    await report(app, id, { server_id: "web-1", stdout: "kept" });
    const reply = await app.request("DELETE", `/api/v1/tasks/${id}`);
    assert.equal(reply.status, 204);
    assert.equal(reply.body, null);
    await ws.next("task.delete", (m) => m.task_id === id);
    const shown = await app.request("GET", `/api/v1/tasks/${id}`);
    assert.equal(shown.body.state, "deleted");
    const history = await app.request("GET", `/api/v1/tasks/${id}/executions`);
    assert.equal(history.body.executions.length, 1);
  });

  await t.step("should answer 404 to any change of a deleted or unknown task", async () => {
    for (
      const [method, path] of [
        ["DELETE", ""],
        ["POST", "/pause"],
        ["POST", "/resume"],
        ["POST", "/run"],
      ]
    ) {
      assert.equal((await app.request(method, `/api/v1/tasks/${id}${path}`)).status, 404, path);
      const unknown = await app.request(method, `/api/v1/tasks/${UNKNOWN}${path}`);
      assert.equal(unknown.status, 404, path);
      assert.equal((await app.request(method, `/api/v1/tasks/nope${path}`)).status, 400, path);
    }
  });
});
