import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "./helpers/app.ts";

async function addHost(t: TestApp, id: string) {
  await t.sql`insert into servers (id) values (${id}) on conflict do nothing`;
}

async function setHostState(t: TestApp, taskId: string, host: string, state: string) {
  await addHost(t, host);
  await t.sql`
    insert into task_servers (task_id, server_id, state, revision)
    values (${taskId}, ${host}, ${state}, 1)
    on conflict (task_id, server_id) do update set state = excluded.state`;
}

interface Run {
  host: string;
  status: string;
  started: string;
  finished?: string;
  stdout?: string;
  stderr?: string;
}

async function addRun(t: TestApp, taskId: string, run: Run) {
  await addHost(t, run.host);
  await t.sql`
    insert into executions (id, task_id, server_id, status, started_at, finished_at, stdout,
                            stderr)
    values (${crypto.randomUUID()}, ${taskId}, ${run.host}, ${run.status}, ${run.started},
            ${run.finished ?? null}, ${run.stdout ?? null}, ${run.stderr ?? null})`;
}

const status = (t: TestApp, id: string) => t.request("GET", `/api/v1/tasks/${id}/status`);

Deno.test("GET /api/v1/tasks/{task_id}/status", async (t) => {
  await using app = await startTestApp();

  await t.step("should answer TASK_RECEIVED with nulls for a new task", async () => {
    const id = await app.createTask({ command: "echo new" });
    const reply = await status(app, id);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {
      status: "TASK_RECEIVED",
      command: "echo new",
      frequency: "* * * * *",
      latest_complete_execution_timestamp: null,
      stdout: null,
      stderr: null,
    });
  });

  await t.step("should answer 404 for an unknown id and 400 for a malformed one", async () => {
    const unknown = await status(app, crypto.randomUUID());
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, "Task not found");
    for (const bad of ["42", "not-a-uuid", "0b0e1b7e-1111-4111-8111-11111111111"]) {
      const reply = await status(app, bad);
      assert.equal(reply.status, 400, bad);
      assert.match(reply.body.error, /^Malformed task id/);
    }
  });

  await t.step("should be TASK_SCHEDULED once one host accepted it", async () => {
    const id = await app.createTask();
    await setHostState(app, id, "host-a", "rejected");
    await setHostState(app, id, "host-b", "sent");
    assert.equal((await status(app, id)).body.status, "TASK_RECEIVED");
    await setHostState(app, id, "host-c", "accepted");
    assert.equal((await status(app, id)).body.status, "TASK_SCHEDULED");
  });

  await t.step("should be TASK_INVALID when every host that received it rejected it", async () => {
    const id = await app.createTask();
    await setHostState(app, id, "host-a", "rejected");
    await setHostState(app, id, "host-b", "rejected");
    assert.equal((await status(app, id)).body.status, "TASK_INVALID");
  });

  await t.step(
    "should follow the execution with the newest started_at over all hosts",
    async () => {
      const id = await app.createTask();
      await setHostState(app, id, "host-a", "accepted");
      await addRun(app, id, {
        host: "host-a",
        status: "TASK_COMPLETED_SUCCESS",
        started: "2026-01-01T00:00:00Z",
        finished: "2026-01-01T00:00:05Z",
        stdout: "old out",
        stderr: "old err",
      });
      let reply = await status(app, id);
      assert.equal(reply.body.status, "TASK_COMPLETED_SUCCESS");
      assert.equal(reply.body.stdout, "old out");
      assert.equal(reply.body.stderr, null);
      assert.equal(reply.body.latest_complete_execution_timestamp, "2026-01-01T00:00:05.000Z");

      await addRun(app, id, {
        host: "host-b",
        status: "TASK_COMPLETED_ERROR",
        started: "2026-01-01T00:01:00Z",
        finished: "2026-01-01T00:01:02Z",
        stdout: "b out",
        stderr: "b failed",
      });
      reply = await status(app, id);
      assert.equal(reply.body.status, "TASK_COMPLETED_ERROR");
      assert.equal(reply.body.stdout, null);
      assert.equal(reply.body.stderr, "b failed");
      assert.equal(reply.body.latest_complete_execution_timestamp, "2026-01-01T00:01:02.000Z");

      await addRun(app, id, {
        host: "host-a",
        status: "TASK_EXECUTING",
        started: "2026-01-01T00:02:00Z",
      });
      reply = await status(app, id);
      assert.deepEqual(reply.body, {
        status: "TASK_EXECUTING",
        command: "echo hi",
        frequency: "* * * * *",
        latest_complete_execution_timestamp: "2026-01-01T00:01:02.000Z",
        stdout: null,
        stderr: null,
      });
    },
  );

  await t.step(
    "should take the timestamp from the newest completed run, not the newest start",
    async () => {
      const id = await app.createTask();
      await addRun(app, id, {
        host: "host-a",
        status: "TASK_COMPLETED_SUCCESS",
        started: "2026-02-01T00:00:00Z",
        finished: "2026-02-01T00:10:00Z",
        stdout: "long",
      });
      await addRun(app, id, {
        host: "host-b",
        status: "TASK_COMPLETED_SUCCESS",
        started: "2026-02-01T00:05:00Z",
        finished: "2026-02-01T00:05:01Z",
        stdout: "short",
      });
      const reply = await status(app, id);
      assert.equal(reply.body.stdout, "short");
      assert.equal(reply.body.latest_complete_execution_timestamp, "2026-02-01T00:10:00.000Z");
    },
  );
});
