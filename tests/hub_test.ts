import assert from "node:assert/strict";
import {
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_PROTOCOL_MISMATCH,
  CLOSE_REPLACED,
} from "../shared/protocol.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello } from "./helpers/ws_client.ts";

const taskStatus = async (app: TestApp, id: string) =>
  (await app.request("GET", `/api/v1/tasks/${id}/status`)).body;

function result(taskId: string, extra: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  return {
    type: "execution.finished",
    execution_id: crypto.randomUUID(),
    task_id: taskId,
    scheduled_for: now,
    started_at: now,
    finished_at: now,
    exit_code: 0,
    error: null,
    stdout: "out\n",
    stderr: "",
    stdout_dropped_bytes: 0,
    stderr_dropped_bytes: 0,
    schedule_lag_ms: 1.5,
    ...extra,
  };
}

Deno.test("the agent hub", async (t) => {
  await using app = await startTestApp({ TASKSCHEDULER_MAX_MESSAGE_BYTES: "4096" });
  const existing = await app.createTask({ command: "echo existing", frequency: "* * * * * *" });

  await t.step("should answer hello with a sync of every task and record the host", async () => {
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-a", { labels: { env: "prod", rack: "r1" } }));
    const sync = await ws.next("sync");
    const task = sync.tasks.find((x) => x.id === existing);
    assert.deepEqual(task, {
      id: existing,
      command: "echo existing",
      frequency: "* * * * * *",
      timezone: "UTC",
      timeout_seconds: null,
      revision: 1,
      mode: "all",
    });
    const [host] = await app.sql`
      select hostname, labels, connected_to from servers where id = 'host-a'`;
    assert.deepEqual({ ...host }, {
      hostname: "host-a.example",
      labels: { env: "prod", rack: "r1" },
      connected_to: "test-instance",
    });
    const [sent] = await app.sql`
      select state from task_servers where task_id = ${existing} and server_id = 'host-a'`;
    assert.equal(sent.state, "sent");
  });

  await t.step("should mark a host disconnected when its socket closes", async () => {
    await waitFor(async () => {
      const [host] = await app.sql`select connected_to from servers where id = 'host-a'`;
      return host.connected_to === null;
    }, { what: "host-a to be marked disconnected" });
  });

  await t.step("should push a new task at once and follow accepted and rejected", async () => {
    await using a = await connectWs(app.url, { token: app.adminToken });
    await using b = await connectWs(app.url, { token: app.adminToken });
    a.send(hello("host-a"));
    b.send(hello("host-b"));
    await a.next("sync");
    await b.next("sync");
    const id = await app.createTask({ command: "echo pushed", frequency: "* * * * * *" });
    const upsertA = await a.next("task.upsert", (m) => m.task.id === id);
    await b.next("task.upsert", (m) => m.task.id === id);
    assert.equal(upsertA.task.command, "echo pushed");
    assert.equal((await taskStatus(app, id)).status, "TASK_RECEIVED");
    a.send({ type: "task.rejected", task_id: id, revision: 1, reason: "no shell" });
    await waitFor(async () => {
      const [r] = await app.sql`
        select reason from task_servers where task_id = ${id} and server_id = 'host-a'`;
      return r?.reason === "no shell";
    }, { what: "the rejection" });
    assert.equal((await taskStatus(app, id)).status, "TASK_RECEIVED", "host-b has not answered");
    b.send({ type: "task.rejected", task_id: id, revision: 1, reason: "no shell" });
    await waitFor(async () => (await taskStatus(app, id)).status === "TASK_INVALID", {
      what: "TASK_INVALID",
    });
    b.send({ type: "task.accepted", task_id: id, revision: 1 });
    await waitFor(async () => (await taskStatus(app, id)).status === "TASK_SCHEDULED", {
      what: "TASK_SCHEDULED",
    });
  });

  await t.step("should store a run and ack it only once it is committed", async () => {
    const id = await app.createTask({ command: "echo run", frequency: "* * * * * *" });
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-c"));
    await ws.next("sync");
    const finished = result(id, { stdout: "hello from c\n" });
    ws.send({
      type: "execution.started",
      execution_id: finished.execution_id,
      task_id: id,
      scheduled_for: finished.scheduled_for,
      started_at: finished.started_at,
    });
    await waitFor(async () => (await taskStatus(app, id)).status === "TASK_EXECUTING", {
      what: "TASK_EXECUTING",
    });
    ws.send(finished);
    await ws.next("execution.ack", (m) => m.execution_id === finished.execution_id);
    const [row] = await app.sql`
      select status, stdout, schedule_lag_ms from executions where id = ${finished.execution_id}`;
    assert.deepEqual({ ...row }, {
      status: "TASK_COMPLETED_SUCCESS",
      stdout: "hello from c\n",
      schedule_lag_ms: 1.5,
    });
    const body = await taskStatus(app, id);
    assert.equal(body.status, "TASK_COMPLETED_SUCCESS");
    assert.equal(body.stdout, "hello from c\n");

    ws.send(finished);
    await ws.next("execution.ack", (m) => m.execution_id === finished.execution_id);
    const [{ count }] = await app.sql`
      select count(*)::int as count from executions where task_id = ${id}`;
    assert.equal(count, 1, "a result sent twice is stored once");

    const failed = result(id, { exit_code: null, error: "Timed out after 1 s", stderr: "late" });
    ws.send(failed);
    await ws.next("execution.ack", (m) => m.execution_id === failed.execution_id);
    const [row2] = await app.sql`select status from executions where id = ${failed.execution_id}`;
    assert.equal(row2.status, "TASK_COMPLETED_ERROR");
  });

  await t.step(
    "should answer a malformed message with an error and keep the connection",
    async () => {
      await using ws = await connectWs(app.url, { token: app.adminToken });
      ws.sendRaw("{not json");
      assert.match((await ws.next("error")).error, /not valid JSON/);
      ws.send({ type: "execution.finished", execution_id: "x" });
      assert.match((await ws.next("error")).error, /^Invalid message: /);
      ws.send({ type: "teleport" });
      await ws.next("error");
      ws.send({ type: "pong", nonce: "1" });
      assert.match((await ws.next("error")).error, /first message must be a hello/);
      ws.sendRaw(new Uint8Array([1, 2, 3]));
      assert.match((await ws.next("error")).error, /JSON text frames/);
      ws.send(hello("host-d"));
      await ws.next("sync");
      assert.equal(ws.closed, undefined);
    },
  );

  await t.step("should refuse an oversized message without storing it", async () => {
    const id = await app.createTask({ command: "echo big", frequency: "* * * * * *" });
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-e"));
    await ws.next("sync");
    const big = result(id, { stdout: "x".repeat(8192) });
    ws.send(big);
    assert.match((await ws.next("error")).error, /larger than 4096 bytes/);
    const [row] = await app.sql`select 1 from executions where id = ${big.execution_id}`;
    assert.equal(row, undefined);
    const small = result(id);
    ws.send(small);
    await ws.next("execution.ack", (m) => m.execution_id === small.execution_id);
  });

  await t.step("should close an agent speaking another protocol version", async () => {
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-f", { protocol: 99 }));
    const closed = await ws.waitClosed();
    assert.equal(closed.code, CLOSE_PROTOCOL_MISMATCH);
    assert.match(closed.reason, /Protocol version 99 is not supported; this server speaks 1/);
  });

  await t.step("should replace an older connection from the same host", async () => {
    await using first = await connectWs(app.url, { token: app.adminToken });
    first.send(hello("host-g"));
    await first.next("sync");
    await using second = await connectWs(app.url, { token: app.adminToken });
    second.send(hello("host-g"));
    await second.next("sync");
    assert.equal((await first.waitClosed()).code, CLOSE_REPLACED);
    const [host] = await app.sql`select connected_to from servers where id = 'host-g'`;
    assert.equal(host.connected_to, "test-instance");
  });

  await t.step("should close runs a host no longer knows, yet take their real result", async () => {
    const id = await app.createTask({ command: "echo lost", frequency: "* * * * * *" });
    const lost = result(id, { stdout: "finished after all" });
    const running = result(id);
    {
      await using ws = await connectWs(app.url, { token: app.adminToken });
      ws.send(hello("host-h"));
      await ws.next("sync");
      for (const r of [lost, running]) {
        const { execution_id, scheduled_for, started_at } = r;
        ws.send({
          type: "execution.started",
          execution_id,
          task_id: id,
          scheduled_for,
          started_at,
        });
      }
      await waitFor(async () => {
        const [{ count }] = await app.sql`
          select count(*)::int as count from executions
           where server_id = 'host-h' and status = 'TASK_EXECUTING'`;
        return count === 2;
      }, { what: "both runs to be executing" });
    }
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-h", { running: [{ execution_id: running.execution_id, task_id: id }] }));
    await ws.next("sync");
    const [closed] = await app
      .sql`select status, stderr from executions where id = ${lost.execution_id}`;
    assert.equal(closed.status, "TASK_COMPLETED_ERROR");
    assert.match(closed.stderr, /restarted or lost this execution/);
    const [still] = await app.sql`select status from executions where id = ${running.execution_id}`;
    assert.equal(still.status, "TASK_EXECUTING");
    ws.send(lost);
    await ws.next("execution.ack", (m) => m.execution_id === lost.execution_id);
    const [real] = await app
      .sql`select status, stdout from executions where id = ${lost.execution_id}`;
    assert.deepEqual({ ...real }, {
      status: "TASK_COMPLETED_SUCCESS",
      stdout: "finished after all",
    });
  });
});

Deno.test("the agent hub keeps agents that answer pings and drops a silent one", async () => {
  await using app = await startTestApp({
    TASKSCHEDULER_HEARTBEAT_SECONDS: "1",
    TASKSCHEDULER_HEARTBEAT_TIMEOUT_SECONDS: "3",
  });
  await using ws = await connectWs(app.url, { token: app.adminToken });
  ws.send(hello("quiet-host"));
  await ws.next("sync");
  for (let i = 0; i < 4; i++) {
    const ping = await ws.next("ping");
    assert.ok(ping.nonce.length > 0);
    ws.send({ type: "pong", nonce: ping.nonce });
  }
  assert.equal(ws.closed, undefined, "an agent answering pings stays connected");
  const closed = await ws.waitClosed();
  assert.equal(closed.code, CLOSE_HEARTBEAT_TIMEOUT);
  await waitFor(async () => {
    const [host] = await app.sql`select connected_to from servers where id = 'quiet-host'`;
    return host.connected_to === null;
  }, { what: "the host to be marked disconnected" });
});
