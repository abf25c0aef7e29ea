import assert from "node:assert/strict";
import { createRetention } from "../server/retention.ts";
import { memoryLogger, startTestApp } from "./helpers/app.ts";
import { createTask, report } from "./helpers/tasks.ts";

const DAY = 24 * 3600 * 1000;

Deno.test("retention deletes old history in batches, and nothing else", async (t) => {
  await using app = await startTestApp();
  const now = Date.now() + 2 * DAY;
  const ago = (days: number) => new Date(now - days * DAY).toISOString();
  const run = async (taskId: string, server_id: string, days: number) => {
    const execution_id = crypto.randomUUID();
    await report(app, taskId, {
      server_id,
      execution_id,
      started_at: ago(days),
      finished_at: ago(days),
    });
    return execution_id;
  };

  const kept = await createTask(app, { command: "kept" });
  const h1 = { d9: 9, d8: 8, d6: 6, d5: 5, d4: 4 };
  const ids: Record<string, string> = {};
  for (const [name, days] of Object.entries(h1)) ids[`h1-${name}`] = await run(kept, "h1", days);
  ids["h2-d1"] = await run(kept, "h2", 1);
  ids["h2-d0"] = await run(kept, "h2", 0.5);
  const running = crypto.randomUUID();
  await app.store.recordExecutionStarted("h1", {
    execution_id: running,
    task_id: kept,
    scheduled_for: ago(10),
    started_at: ago(10),
  });
  ids.running = running;

  const goneLongAgo = await createTask(app, { command: "deleted, nothing left" });
  const withHistory = await createTask(app, { command: "deleted, history left" });
  ids.history = await run(withHistory, "h2", 1);
  const justGone = await createTask(app, { command: "deleted an hour ago" });
  for (const [id, days] of [[goneLongAgo, 2], [withHistory, 2], [justGone, 1 / 24]] as const) {
    assert.equal((await app.request("DELETE", `/api/v1/tasks/${id}`)).status, 204);
    await app.sql`update tasks set deleted_at = ${new Date(now - days * DAY)} where id = ${id}`;
  }
  const mode = await createTask(app, { mode: "one" });
  assert.ok(await app.store.claimTick(mode, new Date(now - 3 * DAY), "h1"));
  assert.ok(await app.store.claimTick(mode, new Date(now - DAY / 2), "h1"));

  const retention = createRetention({
    store: app.store,
    days: 7,
    perTaskHost: 2,
    batchSize: 1,
    clock: { now: () => new Date(now) },
    logger: memoryLogger(),
  });

  await t.step("should delete expired executions, then all but the newest per host", async () => {
    const counts = await retention.runOnce();
    assert.deepEqual(counts, { expired: 2, beyondCount: 1, deletedTasks: 1, tickClaims: 1 });
    const left = await app.sql`select id from executions`;
    const leftIds = new Set(left.map((r) => r.id));
    const expected = ["h1-d5", "h1-d4", "h2-d1", "h2-d0", "running", "history"];
    assert.deepEqual(
      Object.entries(ids).filter(([, id]) => leftIds.has(id)).map(([name]) => name).sort(),
      expected.sort(),
    );
  });

  await t.step("should remove deleted tasks only once their history is gone", async () => {
    const tasks = await app.sql`select id from tasks`;
    const present = new Set(tasks.map((r) => r.id));
    assert.equal(present.has(goneLongAgo), false);
    assert.equal(present.has(withHistory), true);
    assert.equal(present.has(justGone), true, "within the grace after deletion");
    assert.equal(present.has(kept), true);
  });

  await t.step("should find nothing more to delete on the next run", async () => {
    assert.deepEqual(await retention.runOnce(), {
      expired: 0,
      beyondCount: 0,
      deletedTasks: 0,
      tickClaims: 0,
    });
  });

  await t.step("should keep everything when no limit is configured", async () => {
    const lenient = createRetention({
      store: app.store,
      clock: { now: () => new Date(now + 365 * DAY) },
      logger: memoryLogger(),
    });
    const before = await app.sql`select count(*)::int as count from executions`;
    const counts = await lenient.runOnce();
    assert.equal(counts.expired + counts.beyondCount, 0);
    const after = await app.sql`select count(*)::int as count from executions`;
    assert.equal(after[0].count, before[0].count);
  });
});

Deno.test("the retention loop runs at start and stops cleanly", async () => {
  await using app = await startTestApp();
  const logs: Record<string, unknown>[] = [];
  const retention = createRetention({ store: app.store, days: 1, logger: memoryLogger(logs) });
  retention.start();
  await retention.stop();
  assert.ok(logs.some((line) => line.msg === "Retention started"));
  assert.ok(!logs.some((line) => line.msg === "Retention failed"));
});
