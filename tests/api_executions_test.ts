import assert from "node:assert/strict";
import { ExecutionBody, ExecutionPageBody } from "../server/api_schemas.ts";
import type { ExecutionResult } from "../shared/protocol.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { sseEvents } from "./helpers/sse.ts";
import { assertShape, createTask } from "./helpers/tasks.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello, type WsClient } from "./helpers/ws_client.ts";

const UNKNOWN = "7b0c6a2e-8f7e-4a47-9a55-3b1f0b2a9f10";

/** A finished result starting `startSecond` seconds into 2026-12-03T10:00Z. */
function result(
  taskId: string,
  startSecond: number,
  extra: Partial<ExecutionResult> = {},
): ExecutionResult & { type: "execution.finished" } {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 3, 10, 0, s)).toISOString();
  return {
    type: "execution.finished",
    execution_id: crypto.randomUUID() as string,
    task_id: taskId,
    scheduled_for: at(startSecond),
    started_at: at(startSecond),
    finished_at: at(startSecond + 2),
    exit_code: 0,
    error: null,
    stdout: `run ${startSecond}\n`,
    stderr: "",
    stdout_dropped_bytes: 0,
    stderr_dropped_bytes: 0,
    schedule_lag_ms: 12,
    ...extra,
  };
}

async function deliver(ws: WsClient, message: ExecutionResult) {
  ws.send({ type: "execution.finished", ...message });
  await ws.next("execution.ack", (m) => m.execution_id === message.execution_id);
}

async function agent(app: TestApp, serverId: string): Promise<WsClient> {
  const ws = await connectWs(app.url, { token: app.adminToken });
  ws.send(hello(serverId));
  await ws.next("sync");
  return ws;
}

