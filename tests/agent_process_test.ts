import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { spoolDirIn } from "../agent/spool.ts";
import { startFakeHub } from "./helpers/agent_fake_hub.ts";
import { nextEvent, spooledIds, withAgent } from "./helpers/agent_harness.ts";
import { makeTask } from "./helpers/agent_tasks.ts";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("agent/main.ts shuts down on SIGTERM with exit code 0, keeping unacked results", async (t) => {
  const task = makeTask({ command: "echo from-process" });
  const hub = await startFakeHub({ tasks: [task], autoAck: false });
  const stateDir = await Deno.makeTempDir({ prefix: "agent-process-test-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "agent/main.ts",
      "--server-url",
      hub.url,
      "--state-dir",
      stateDir,
      "--server-id",
      "process-host",
    ],
    cwd: REPO_ROOT,
    env: { TASKSCHEDULER_LOG_LEVEL: "info", TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "5" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  try {
    const hello = await hub.waitFor("hello", { timeoutMs: 60_000 });
    const finished = await hub.waitFor("execution.finished", { timeoutMs: 60_000 });
    child.kill("SIGTERM");
    const { code, stderr } = await output;
    const log = new TextDecoder().decode(stderr).trim().split("\n").map((line) => JSON.parse(line));

    await t.step("says hello as the configured host", () => {
      assert.equal(hello.server_id, "process-host");
    });

    await t.step("exits 0", () => {
      assert.equal(code, 0);
    });

    await t.step("closes the socket with 1000", async () => {
      const closes = await hub.waitForCloses(1);
      assert.deepEqual(closes, [{ code: 1000, reason: "Agent shutting down" }]);
    });

    await t.step("leaves the unacked results in its spool", async () => {
      const spooled = await spooledIds(spoolDirIn(stateDir));
      assert.equal(spooled.includes(finished.execution_id), true);
    });

    await t.step("a new agent on the same state dir delivers them", async () => {
      hub.autoAck = true;
      await withAgent(hub.url, async ({ agent }) => {
        const acked = nextEvent(agent, "acked", {
          where: (a) => a.execution_id === finished.execution_id,
        });
        await agent.start();
        await acked;
      }, { stateDir });
      const spooled = await spooledIds(spoolDirIn(stateDir));
      assert.equal(spooled.includes(finished.execution_id), false);
    });

    await t.step("logs the shutdown as JSON lines", () => {
      assert.deepEqual(
        log.filter((line) => line.msg === "Shutting down").map((line) => line.signal),
        ["SIGTERM"],
      );
      assert.equal(log.at(-1).msg, "Stopped");
    });
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await output;
    await hub.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
