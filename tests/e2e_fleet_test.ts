import assert from "node:assert/strict";
import postgres from "postgres";
import { startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { burst } from "./helpers/cron.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";
import { witnessed } from "./helpers/witness.ts";

Deno.test("tasks run on every connected agent and each result is stored exactly once", async (t) => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-e2e-" });
  try {
    await using server = await startServer({ env: { DATABASE_URL: db.url } });
    const api = apiClient(server.url, server.auth);
    const parked = await api.create({ command: "true", frequency: "0 0 1 1 *" });
    assert.equal((await api.status(parked)).status, "TASK_RECEIVED");

    await using hostA = startAgent({
      serverUrl: server.url,
      serverId: "host-a",
      stateDir: `${dir}/a`,
      token: await api.createAgentToken("host-a"),
    });
    await using hostB = startAgent({
      serverUrl: server.url,
      serverId: "host-b",
      stateDir: `${dir}/b`,
      token: await api.createAgentToken("host-b"),
    });

    await t.step("should be TASK_SCHEDULED once the agents accepted it", async () => {
      await waitFor(async () => (await api.status(parked)).status === "TASK_SCHEDULED", {
        what: "TASK_SCHEDULED",
      });
      await waitFor(async () => {
        const rows = await sql`
          select server_id from task_servers where task_id = ${parked} and state = 'accepted'`;
        return rows.length === 2;
      }, { what: "both hosts to accept" });
    });

    await t.step("should run every tick on every host, nothing lost or stored twice", async () => {
      const { frequency, ticks } = burst(3);
      const witness = `${dir}/witness`;
      const id = await api.create({
        command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}-"$TASKSCHEDULER_SERVER_ID"; ` +
          `echo "ran on $TASKSCHEDULER_SERVER_ID for $TASKSCHEDULER_TASK_ID"`,
        frequency,
      });
      const rows = await waitFor(async () => {
        const rows = await sql`
          select id, server_id, status, stdout, scheduled_for from executions
           where task_id = ${id} and status <> 'TASK_EXECUTING' order by server_id`;
        return rows.length === 6 && rows;
      }, { what: "six completed executions" });
      for (const host of [hostA, hostB]) {
        const stored = rows.filter((r) => r.server_id === host.serverId);
        assert.deepEqual(
          stored.map((r) => r.id).sort(),
          await witnessed(`${witness}-${host.serverId}`),
          `${host.serverId}: the runs stored are exactly the runs that happened`,
        );
        assert.deepEqual(
          stored.map((r) => r.scheduled_for.getTime()).sort(),
          ticks.map((tick) => tick.getTime()),
          `${host.serverId} ran each tick once`,
        );
        for (const r of stored) {
          assert.equal(r.status, "TASK_COMPLETED_SUCCESS");
          assert.equal(r.stdout, `ran on ${host.serverId} for ${id}\n`);
        }
      }
      const body = await api.status(id);
      assert.equal(body.status, "TASK_COMPLETED_SUCCESS");
      assert.match(body.stdout, /^ran on host-[ab] for /);
      assert.equal(body.stderr, null);
      assert.ok(body.latest_complete_execution_timestamp);
    });

    await t.step(
      "should show TASK_EXECUTING while it runs, then the error and stderr",
      async () => {
        const { frequency } = burst(1);
        const id = await api.create({
          command: "sleep 1.5; echo 'disk full' >&2; exit 3",
          frequency,
        });
        await waitFor(async () => (await api.status(id)).status === "TASK_EXECUTING", {
          what: "TASK_EXECUTING",
        });
        const body = await waitFor(async () => {
          const [{ count }] = await sql`
          select count(*)::int as count from executions
           where task_id = ${id} and status = 'TASK_COMPLETED_ERROR'`;
          return count === 2 && await api.status(id);
        }, { what: "both runs to fail" });
        assert.equal(body.status, "TASK_COMPLETED_ERROR");
        assert.equal(body.stderr, "disk full\n");
        assert.equal(body.stdout, null);
        const codes = await sql`select exit_code from executions where task_id = ${id}`;
        assert.deepEqual(codes.map((r) => r.exit_code), [3, 3]);
      },
    );
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
