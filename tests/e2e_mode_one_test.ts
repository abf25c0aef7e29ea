import assert from "node:assert/strict";
import postgres from "postgres";
import { type AgentProcess, startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { burst } from "./helpers/cron.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";

Deno.test("a mode one task runs each tick on exactly one host of the fleet", async () => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-one-" });
  const agents: AgentProcess[] = [];
  try {
    await using server = await startServer({ env: { DATABASE_URL: db.url } });
    const api = apiClient(server.url, server.auth);
    for (const serverId of ["host-a", "host-b", "host-c"]) {
      agents.push(startAgent({
        serverUrl: server.url,
        serverId,
        stateDir: `${dir}/${serverId}`,
        token: await api.createAgentToken(serverId),
      }));
    }
    await waitFor(async () => {
      const [{ count }] = await sql`
        select count(*)::int as count from servers where connected_to is not null`;
      return count === 3;
    }, { what: "three connected agents" });

    const { frequency, ticks } = burst(20);
    const witness = `${dir}/witness`;
    const id = await api.create({
      command: `echo "$TASKSCHEDULER_SCHEDULED_FOR $TASKSCHEDULER_SERVER_ID` +
        ` $TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
      frequency,
      mode: "one",
    });
    const rows = await waitFor(async () => {
      const rows = await sql`
        select id, server_id, scheduled_for from executions
         where task_id = ${id} and status = 'TASK_COMPLETED_SUCCESS'`;
      return rows.length >= 20 && rows;
    }, { what: "twenty completed executions", timeoutMs: 60_000 });
    // Every host has decided the last tick: the two that lost it said so.
    const last = ticks.at(-1)!.toISOString();
    await waitFor(() => {
      const losers = agents.filter((agent) =>
        agent.logs.some((line) =>
          line.msg === "Not running a mode-one tick" && line.task_id === id &&
          line.scheduled_for === last
        )
      );
      return losers.length === 2;
    }, { what: "two hosts to pass on the last tick" });

    const runs = (await Deno.readTextFile(witness)).split("\n").filter(Boolean)
      .map((line) => line.split(" "));
    assert.deepEqual(
      runs.map(([scheduledFor]) => scheduledFor).sort(),
      ticks.map((tick) => tick.toISOString()),
      "every tick ran exactly once across the fleet",
    );
    assert.deepEqual(
      rows.map((r) => `${r.scheduled_for.toISOString()} ${r.server_id} ${r.id}`).sort(),
      runs.map((run) => run.join(" ")).sort(),
      "what is stored is exactly what ran",
    );
    const [{ count }] = await sql`
      select count(*)::int as count from tick_claims where task_id = ${id}`;
    assert.equal(count, 20);
  } finally {
    for (const agent of agents) await agent.stop("SIGKILL");
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
