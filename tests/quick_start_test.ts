import assert from "node:assert/strict";
import { startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";

const ROOT = new URL("../", import.meta.url);

/** `deno task token ...` as the README runs it, from the repository. */
async function tokenTask(args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "token", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("the README quick start works, tokens included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-quick-start-" });
  const dataDir = `${dir}/data`;
  try {
    // 2. deno task serve: the embedded database, no token configured.
    await using server = await startServer({
      apiToken: null,
      env: { TASKSCHEDULER_DATA_DIR: dataDir },
    });
    // 3. An agent token from `deno task token`, then the agent.
    const agentToken = await tokenTask(
      ["create", "--name", "this-host", "--role", "agent", "--server-id", "this-host"],
      { TASKSCHEDULER_DATA_DIR: dataDir, TASKSCHEDULER_URL: server.url },
    );
    await using agent = startAgent({
      serverUrl: server.url,
      serverId: "this-host",
      stateDir: `${dir}/agent`,
      token: agentToken,
    });
    await agent.waitForLog("Connected");
    // 4. TOKEN=$(cat data/admin-token); create a task and read its status.
    const token = (await Deno.readTextFile(`${dataDir}/admin-token`)).trim();
    const api = apiClient(server.url, { authorization: `Bearer ${token}` });
    // The README runs `uptime` every minute; a command every image has, every second.
    const id = await api.create({ command: "echo up", frequency: "* * * * * *" });
    const status = await waitFor(async () => {
      const body = await api.status(id);
      return body.status === "TASK_COMPLETED_SUCCESS" && body;
    }, { what: "the task to run on the agent" });
    assert.equal(status.stdout, "up\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