Deno.test("execution history", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app);
  await using a = await agent(app, "host-a");
  await using b = await agent(app, "host-b");
  const runs = {
    a0: result(id, 0),
    b1: result(id, 1, { exit_code: 2, stderr: "bad\n" }),
    a2: result(id, 2, { stdout_dropped_bytes: 100 }),
    b3: result(id, 3),
    a4: result(id, 4, { exit_code: null, error: "Timed out after 1 s" }),
  };
  for (const [name, run] of Object.entries(runs)) await deliver(name[0] === "a" ? a : b, run);
  const list = async (query = "") => {
    const reply = await app.request("GET", `/api/v1/tasks/${id}/executions${query}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assertShape(ExecutionPageBody, reply.body);
    return reply.body;
  };
  const ids = (page: { executions: { id: string }[] }) => page.executions.map((e) => e.id);

  await t.step("should list executions newest first, with a cursor", async () => {
    const first = await list("?limit=3");
    assert.deepEqual(ids(first), [runs.a4, runs.b3, runs.a2].map((r) => r.execution_id));
    const second = await list(`?limit=3&cursor=${first.next_cursor}`);
    assert.deepEqual(ids(second), [runs.b1, runs.a0].map((r) => r.execution_id));
    assert.equal(second.next_cursor, null);
    const [newest] = first.executions;
    assert.equal(newest.status, "TASK_COMPLETED_ERROR");
    assert.equal(newest.error, "Timed out after 1 s");
    assert.equal(newest.duration_ms, 2000);
    assert.equal(first.executions[2].truncated, true);
    assert.equal(first.executions[2].stdout_dropped_bytes, 100);
  });

  await t.step("should filter by host, status and time range", async () => {
    assert.deepEqual(
      ids(await list("?server_id=host-b")),
      [runs.b3, runs.b1].map((r) => r.execution_id),
    );
    assert.deepEqual(
      ids(await list("?status=TASK_COMPLETED_ERROR")),
      [runs.a4, runs.b1].map((r) => r.execution_id),
    );
    assert.deepEqual(
      ids(await list("?since=2026-12-03T10:00:01Z&until=2026-12-03T10:00:03Z")),
      [runs.a2, runs.b1].map((r) => r.execution_id),
    );
  });

  await t.step("should refuse bad filters with 400 and unknown tasks with 404", async () => {
    for (const query of ["?status=TASK_SCHEDULED", "?since=yesterday", "?server_id=a%20b"]) {
      const reply = await app.request("GET", `/api/v1/tasks/${id}/executions${query}`);
      assert.equal(reply.status, 400, query);
    }
    const unknown = await app.request("GET", `/api/v1/tasks/${UNKNOWN}/executions`);
    assert.equal(unknown.status, 404);
  });

  await t.step("should show one execution with both streams", async () => {
    const reply = await app.request("GET", `/api/v1/executions/${runs.b1.execution_id}`);
    assert.equal(reply.status, 200);
    assertShape(ExecutionBody, reply.body);
    assert.equal(reply.body.stdout, "run 1\n");
    assert.equal(reply.body.stderr, "bad\n");
    assert.equal(reply.body.exit_code, 2);
    assert.equal(reply.body.scheduled_for, "2026-12-03T10:00:01.000Z");
    assert.equal(reply.body.finished_at, "2026-12-03T10:00:03.000Z");
    assert.equal(reply.body.schedule_lag_ms, 12);
    assert.equal((await app.request("GET", `/api/v1/executions/${UNKNOWN}`)).status, 404);
    assert.equal((await app.request("GET", "/api/v1/executions/12")).status, 400);
  });
});

Deno.test("POST /api/v1/tasks/{task_id}/run", async (t) => {
  await using app = await startTestApp();
  await using a = await agent(app, "host-a");
  await using b = await agent(app, "host-b");

  await t.step("should ask every connected targeted host to run it now", async () => {
    const id = await createTask(app, { command: "echo now" });
    const reply = await app.request("POST", `/api/v1/tasks/${id}/run`);
    assert.equal(reply.status, 202);
    assert.deepEqual(reply.body, { task_id: id, server_ids: ["host-a", "host-b"] });
    for (const ws of [a, b]) {
      const run = await ws.next("task.run", (m) => m.task.id === id);
      assert.equal(run.task.command, "echo now");
    }
  });

  await t.step("should ask just one host for a mode one task, even paused", async () => {
    const id = await createTask(app, { mode: "one" });
    await app.request("POST", `/api/v1/tasks/${id}/pause`);
    const reply = await app.request("POST", `/api/v1/tasks/${id}/run`);
    assert.equal(reply.status, 202);
    assert.equal(reply.body.server_ids.length, 1);
    const ws = reply.body.server_ids[0] === "host-a" ? a : b;
    await ws.next("task.run", (m) => m.task.id === id);
  });

  await t.step("should answer 409 when no targeted host is connected", async () => {
    const id = await createTask(app, { targets: { server_ids: ["host-z"] } });
    const reply = await app.request("POST", `/api/v1/tasks/${id}/run`);
    assert.equal(reply.status, 409);
    assert.match(reply.body.error, /No connected host/);
  });
});

Deno.test("POST /api/v1/executions/{execution_id}/kill", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app);
  await using a = await agent(app, "host-a");
  const running = result(id, 0);
  a.send({
    type: "execution.started",
    execution_id: running.execution_id,
    task_id: id,
    scheduled_for: running.scheduled_for,
    started_at: running.started_at,
  });
  await waitFor(async () => (await app.store.execution(running.execution_id))?.status, {
    what: "the execution to be recorded",
  });

  await t.step("should send the kill to the host running it", async () => {
    const reply = await app.request("POST", `/api/v1/executions/${running.execution_id}/kill`);
    assert.equal(reply.status, 202);
    assert.deepEqual(reply.body, { execution_id: running.execution_id, server_id: "host-a" });
    await a.next("execution.kill", (m) => m.execution_id === running.execution_id);
  });

  await t.step("should answer 409 once it is no longer running", async () => {
    await deliver(a, { ...running, exit_code: null, error: "Killed on request" });
    const reply = await app.request("POST", `/api/v1/executions/${running.execution_id}/kill`);
    assert.equal(reply.status, 409);
    assert.equal(reply.body.execution_status, "TASK_COMPLETED_ERROR");
  });

  await t.step("should answer 409 when its host is not connected", async () => {
    const other = result(id, 5);
    {
      await using gone = await agent(app, "host-gone");
      gone.send({
        type: "execution.started",
        execution_id: other.execution_id,
        task_id: id,
        scheduled_for: other.scheduled_for,
        started_at: other.started_at,
      });
      await waitFor(async () => await app.store.execution(other.execution_id), {
        what: "the execution to be recorded",
      });
    }
    await waitFor(async () => !(await app.store.server("host-gone"))?.connected, {
      what: "host-gone to be disconnected",
    });
    const reply = await app.request("POST", `/api/v1/executions/${other.execution_id}/kill`);
    assert.equal(reply.status, 409);
    assert.match(reply.body.error, /not connected/);
  });

  await t.step("should answer 404 for an unknown execution, 400 for a malformed id", async () => {
    assert.equal((await app.request("POST", `/api/v1/executions/${UNKNOWN}/kill`)).status, 404);
    assert.equal((await app.request("POST", "/api/v1/executions/x/kill")).status, 400);
  });
});

Deno.test("GET /api/v1/executions/{execution_id}/stream", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app);
  await using a = await agent(app, "host-a");

  await t.step("should stream live output and end with the final status", async () => {
    const run = result(id, 0, { stdout: "one\ntwo\n", stderr: "warn\n", exit_code: 3 });
    const ref = { execution_id: run.execution_id, task_id: id };
    a.send({
      type: "execution.started",
      ...ref,
      scheduled_for: run.scheduled_for,
      started_at: run.started_at,
    });
    a.send({ type: "execution.output", ...ref, chunks: [{ stream: "stdout", data: "one\n" }] });
    await waitFor(async () => await app.store.execution(run.execution_id), {
      what: "the execution to be recorded",
    });
    const response = await fetch(`${app.url}/api/v1/executions/${run.execution_id}/stream`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = sseEvents(response);
    try {
      const first = await events.next();
      assert.deepEqual(first.value, {
        event: "output",
        data: JSON.stringify({ stream: "stdout", data: "one\n" }),
      }, "what was printed before subscribing comes first");
      a.send({
        type: "execution.output",
        ...ref,
        chunks: [{ stream: "stdout", data: "two\n" }, { stream: "stderr", data: "warn\n" }],
      });
      assert.equal(JSON.parse((await events.next()).value!.data).data, "two\n");
      assert.equal(JSON.parse((await events.next()).value!.data).stream, "stderr");
      a.send(run);
      const end = await events.next();
      assert.equal(end.value!.event, "end");
      assert.deepEqual(JSON.parse(end.value!.data), {
        execution_id: run.execution_id,
        status: "TASK_COMPLETED_ERROR",
        exit_code: 3,
        error: null,
        finished_at: run.finished_at,
      });
      assert.equal((await events.next()).done, true, "the stream ends");
    } finally {
      await events.return(undefined);
    }
  });

  await t.step("should replay the stored output of a finished execution", async () => {
    const run = result(id, 10, { stdout: "all done\n" });
    await deliver(a, run);
    const response = await fetch(`${app.url}/api/v1/executions/${run.execution_id}/stream`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    const seen = [];
    for await (const event of sseEvents(response)) seen.push(event);
    assert.deepEqual(seen.map((e) => e.event), ["output", "end"]);
    assert.equal(JSON.parse(seen[0].data).data, "all done\n");
    assert.equal(JSON.parse(seen[1].data).status, "TASK_COMPLETED_SUCCESS");
  });

  await t.step("should answer 404 for an unknown execution", async () => {
    const reply = await app.request("GET", `/api/v1/executions/${UNKNOWN}/stream`);
    assert.equal(reply.status, 404);
  });
});
