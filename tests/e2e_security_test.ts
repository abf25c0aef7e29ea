import assert from "node:assert/strict";
import { startAgent } from "./helpers/agent_process.ts";
import { apiClient } from "./helpers/api_client.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";

Deno.test("real agents are held to their tokens", async (t) => {
  await using db = await startTestDatabase();
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-e2e-security-" });
  try {
    await using server = await startServer({ env: { DATABASE_URL: db.url } });
    const api = apiClient(server.url, server.auth);

    await t.step("should keep out an agent without a token", async () => {
      await using agent = startAgent({
        serverUrl: server.url,
        serverId: "no-token",
        stateDir: `${dir}/none`,
      });
      const line = await agent.waitForLog("Cannot reach the server");
      assert.match(String((line as { error: unknown }).error), /401/);
    });

    await t.step("should refuse an agent saying hello as another host", async () => {
      await using agent = startAgent({
        serverUrl: server.url,
        serverId: "host-b",
        stateDir: `${dir}/b`,
        token: await api.createAgentToken("host-a"),
      });
      const line = await agent.waitForLog("The server refused this agent's credentials");
      assert.equal(
        (line as { reason: unknown }).reason,
        "This token speaks for server_id 'host-a', not 'host-b'",
      );
    });

    await t.step("should disconnect a running agent whose token is revoked", async () => {
      const token = await api.createAgentToken("host-c");
      await using agent = startAgent({
        serverUrl: server.url,
        serverId: "host-c",
        stateDir: `${dir}/c`,
        token,
      });
      await agent.waitForLog("Connected");
      const list = await fetch(`${server.url}/api/v1/tokens`, { headers: server.auth });
      const { tokens } = await list.json();
      const { id } = tokens.find((x: { name: string }) => x.name === "host-c");
      const revoked = await fetch(`${server.url}/api/v1/tokens/${id}`, {
        method: "DELETE",
        headers: server.auth,
      });
      await revoked.body?.cancel();
      assert.equal(revoked.status, 200);
      const line = await agent.waitForLog("The server refused this agent's credentials");
      assert.equal((line as { reason: unknown }).reason, "The token was revoked");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
