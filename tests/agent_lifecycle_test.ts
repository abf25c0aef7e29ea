import assert from "node:assert/strict";
import { spoolDirIn } from "../agent/spool.ts";
import { AGENT_VERSION } from "../agent/version.ts";
import { isUuid } from "../shared/ids.ts";
import { ExecutionResult, PROTOCOL_VERSION } from "../shared/protocol.ts";
import { startFakeHub } from "./helpers/agent_fake_hub.ts";
import { nextEvent, spooledIds, withAgent } from "./helpers/agent_harness.ts";
import { makeTask } from "./helpers/agent_tasks.ts";

Deno.test("createAgent() says hello with its identity", async () => {
  const hub = await startFakeHub();
  try {
    await withAgent(hub.url, async ({ agent }) => {
      await agent.start();
      const hello = await hub.waitFor("hello");
      assert.deepEqual(hello, {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        server_id: "web-7",
        hostname: "test-host",
        labels: { zone: "eu-west", role: "db" },
        version: AGENT_VERSION,
        running: [],
      });
    }, { env: { TASKSCHEDULER_SERVER_ID: "web-7", TASKSCHEDULER_LABELS: "zone=eu-west,role=db" } });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() answers ping with pong", async () => {
  const hub = await startFakeHub();
  try {
    await withAgent(hub.url, async ({ agent }) => {
      const connected = nextEvent(agent, "connected");
      await agent.start();
      await connected;
      hub.send({ type: "ping", nonce: "abc-123" });
      assert.deepEqual(await hub.waitFor("pong"), { type: "pong", nonce: "abc-123" });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() runs the tasks of a sync and reports each execution", async (t) => {
  const task = makeTask({ command: "echo hello; echo oops >&2" });
  const invalid = makeTask({ frequency: "every day at noon" });
  const hub = await startFakeHub({ tasks: [task, invalid] });
  try {
    await withAgent(hub.url, async ({ agent, stateDir }) => {
      const synced = nextEvent(agent, "synced");
      const acked = nextEvent(agent, "acked");
      await agent.start();

      await t.step("accepts the valid task and rejects the invalid one", async () => {
        assert.deepEqual(await synced, { count: 2 });
        assert.deepEqual(await hub.waitFor("task.accepted"), {
          type: "task.accepted",
          task_id: task.id,
          revision: 1,
        });
        const rejected = await hub.waitFor("task.rejected");
        assert.equal(rejected.task_id, invalid.id);
        assert.match(rejected.reason, /^Invalid cron expression 'every day at noon'/);
      });

      const finished = await hub.waitFor("execution.finished");

      await t.step("sends the finished result with every field", () => {
        const { type: _, ...result } = finished;
        assert.equal(ExecutionResult.safeParse(result).success, true);
        assert.equal(finished.task_id, task.id);
        assert.equal(isUuid(finished.execution_id), true);
        assert.equal(finished.exit_code, 0);
        assert.equal(finished.error, null);
        assert.equal(finished.stdout, "hello\n");
        assert.equal(finished.stderr, "oops\n");
        assert.equal(new Date(finished.scheduled_for).getMilliseconds(), 0);
        assert.ok(Date.parse(finished.started_at) >= Date.parse(finished.scheduled_for));
        assert.ok(Date.parse(finished.finished_at) >= Date.parse(finished.started_at));
      });

      await t.step("announces the start and streams the output before the result", () => {
        const id = finished.execution_id;
        const started = hub.messages.findIndex((m) =>
          m.type === "execution.started" && m.execution_id === id
        );
        const outputs = hub.messages.filter((m) =>
          m.type === "execution.output" && m.execution_id === id
        );
        const end = hub.messages.findIndex((m) =>
          m.type === "execution.finished" && m.execution_id === id
        );
        assert.ok(started >= 0 && started < end);
        const text = (stream: string) =>
          outputs.flatMap((m) => m.type === "execution.output" ? m.chunks : [])
            .filter((chunk) => chunk.stream === stream).map((chunk) => chunk.data).join("");
        assert.equal(text("stdout"), "hello\n");
        assert.equal(text("stderr"), "oops\n");
      });

      await t.step("deletes the spooled result once the hub acks it", async () => {
        const { execution_id } = await acked;
        assert.equal(execution_id, finished.execution_id);
        const spooled = await spooledIds(spoolDirIn(stateDir));
        assert.equal(spooled.includes(finished.execution_id), false);
      });
      assert.deepEqual(hub.invalid, []);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createAgent() stop() lets executions finish within the shutdown grace", async (t) => {
  await t.step("a run that ends in time is delivered and acked", async () => {
    const task = makeTask({ command: "sleep 0.3; echo finished" });
    const hub = await startFakeHub({ tasks: [task] });
    try {
      await withAgent(hub.url, async ({ agent, stateDir }) => {
        const started = nextEvent(agent, "execution:started");
        const finished = nextEvent(agent, "execution:finished");
        await agent.start();
        await started;
        await agent.stop();
        const result = await finished;
        assert.equal(result.exit_code, 0);
        assert.equal(result.stdout, "finished\n");
        assert.deepEqual(await spooledIds(spoolDirIn(stateDir)), []);
        assert.deepEqual(hub.closes.map((close) => close.code), [1000]);
      });
    } finally {
      await hub.close();
    }
  });

  await t.step("a run past the grace is killed and its result stays spooled", async () => {
    const task = makeTask({ command: "sleep 100" });
    const hub = await startFakeHub({ tasks: [task], autoAck: false });
    try {
      await withAgent(hub.url, async ({ agent, stateDir }) => {
        const started = nextEvent(agent, "execution:started");
        const finished = nextEvent(agent, "execution:finished");
        await agent.start();
        await started;
        await agent.stop();
        const result = await finished;
        assert.equal(result.exit_code, null);
        assert.equal(result.error, "Stopped at agent shutdown after 0.2 s grace");
        assert.deepEqual(await spooledIds(spoolDirIn(stateDir)), [result.execution_id]);
        const [close] = await hub.waitForCloses(1);
        assert.deepEqual(close, { code: 1000, reason: "Agent shutting down" });
      }, { env: { TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "0.2" } });
    } finally {
      await hub.close();
    }
  });
});

Deno.test("createAgent() reports a running execution in the hello of a new connection", async () => {
  const task = makeTask({ command: "sleep 100", timeout_seconds: 30 });
  const hub = await startFakeHub({ tasks: [task] });
  try {
    await withAgent(hub.url, async ({ agent }) => {
      const started = nextEvent(agent, "execution:started");
      await agent.start();
      const { execution_id } = await started;
      const since = hub.mark();
      await hub.disconnect();
      const hello = await hub.waitFor("hello", { since });
      assert.deepEqual(hello.running, [{ execution_id, task_id: task.id }]);
    }, { env: { TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "0" } });
  } finally {
    await hub.close();
  }
});
