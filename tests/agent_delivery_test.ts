import assert from "node:assert/strict";
import { spoolDirIn } from "../agent/spool.ts";
import { createSpool } from "../agent/spool.ts";
import { startFakeHub } from "./helpers/agent_fake_hub.ts";
import { nextEvent, nextEvents, spooledIds, withAgent } from "./helpers/agent_harness.ts";
import { makeTask } from "./helpers/agent_tasks.ts";

Deno.test("createAgent() keeps an unacked result in the spool and resends it", async (t) => {
  const task = makeTask({ command: "echo once" });
  const hub = await startFakeHub({ tasks: [task], autoAck: false });
  try {
    await withAgent(hub.url, async ({ agent, stateDir }) => {
      const idle = nextEvent(agent, "synced", { where: ({ count }) => count === 0 });
      await agent.start();
      const first = await hub.waitFor("execution.finished");
      // Stop the schedule so that no new results come while the test looks at the spool.
      hub.tasks = [];
      hub.send({ type: "sync", tasks: [] });
      await idle;

      await t.step("the result stays in the spool without an ack", async () => {
        assert.equal((await spooledIds(spoolDirIn(stateDir))).includes(first.execution_id), true);
      });

      await t.step("a new connection resends exactly the same result", async () => {
        const since = hub.mark();
        await hub.disconnect();
        const resent = await hub.waitFor("execution.finished", {
          since,
          where: (message) => message.execution_id === first.execution_id,
        });
        assert.deepEqual(resent, first);
        const hello = hub.messages.findIndex((m, i) => i >= since && m.type === "hello");
        assert.ok(hello >= since && hello < hub.messages.indexOf(resent));
      });

      await t.step("the ack deletes the spool file", async () => {
        const acked = nextEvent(agent, "acked", {
          where: (a) => a.execution_id === first.execution_id,
        });
        hub.send({ type: "execution.ack", execution_id: first.execution_id });
        await acked;
        assert.equal((await spooledIds(spoolDirIn(stateDir))).includes(first.execution_id), false);
      });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() keeps its schedule while the hub is away and delivers later", async (t) => {
  const task = makeTask({ command: "echo offline" });
  let hub = await startFakeHub({ tasks: [task] });
  const port = hub.port;
  try {
    await withAgent(hub.url, async ({ agent, stateDir }) => {
      const synced = nextEvent(agent, "synced");
      await agent.start();
      await synced;
      const disconnected = nextEvent(agent, "disconnected");
      await hub.close();
      await disconnected;
      const offline = await nextEvents(agent, "execution:finished", { count: 2 });
      const ids = offline.map((result) => result.execution_id);

      await t.step("runs its tasks and spools the results while disconnected", async () => {
        assert.equal(agent.isConnected(), false);
        assert.deepEqual(offline.map((result) => result.stdout), ["offline\n", "offline\n"]);
        const spooled = await spooledIds(spoolDirIn(stateDir));
        for (const id of ids) assert.equal(spooled.includes(id), true);
      });

      await t.step("reconnects with backoff once the hub is back on the same port", async () => {
        const acked = new Set<string>();
        const allAcked = nextEvent(agent, "acked", {
          where: ({ execution_id }) => {
            if (ids.includes(execution_id)) acked.add(execution_id);
            return acked.size === ids.length;
          },
        });
        hub = await startFakeHub({ port, tasks: [task] });
        await hub.waitFor("hello");
        await allAcked;
        const delivered = hub.messages.filter((m) => m.type === "execution.finished")
          .map((m) => m.type === "execution.finished" ? m.execution_id : "");
        for (const id of ids) assert.equal(delivered.includes(id), true);
        const spooled = await spooledIds(spoolDirIn(stateDir));
        for (const id of ids) assert.equal(spooled.includes(id), false);
      });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() restarted keeps running its saved schedule without a server", async () => {
  const task = makeTask({ command: "echo from-disk" });
  const stateDir = await Deno.makeTempDir({ prefix: "agent-test-" });
  try {
    const hub = await startFakeHub({ tasks: [task] });
    const url = hub.url;
    try {
      await withAgent(url, async ({ agent }) => {
        const synced = nextEvent(agent, "synced");
        await agent.start();
        await synced;
      }, { stateDir });
    } finally {
      await hub.close();
    }
    await withAgent(url, async ({ agent }) => {
      const finished = nextEvent(agent, "execution:finished");
      await agent.start();
      const result = await finished;
      assert.equal(result.task_id, task.id);
      assert.equal(result.stdout, "from-disk\n");
      assert.equal(agent.isConnected(), false);
      const spooled = await createSpool({ dir: spoolDirIn(stateDir) }).list();
      assert.equal(spooled.some((r) => r.execution_id === result.execution_id), true);
    }, { stateDir });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
