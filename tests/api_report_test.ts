import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "./helpers/app.ts";

const report = (t: TestApp, id: string, body: unknown) =>
  t.request("PUT", `/api/v1/tasks/${id}/status`, body);

async function executionCount(t: TestApp, taskId?: string): Promise<number> {
  const [{ count }] = taskId
    ? await t.sql`select count(*)::int as count from executions where task_id = ${taskId}`
    : await t.sql`select count(*)::int as count from executions`;
  return count;
}

Deno.test("PUT /api/v1/tasks/{task_id}/status", async (t) => {
  await using app = await startTestApp({ TASKSCHEDULER_MAX_OUTPUT_BYTES: "1024" });
  const id = await app.createTask({ command: "backup.sh", frequency: "0 3 * * *" });

  await t.step("should store a completed run and answer with the new status", async () => {
    const reply = await report(app, id, { server_id: "web-1", stdout: "done\n", stderr: "" });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.status, "TASK_COMPLETED_SUCCESS");
    assert.equal(reply.body.stdout, "done\n");
    assert.equal(reply.body.stderr, null);
    assert.ok(reply.body.latest_complete_execution_timestamp);
    const [host] = await app.sql`select id from servers where id = 'web-1'`;
    assert.ok(host, "the reporting host is registered");
  });

  await t.step("should count a non-empty stderr without exit code as an error", async () => {
    const reply = await report(app, id, { server_id: "web-1", stdout: "", stderr: "boom" });
    assert.equal(reply.body.status, "TASK_COMPLETED_ERROR");
    assert.equal(reply.body.stderr, "boom");
    assert.equal(reply.body.stdout, null);
  });

  await t.step("should let exit_code decide over stderr", async () => {
    const later = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    let reply = await report(app, id, {
      server_id: "web-2",
      stdout: "ok",
      stderr: "warning: slow",
      exit_code: 0,
      started_at: later(1),
      finished_at: later(2),
    });
    assert.equal(reply.body.status, "TASK_COMPLETED_SUCCESS");
    reply = await report(app, id, {
      server_id: "web-2",
      stdout: "",
      stderr: "",
      exit_code: 2,
      started_at: later(3),
      finished_at: later(4),
    });
    assert.equal(reply.body.status, "TASK_COMPLETED_ERROR");
    assert.equal(reply.body.stderr, "");
  });

  await t.step(
    "should accept an explicit status and refuse one that contradicts exit_code",
    async () => {
      const ok = await report(app, id, {
        server_id: "web-3",
        stdout: "",
        stderr: "noise",
        status: "TASK_COMPLETED_SUCCESS",
        started_at: new Date(Date.now() + 10_000).toISOString(),
        finished_at: new Date(Date.now() + 11_000).toISOString(),
      });
      assert.equal(ok.body.status, "TASK_COMPLETED_SUCCESS");
      const before = await executionCount(app);
      const bad = await report(app, id, {
        server_id: "web-3",
        stdout: "",
        stderr: "",
        status: "TASK_COMPLETED_SUCCESS",
        exit_code: 1,
      });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.field, "status");
      assert.equal(await executionCount(app), before);
    },
  );

  await t.step("should store one execution for one execution_id sent twice", async () => {
    const execution_id = crypto.randomUUID();
    const body = { server_id: "web-4", stdout: "x", stderr: "", execution_id };
    const before = await executionCount(app, id);
    assert.equal((await report(app, id, body)).status, 200);
    assert.equal((await report(app, id, body)).status, 200);
    assert.equal(await executionCount(app, id), before + 1);
    const [row] = await app.sql`select server_id from executions where id = ${execution_id}`;
    assert.equal(row.server_id, "web-4");
  });

  await t.step("should answer 409 for an execution_id taken by another host", async () => {
    const execution_id = crypto.randomUUID();
    await report(app, id, { server_id: "web-5", stdout: "", stderr: "", execution_id });
    const reply = await report(app, id, {
      server_id: "web-6",
      stdout: "",
      stderr: "",
      execution_id,
    });
    assert.equal(reply.status, 409);
    assert.equal(reply.body.field, "execution_id");
  });

  await t.step("should store the given times", async () => {
    const execution_id = crypto.randomUUID();
    await report(app, id, {
      server_id: "web-7",
      stdout: "",
      stderr: "",
      execution_id,
      started_at: "2025-05-05T10:00:00+02:00",
      finished_at: "2025-05-05T08:00:30Z",
    });
    const [row] = await app.sql`
      select started_at, finished_at from executions where id = ${execution_id}`;
    assert.equal(row.started_at.toISOString(), "2025-05-05T08:00:00.000Z");
    assert.equal(row.finished_at.toISOString(), "2025-05-05T08:00:30.000Z");
  });

  await t.step("should refuse bad input and store nothing", async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ stdout: "", stderr: "" }, 422, /Missing field 'server_id'/],
      [{ server_id: "a b", stdout: "", stderr: "" }, 422, /Invalid field 'server_id'/],
      [{ server_id: "h", stdout: 1, stderr: "" }, 422, /Invalid field 'stdout'/],
      [{ server_id: "h", stdout: "", stderr: "", exit_code: 1.5 }, 422, /'exit_code'/],
      [{ server_id: "h", stdout: "", stderr: "", status: "TASK_EXECUTING" }, 422, /'status'/],
      [{ server_id: "h", stdout: "", stderr: "", execution_id: "nope" }, 422, /'execution_id'/],
      [{ server_id: "h", stdout: "", stderr: "", started_at: "yesterday" }, 422, /'started_at'/],
      [
        {
          server_id: "h",
          stdout: "",
          stderr: "",
          started_at: "2025-01-01T00:00:10Z",
          finished_at: "2025-01-01T00:00:00Z",
        },
        422,
        /started_at must not be after finished_at/,
      ],
      [{ server_id: "h", stdout: "a\u0000b", stderr: "" }, 422, /NUL/],
      [{ server_id: "h", stdout: "x".repeat(1025), stderr: "" }, 422, /longer than 1024 bytes/],
      [{ server_id: "h", stdout: "", stderr: "", exit: 0 }, 400, /Unknown field: 'exit'/],
      ["{", 400, /Malformed JSON/],
    ];
    const before = await executionCount(app);
    for (const [body, code, error] of cases) {
      const reply = await report(app, id, body);
      assert.equal(reply.status, code, JSON.stringify(body));
      assert.match(reply.body.error, error);
    }
    assert.equal(await executionCount(app), before);
  });

  await t.step("should answer 404 for an unknown task and 400 for a malformed id", async () => {
    const body = { server_id: "web-1", stdout: "", stderr: "" };
    const before = await executionCount(app);
    assert.equal((await report(app, crypto.randomUUID(), body)).status, 404);
    assert.equal((await report(app, "abc", body)).status, 400);
    assert.equal(await executionCount(app), before);
  });
});
