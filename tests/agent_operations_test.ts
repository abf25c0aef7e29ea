import assert from "node:assert/strict";
import type { AgentEventMap } from "../agent/events.ts";
import { startFakeHub } from "./helpers/agent_fake_hub.ts";
import { nextEvent, TEST_TUNING, withAgent } from "./helpers/agent_harness.ts";
import { isProcessAlive, makeTask, processEnds } from "./helpers/agent_tasks.ts";

/** Never fires on its own: runs only when asked. */
const NEVER = "0 0 0 1 1 * 2099";

Deno.test("createAgent() runs a task now when the server asks", async (t) => {
  const hub = await startFakeHub();
  try {
    await withAgent(hub.url, async ({ agent }) => {
      const synced = nextEvent(agent, "synced");
      await agent.start();
      await synced;

      await t.step("should run it once outside its schedule, scheduled for now", async () => {
        const task = makeTask({ command: "echo now", frequency: NEVER });
        const finished = nextEvent(agent, "execution:finished");
        const before = Date.now();
        hub.send({ type: "task.run", task });
        const result = await finished;
        assert.equal(result.task_id, task.id);
        assert.equal(result.stdout, "now\n");
        assert.ok(Date.parse(result.scheduled_for) >= before - 1000);
        const sent = await hub.waitFor("execution.finished");
        assert.equal(sent.execution_id, result.execution_id);
      });

      await t.step("should skip the request while a run of the task is still going", async () => {
        const task = makeTask({ command: "sleep 1", frequency: NEVER });
        const started = nextEvent(agent, "execution:started");
        hub.send({ type: "task.run", task });
        await started;
        const skipped = nextEvent(agent, "tick:skipped");
        const requested = nextEvent(agent, "run:requested", { where: (r) => !r.started });
        hub.send({ type: "task.run", task });
        assert.deepEqual(await requested, { task_id: task.id, started: false });
        assert.equal((await skipped).trigger, "manual");
      });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() kills an execution when the server asks", async (t) => {
  const hub = await startFakeHub();
  try {
    await withAgent(hub.url, async ({ agent }) => {
      const synced = nextEvent(agent, "synced");
      await agent.start();
      await synced;

      await t.step("should stop its whole process group and report it killed", async () => {
        const task = makeTask({ command: "sleep 30 & echo $! ; wait", frequency: NEVER });
        const started = nextEvent(agent, "execution:started");
        hub.send({ type: "task.run", task });
        const { execution_id } = await started;
        const message = await hub.waitFor("execution.output");
        const child = Number(message.chunks[0].data.trim());
        assert.ok(isProcessAlive(child));
        const finished = nextEvent(agent, "execution:finished");
        hub.send({ type: "execution.kill", execution_id });
        const result = await finished;
        assert.equal(result.execution_id, execution_id);
        assert.equal(result.exit_code, null);
        assert.equal(result.error, "Killed on request");
        assert.match(result.stderr, /Killed on request\n$/);
        assert.equal(await processEnds(child), true, "the command's children are gone too");
      });

      await t.step("should ignore a kill for an execution it does not run", async () => {
        const requested = nextEvent(agent, "kill:requested");
        const execution_id = crypto.randomUUID();
        hub.send({ type: "execution.kill", execution_id });
        assert.deepEqual(await requested, { execution_id, found: false });
      });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() runs a mode one tick only when the server grants it", async (t) => {
  const task = makeTask({ command: "echo granted", mode: "one" });
  const hub = await startFakeHub({ tasks: [task] });
  try {
    await withAgent(hub.url, async ({ agent }) => {
      const started: AgentEventMap["execution:started"][] = [];
      agent.on("execution:started", (start) => started.push(start));
      const outcomes: AgentEventMap["tick:claimed"][] = [];
      agent.on("tick:claimed", (claim) => outcomes.push(claim));
      await agent.start();

      await t.step("should run a granted tick and not a refused one", async () => {
        const first = await hub.waitFor("tick.claim");
        const finished = nextEvent(agent, "execution:finished");
        hub.send({ ...first, type: "tick.claimed", granted: true });
        const result = await finished;
        assert.equal(result.scheduled_for, first.scheduled_for);
        const second = await hub.waitFor("tick.claim", {
          where: (m) => m.scheduled_for !== first.scheduled_for,
        });
        const refused = nextEvent(agent, "tick:claimed", { where: (c) => c.outcome === "refused" });
        hub.send({ ...second, type: "tick.claimed", granted: false });
        await refused;
        assert.deepEqual(started.map((s) => s.scheduled_for), [first.scheduled_for]);
      });

      await t.step("should not run a tick whose claim goes unanswered", async () => {
        const timedOut = await nextEvent(agent, "tick:claimed", {
          where: (c) => c.outcome === "timeout",
        });
        assert.ok(!started.some((s) => s.scheduled_for === timedOut.scheduled_for));
      });

      await t.step("should not run mode one ticks while disconnected", async () => {
        const disconnected = nextEvent(agent, "disconnected");
        await hub.close();
        await disconnected;
        const claim = await nextEvent(agent, "tick:claimed", {
          where: (c) => c.outcome === "disconnected",
        });
        assert.ok(!started.some((s) => s.scheduled_for === claim.scheduled_for));
      });
    }, { tuning: { ...TEST_TUNING, claimTimeoutMs: 300 } });
  } finally {
    await hub.close();
  }
});
