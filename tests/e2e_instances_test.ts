import assert from "node:assert/strict";
import postgres from "postgres";
import { generateToken } from "../server/tokens.ts";
import { startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { burst } from "./helpers/cron.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";
import { witnessed } from "./helpers/witness.ts";

Deno.test("several server instances on one database share task changes", async (t) => {
  await using db = await startTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-instances-" });
  try {
    const apiToken = generateToken();
    const env = { DATABASE_URL: db.url };
    await using first = await startServer({ env, apiToken });
    await using second = await startServer({ env, apiToken });
    const viaFirst = apiClient(first.url, first.auth);
    const viaSecond = apiClient(second.url, second.auth);
    await using _agent = startAgent({
      serverUrl: first.url,
      serverId: "host-1",
      stateDir: dir,
      token: await viaFirst.createAgentToken("host-1"),
    });
    await waitFor(async () => {
      const [host] = await sql`select connected_to from servers where id = 'host-1'`;
      return host?.connected_to;
    }, { what: "the agent to connect to the first instance" });

    await t.step("should run a task created on another instance at once", async () => {
      const witness = `${dir}/witness-created`;
      const id = await viaSecond.create({
        command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
        frequency: burst(2).frequency,
      });
      const ids = await waitFor(async () => {
        const rows = await sql`
          select id from executions where task_id = ${id} and status = 'TASK_COMPLETED_SUCCESS'`;
        return rows.length === 2 && rows.map((r) => r.id).sort();
      }, { what: "two runs on the agent of the other instance" });
      assert.deepEqual(ids, await witnessed(witness));
      assert.equal((await viaSecond.status(id)).status, "TASK_COMPLETED_SUCCESS");
    });

    await t.step("should run now on a host connected to another instance", async () => {
      const witness = `${dir}/witness-run`;
      const id = await viaSecond.create({
        command: `echo "$TASKSCHEDULER_EXECUTION_ID" >> ${witness}`,
        frequency: "0 0 1 1 *",
      });
      const res = await fetch(`${second.url}/api/v1/tasks/${id}/run`, {
        method: "POST",
        headers: second.auth,
      });
      assert.equal(res.status, 202);
      assert.deepEqual((await res.json()).server_ids, ["host-1"]);
      const [run] = await waitFor(async () => {
        const rows = await sql`
          select id from executions where task_id = ${id} and status = 'TASK_COMPLETED_SUCCESS'`;
        return rows.length === 1 && rows;
      }, { what: "the run-now execution" });
      assert.deepEqual([run.id], await witnessed(witness));
    });
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
