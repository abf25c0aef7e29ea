import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { createTask } from "./helpers/tasks.ts";
import { connectWs, hello } from "./helpers/ws_client.ts";

/** Parses the Prometheus text format into `name{labels}` → value, checking each line. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = sample.exec(line);
    assert.ok(match, `Not a Prometheus sample line: ${line}`);
    samples.set(match[1], Number(match[2]));
  }
  return samples;
}

async function scrape(app: TestApp): Promise<Map<string, number>> {
  const res = await app.app.request("/metrics", {
    headers: { authorization: `Bearer ${app.adminToken}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  return parseMetrics(await res.text());
}

Deno.test("GET /metrics", async (t) => {
  await using app = await startTestApp();

  await t.step("should need a token that may read", async () => {
    assert.equal((await app.app.request("/metrics")).status, 401);
    const { token } = await app.createToken("read");
    const res = await app.app.request("/metrics", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const agent = await app.createToken("agent", { serverId: "web-1" });
    const refused = await app.app.request("/metrics", {
      headers: { authorization: `Bearer ${agent.token}` },
    });
    assert.equal(refused.status, 403);
  });

  await t.step("should parse and show tasks by state and hosts", async () => {
    await createTask(app);
    const paused = await createTask(app);
    await app.request("POST", `/api/v1/tasks/${paused}/pause`);
    const metrics = await scrape(app);
    assert.equal(metrics.get('taskscheduler_tasks{state="active"}'), 1);
    assert.equal(metrics.get('taskscheduler_tasks{state="paused"}'), 1);
    assert.equal(metrics.get('taskscheduler_tasks{state="deleted"}'), 0);
    assert.equal(metrics.get('taskscheduler_hosts{state="connected"}'), 0);
  });

  await t.step("should move when agents connect and results are stored", async () => {
    const id = await createTask(app);
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("host-a"));
    await ws.next("sync");
    const before = await scrape(app);
    const now = new Date().toISOString();
    const execution_id = crypto.randomUUID();
    const result = {
      type: "execution.finished",
      execution_id,
      task_id: id,
      scheduled_for: now,
      started_at: now,
      finished_at: now,
      exit_code: 1,
      error: null,
      stdout: "",
      stderr: "no",
      stdout_dropped_bytes: 0,
      stderr_dropped_bytes: 0,
      schedule_lag_ms: 40,
    };
    ws.send(result);
    await ws.next("execution.ack");
    ws.send(result);
    await ws.next("execution.ack");
    const after = await scrape(app);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(after.get('taskscheduler_hosts{state="connected"}'), 1);
    assert.equal(
      delta('taskscheduler_executions_total{status="TASK_COMPLETED_ERROR"}'),
      1,
      "a result sent twice counts once",
    );
    assert.equal(delta("taskscheduler_schedule_lag_seconds_count"), 1);
    assert.equal(delta("taskscheduler_schedule_lag_seconds_sum"), 0.04);
    assert.equal(delta('taskscheduler_schedule_lag_seconds_bucket{le="0.05"}'), 1);
    assert.equal(delta("taskscheduler_result_ingestion_seconds_count"), 1);
    assert.equal(
      delta('taskscheduler_websocket_messages_total{direction="in",type="execution.finished"}'),
      2,
    );
    assert.equal(
      delta('taskscheduler_websocket_messages_total{direction="out",type="execution.ack"}'),
      2,
    );
  });

  await t.step("should count executions reported over HTTP too", async () => {
    const id = await createTask(app);
    const before = await scrape(app);
    const report = {
      server_id: "web-1",
      stdout: "ok",
      stderr: "",
      execution_id: crypto.randomUUID(),
    };
    for (let i = 0; i < 2; i++) {
      assert.equal((await app.request("PUT", `/api/v1/tasks/${id}/status`, report)).status, 200);
    }
    const after = await scrape(app);
    const name = 'taskscheduler_executions_total{status="TASK_COMPLETED_SUCCESS"}';
    assert.equal((after.get(name) ?? 0) - (before.get(name) ?? 0), 1);
  });

  await t.step("should time HTTP requests by route pattern and status code", async () => {
    const id = await createTask(app);
    await app.request("GET", `/api/v1/tasks/${id}/status`);
    await app.request("GET", `/api/v1/tasks/${crypto.randomUUID()}/status`);
    const metrics = await scrape(app);
    const route = 'route="/api/v1/tasks/:task_id/status"';
    const count = (status: number) =>
      [...metrics].find(([name]) =>
        name.startsWith("taskscheduler_http_request_duration_seconds_count{") &&
        name.includes(route) && name.includes(`status="${status}"`) && name.includes('method="GET"')
      )?.[1];
    assert.equal(count(200), 1);
    assert.equal(count(404), 1);
    assert.ok(![...metrics.keys()].some((name) => name.includes(id)), "raw paths are not labels");
  });
});
