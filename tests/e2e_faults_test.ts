import assert from "node:assert/strict";
import postgres from "postgres";
import { generateToken } from "../server/tokens.ts";
import { startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { burst } from "./helpers/cron.ts";
import { freePort, startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";
import { witnessed } from "./helpers/witness.ts";

async function spooled(stateDir: string): Promise<number> {
  let count = 0;
  try {
    for await (const entry of Deno.readDir(`${stateDir}/spool`)) {
      if (entry.isFile && entry.name.endsWith(".json")) count++;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return count;
}

Deno.test("results survive a server crash and an agent SIGKILL, and arrive once", async (t) => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-faults-" });
  const port = freePort();
  // One admin token for every restart, so the client below keeps working.
  const env = { DATABASE_URL: db.url, TASKSCHEDULER_API_TOKEN: generateToken() };
  const stored = async (taskId: string) =>
    (await sql`
      select id from executions where task_id = ${taskId} and status <> 'TASK_EXECUTING'`)
      .map((r) => r.id).sort();
  try {
    let server = await startServer({ env, port });
    const api = apiClient(server.url, server.auth);
    const token = await api.createAgentToken("host-k");
    let agent = startAgent({ serverUrl: server.url, serverId: "host-k", stateDir: dir, token });
    try {
      await t.step(
        "should spool while the server is down and deliver after both restart",
        async () => {
          const witness = `${dir}/witness-spool`;
          const { frequency } = burst(3, 3);
          const id = await api.create({
            command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
            frequency,
          });
          await waitFor(async () => (await api.status(id)).status === "TASK_SCHEDULED", {
            what: "the agent to accept the task",
          });
          await server.stop("SIGKILL");
          await waitFor(async () => (await witnessed(witness)).length === 3, {
            what: "three runs",
          });
          await waitFor(async () => (await spooled(dir)) === 3, { what: "three spooled results" });
          await agent.stop("SIGKILL");

          server = await startServer({ env, port });
          agent = startAgent({ serverUrl: server.url, serverId: "host-k", stateDir: dir, token });
          const ids = await waitFor(async () => {
            const ids = await stored(id);
            return ids.length === 3 && ids;
          }, { what: "the spooled results to arrive" });
          assert.deepEqual(ids, await witnessed(witness));
          await waitFor(async () => (await spooled(dir)) === 0, { what: "the spool to empty" });
          assert.deepEqual(await stored(id), ids, "resending stored nothing twice");
        },
      );

      await t.step("should reconnect after a server restart and go on running", async () => {
        await server.stop("SIGKILL");
        server = await startServer({ env, port });
        await waitFor(async () => {
          const [host] = await sql`select connected_to from servers where id = 'host-k'`;
          return host.connected_to !== null;
        }, { what: "the agent to reconnect" });
        const witness = `${dir}/witness-after`;
        const id = await api.create({
          command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
          frequency: burst(2).frequency,
        });
        const ids = await waitFor(async () => {
          const ids = await stored(id);
          return ids.length === 2 && ids;
        }, { what: "two runs after the restart" });
        assert.deepEqual(ids, await witnessed(witness));
      });

      await t.step("should receive a task created while the agent was away", async () => {
        assert.equal(await agent.stop("SIGTERM"), 0, "a graceful stop exits 0");
        const witness = `${dir}/witness-away`;
        const { frequency } = burst(2, 4);
        const id = await api.create({
          command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
          frequency,
        });
        agent = startAgent({ serverUrl: server.url, serverId: "host-k", stateDir: dir, token });
        const ids = await waitFor(async () => {
          const ids = await stored(id);
          return ids.length === 2 && ids;
        }, { what: "the runs of the task created while away" });
        assert.deepEqual(ids, await witnessed(witness));
      });
    } finally {
      await agent.stop("SIGKILL");
      await server.stop("SIGKILL");
    }
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an agent enforces timeouts, skips overlapping ticks and caps output", async (t) => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-limits-" });
  try {
    await using server = await startServer({ env: { DATABASE_URL: db.url } });
    const api = apiClient(server.url, server.auth);
    await using agent = startAgent({
      serverUrl: server.url,
      serverId: "host-l",
      stateDir: dir,
      token: await api.createAgentToken("host-l"),
      env: { TASKSCHEDULER_MAX_OUTPUT_BYTES: "1024", TASKSCHEDULER_KILL_GRACE_SECONDS: "1" },
    });
    const finished = (id: string, count: number) =>
      waitFor(async () => {
        const rows = await sql`
          select * from executions where task_id = ${id} and status <> 'TASK_EXECUTING'
           order by started_at`;
        return rows.length === count && rows;
      }, { what: `${count} finished runs` });

    await t.step("should kill a run past its timeout and report it as an error", async () => {
      const id = await api.create({
        command: "echo started; sleep 30",
        frequency: burst(1).frequency,
        timeout_seconds: 1,
      });
      const [run] = await finished(id, 1);
      assert.equal(run.status, "TASK_COMPLETED_ERROR");
      assert.match(run.error, /Timed out after 1 s/);
      assert.equal(run.stdout, "started\n");
      const body = await api.status(id);
      assert.equal(body.status, "TASK_COMPLETED_ERROR");
      assert.match(body.stderr, /Timed out after 1 s/);
    });

    await t.step("should skip a tick while the previous run still goes", async () => {
      const id = await api.create({ command: "sleep 2.5", frequency: burst(6).frequency });
      await agent.waitForLog("Skipped a tick: the previous run is still going");
      const runs = await waitFor(async () => {
        const rows = await sql`
          select started_at, finished_at, status from executions where task_id = ${id}
           order by started_at`;
        const done = rows.length > 0 && rows.every((r) => r.status !== "TASK_EXECUTING");
        return done && rows.length >= 2 && rows;
      }, { what: "the runs of the overlapping task" });
      assert.ok(runs.length < 6, `ticks were skipped, ran ${runs.length} times`);
      for (let i = 1; i < runs.length; i++) {
        assert.ok(runs[i].started_at >= runs[i - 1].finished_at, "runs never overlap");
      }
    });

    await t.step(
      "should keep the head and tail of long output and count what it dropped",
      async () => {
        const id = await api.create({
          command: "printf 'HEAD'; head -c 10000 /dev/zero | tr '\\0' x; printf 'TAIL'",
          frequency: burst(1).frequency,
        });
        const [run] = await finished(id, 1);
        assert.equal(run.status, "TASK_COMPLETED_SUCCESS");
        assert.equal(Number(run.stdout_dropped_bytes), 10008 - 1024);
        assert.ok(run.stdout.startsWith("HEADxxx"));
        assert.ok(run.stdout.endsWith("xxxTAIL"));
        assert.equal(Number(run.stderr_dropped_bytes), 0);
      },
    );
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
