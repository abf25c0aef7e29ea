import assert from "node:assert/strict";
import postgres from "postgres";
import { type AgentProcess, startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";

/** The lines of a witness file, in the order they were written. */
async function lines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

Deno.test("agents follow task changes, run now and kill", async (t) => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-ops-" });
  const agents: AgentProcess[] = [];
  try {
    await using server = await startServer({ env: { DATABASE_URL: db.url } });
    const api = apiClient(server.url, server.auth);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: body === undefined
          ? server.auth
          : { ...server.auth, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    for (const [serverId, env] of [["host-a", "prod"], ["host-b", "staging"]]) {
      agents.push(startAgent({
        serverUrl: server.url,
        serverId,
        stateDir: `${dir}/${serverId}`,
        env: { TASKSCHEDULER_LABELS: `env=${env}` },
        token: await api.createAgentToken(serverId),
      }));
    }
    const [hostA, hostB] = agents;

    // A task on both hosts every second: a clock to wait on instead of sleeping.
    const markers = `${dir}/markers`;
    await api.create({
      command: `echo "$TASKSCHEDULER_SERVER_ID" >> ${markers}`,
      frequency: "* * * * * *",
    });
    /** Waits until every host has run the marker task `count` more times. */
    const passTicks = async (count = 2) => {
      const runs = async (host: AgentProcess) =>
        (await lines(markers)).filter((line) => line === host.serverId).length;
      const start = await Promise.all(agents.map(runs));
      await waitFor(async () => {
        const now = await Promise.all(agents.map(runs));
        return now.every((n, i) => n >= start[i] + count);
      }, { what: `${count} more marker ticks on every host` });
    };
    const witness = `${dir}/witness`;
    const id = await api.create({
      command: `echo "$TASKSCHEDULER_SERVER_ID v1" >> ${witness}`,
      frequency: "* * * * * *",
    });
    const ran = async (line: string) => (await lines(witness)).filter((l) => l === line).length;

    await t.step("should run a changed command on every host after a PATCH", async () => {
      await waitFor(async () => (await ran("host-a v1")) > 0 && (await ran("host-b v1")) > 0, {
        what: "v1 on both hosts",
      });
      const reply = await call("PATCH", `/tasks/${id}`, {
        command: `echo "$TASKSCHEDULER_SERVER_ID v2" >> ${witness}`,
      });
      assert.equal(reply.status, 200);
      await waitFor(async () => (await ran("host-a v2")) > 0 && (await ran("host-b v2")) > 0, {
        what: "v2 on both hosts",
      });
      await passTicks();
      const v1 = (await lines(witness)).filter((l) => l.endsWith(" v1")).length;
      await passTicks();
      assert.equal(
        (await lines(witness)).filter((l) => l.endsWith(" v1")).length,
        v1,
        "the old command no longer runs",
      );
    });

    /** Asserts that the task no longer runs on `hosts` while it goes on elsewhere. */
    const assertStopped = async (hosts: AgentProcess[], what: string) => {
      for (const host of hosts) {
        await host.waitForLog(
          "Task deleted",
          (line) => line.task_id === id && (line.time as string) > startedAt,
        );
      }
      await passTicks();
      const before = await Promise.all(hosts.map((h) => ran(`${h.serverId} v2`)));
      await passTicks();
      const after = await Promise.all(hosts.map((h) => ran(`${h.serverId} v2`)));
      assert.deepEqual(after, before, what);
    };
    let startedAt = new Date().toISOString();

    await t.step("should stop on every host when paused, and start again on resume", async () => {
      startedAt = new Date().toISOString();
      assert.equal((await call("POST", `/tasks/${id}/pause`)).status, 200);
      await assertStopped(agents, "a paused task does not run");
      const before = await Promise.all(agents.map((h) => ran(`${h.serverId} v2`)));
      assert.equal((await call("POST", `/tasks/${id}/resume`)).status, 200);
      await waitFor(async () => {
        const now = await Promise.all(agents.map((h) => ran(`${h.serverId} v2`)));
        return now.every((n, i) => n > before[i]);
      }, { what: "the resumed task to run on both hosts" });
    });

    await t.step("should leave a host its targets no longer select", async () => {
      startedAt = new Date().toISOString();
      const reply = await call("PATCH", `/tasks/${id}`, { targets: { labels: { env: "prod" } } });
      assert.equal(reply.status, 200);
      await assertStopped([hostB], "host-b (staging) no longer runs it");
      const a = await ran("host-a v2");
      await passTicks();
      assert.ok((await ran("host-a v2")) > a, "host-a (prod) still runs it");
    });

    await t.step("should stop everywhere once deleted, keeping its history", async () => {
      startedAt = new Date().toISOString();
      assert.equal((await call("DELETE", `/tasks/${id}`)).status, 204);
      await assertStopped([hostA], "a deleted task does not run");
      const history = await call("GET", `/tasks/${id}/executions?limit=1`);
      assert.equal(history.status, 200);
      assert.equal(history.body.executions.length, 1);
    });

    await t.step("should run a task now on each host it targets", async () => {
      const now = `${dir}/now`;
      const manual = await api.create({
        command: `echo "$TASKSCHEDULER_SERVER_ID" >> ${now}`,
        frequency: "0 0 0 1 1 * 2099",
      });
      const reply = await call("POST", `/tasks/${manual}/run`);
      assert.equal(reply.status, 202);
      assert.deepEqual(reply.body.server_ids, ["host-a", "host-b"]);
      const rows = await waitFor(async () => {
        const rows = await sql`
          select server_id from executions
           where task_id = ${manual} and status = 'TASK_COMPLETED_SUCCESS' order by server_id`;
        return rows.length === 2 && rows;
      }, { what: "one run on each host" });
      assert.deepEqual(rows.map((r) => r.server_id), ["host-a", "host-b"]);
      assert.deepEqual((await lines(now)).sort(), ["host-a", "host-b"]);
    });

    await t.step("should kill a running execution on request", async () => {
      const long = await api.create({
        command: "echo started; sleep 60",
        frequency: "0 0 0 1 1 * 2099",
        targets: { server_ids: ["host-b"] },
      });
      assert.equal((await call("POST", `/tasks/${long}/run`)).status, 202);
      const [running] = await waitFor(async () => {
        const rows = await sql`
          select id from executions where task_id = ${long} and status = 'TASK_EXECUTING'`;
        return rows.length === 1 && rows;
      }, { what: "the execution to start" });
      const reply = await call("POST", `/executions/${running.id}/kill`);
      assert.equal(reply.status, 202);
      const done = await waitFor(async () => {
        const reply = await call("GET", `/executions/${running.id}`);
        return reply.body.status !== "TASK_EXECUTING" && reply.body;
      }, { what: "the killed execution's result" });
      assert.equal(done.status, "TASK_COMPLETED_ERROR");
      assert.equal(done.error, "Killed on request");
      assert.equal(done.stdout, "started\n");
      await hostB.waitForLog(
        "Asked to kill an execution",
        (line) => line.execution_id === running.id,
      );
      const again = await call("POST", `/executions/${running.id}/kill`);
      assert.equal(again.status, 409);
    });
  } finally {
    for (const agent of agents) await agent.stop("SIGKILL");
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
