import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { createTask } from "./helpers/tasks.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello, type WsClient } from "./helpers/ws_client.ts";

async function host(app: TestApp, serverId: string, labels: Record<string, string>) {
  const ws = await connectWs(app.url, { token: app.adminToken });
  ws.send(hello(serverId, { labels }));
  const sync = await ws.next("sync");
  return { ws, sync: sync.tasks.map((task) => task.id) };
}

/** Whether `ws` holds a task: the last of its sync, upserts and deletes says. */
function holds(ws: WsClient, taskId: string): boolean {
  let held = false;
  for (const m of ws.received) {
    if (m.type === "sync") held = m.tasks.some((task) => task.id === taskId);
    if (m.type === "task.upsert" && m.task.id === taskId) held = true;
    if (m.type === "task.delete" && m.task_id === taskId) held = false;
  }
  return held;
}

Deno.test("task targets", async (t) => {
  await using app = await startTestApp();
  const prod = { env: "prod" };
  const a = await host(app, "host-a", { ...prod, zone: "eu" });
  const b = await host(app, "host-b", { env: "staging" });
  const c = await host(app, "host-c", { ...prod, zone: "us" });
  const hosts = { a, b, c };
  const holders = (taskId: string) =>
    Object.entries(hosts).filter(([, h]) => holds(h.ws, taskId)).map(([name]) => name).join(",");
  try {
    await t.step("should push a task only to the hosts its labels select", async () => {
      const id = await createTask(app, { targets: { labels: prod } });
      await waitFor(() => holders(id) === "a,c", { what: "the task on a and c" });
      const [{ count }] = await app.sql`
        select count(*)::int as count from task_servers where task_id = ${id}`;
      assert.equal(count, 2);
    });

    await t.step("should require every part of the targets to match", async () => {
      const id = await createTask(app, {
        targets: { labels: prod, server_ids: ["host-a", "host-b"] },
      });
      await waitFor(() => holders(id) === "a", { what: "the task on a only" });
    });

    await t.step("should move a task when its targets change", async () => {
      const id = await createTask(app, { targets: { server_ids: ["host-a", "host-c"] } });
      await waitFor(() => holders(id) === "a,c", { what: "the task on a and c" });
      await c.ws.next("task.upsert", (m) => m.task.id === id);
      c.ws.send({ type: "task.accepted", task_id: id, revision: 1 });
      await waitFor(async () => {
        const [row] = await app.sql`
          select state from task_servers where task_id = ${id} and server_id = 'host-c'`;
        return row?.state === "accepted";
      }, { what: "host-c to accept" });
      const reply = await app.request("PATCH", `/api/v1/tasks/${id}`, {
        targets: { server_ids: ["host-b"] },
      });
      assert.equal(reply.status, 200);
      await waitFor(() => holders(id) === "b", { what: "the task to move to b" });
      const rows = await app.sql`
        select server_id from task_servers where task_id = ${id} order by server_id`;
      assert.deepEqual(rows.map((r) => r.server_id), ["host-b"], "a and c forgot the task");
      const status = await app.request("GET", `/api/v1/tasks/${id}/status`);
      assert.equal(status.body.status, "TASK_RECEIVED", "only b's answer counts now");
    });

    await t.step("should run everywhere without targets", async () => {
      const id = await createTask(app);
      await waitFor(() => holders(id) === "a,b,c", { what: "the task everywhere" });
    });

    await t.step("should give a host whose labels changed a fresh sync", async () => {
      const id = await createTask(app, { targets: { labels: { env: "staging" } } });
      await waitFor(() => holders(id) === "b", { what: "the task on b" });
      await a.ws.close();
      const again = await host(app, "host-a", { env: "staging" });
      hosts.a = again;
      assert.ok(again.sync.includes(id), "host-a now runs staging tasks");
      const prodTasks = await app.sql`
        select id from tasks where targets -> 'labels' ->> 'env' = 'prod'`;
      for (const { id: prodTask } of prodTasks) {
        assert.ok(!again.sync.includes(prodTask), "and no longer the prod ones");
      }
      const [{ count }] = await app.sql`
        select count(*)::int as count from task_servers ts join tasks t on t.id = ts.task_id
         where ts.server_id = 'host-a' and t.targets -> 'labels' ->> 'env' = 'prod'`;
      assert.equal(count, 0, "its answers to prod tasks are forgotten");
    });
  } finally {
    for (const h of Object.values(hosts)) await h.ws.close();
  }
});

Deno.test("mode one tick claims", async (t) => {
  await using app = await startTestApp();
  const id = await createTask(app, { mode: "one", frequency: "* * * * * *" });
  await using a = await connectWs(app.url, { token: app.adminToken });
  await using b = await connectWs(app.url, { token: app.adminToken });
  a.send(hello("host-a"));
  b.send(hello("host-b"));
  await a.next("sync");
  const sync = await b.next("sync");
  assert.equal(sync.tasks.find((task) => task.id === id)?.mode, "one");
  const tick = "2026-12-03T10:00:00.000Z";
  const claim = { type: "tick.claim", task_id: id, scheduled_for: tick };

  await t.step("should grant a tick to exactly one host", async () => {
    a.send(claim);
    b.send(claim);
    const answers = [
      await a.next("tick.claimed", (m) => m.scheduled_for === tick),
      await b.next("tick.claimed", (m) => m.scheduled_for === tick),
    ];
    assert.equal(answers.filter((m) => m.granted).length, 1);
    assert.ok(answers.every((m) => m.task_id === id));
  });

  await t.step("should grant the same tick again to the host that won it", async () => {
    const [row] = await app.sql`select server_id from tick_claims where task_id = ${id}`;
    const winner = row.server_id === "host-a" ? a : b;
    winner.send(claim);
    assert.equal((await winner.next("tick.claimed")).granted, true);
  });

  await t.step("should refuse ticks of a paused task", async () => {
    await app.request("POST", `/api/v1/tasks/${id}/pause`);
    a.send({ ...claim, scheduled_for: "2026-12-03T10:00:01.000Z" });
    assert.equal((await a.next("tick.claimed")).granted, false);
  });
});
