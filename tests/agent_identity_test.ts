import assert from "node:assert/strict";
import { CLOSE_UNAUTHORIZED } from "../shared/protocol.ts";
import { createLogger } from "../shared/logger.ts";
import { startRevocationSweep } from "../server/revocation_sweep.ts";
import { generateToken } from "../server/tokens.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs, hello } from "./helpers/ws_client.ts";

async function createTask(app: TestApp): Promise<string> {
  const reply = await app.request("POST", "/api/v1/tasks/create", {
    command: "echo hi",
    frequency: "* * * * *",
  });
  assert.equal(reply.status, 201);
  return reply.body.command_id;
}

async function executionCount(app: TestApp): Promise<number> {
  const [{ count }] = await app.sql`select count(*)::int as count from executions`;
  return count;
}

Deno.test("the hub checks who connects before and after the upgrade", async (t) => {
  await using app = await startTestApp();
  const agentA = await app.createToken("agent", { serverId: "host-a" });

  await t.step("should refuse the upgrade with 401 without a token", async () => {
    await assert.rejects(() => connectWs(app.url), /Invalid status code: 401/);
    await assert.rejects(() => connectWs(app.url, { token: generateToken() }), /401/);
    assert.deepEqual(app.hub.connectedTokenIds(), [], "no connection was opened");
  });

  await t.step("should refuse the upgrade with 403 for a read token", async () => {
    const read = await app.createToken("read");
    await assert.rejects(() => connectWs(app.url, { token: read.token }), /403/);
  });

  await t.step("should close agent A saying hello as host B, storing nothing", async () => {
    await using ws = await connectWs(app.url, { token: agentA.token });
    ws.send(hello("host-b"));
    const closed = await ws.waitClosed();
    assert.equal(closed.code, CLOSE_UNAUTHORIZED);
    assert.equal(closed.reason, "This token speaks for server_id 'host-a', not 'host-b'");
    assert.equal(ws.received.length, 0, "no sync for an impostor");
    const [host] = await app.sql`select 1 from servers where id = 'host-b'`;
    assert.equal(host, undefined);
  });

  await t.step("should clip long server ids in the close reason", async () => {
    await using ws = await connectWs(app.url, { token: agentA.token });
    ws.send(hello("h".repeat(128)));
    const closed = await ws.waitClosed();
    assert.equal(closed.code, CLOSE_UNAUTHORIZED);
    assert.ok(new TextEncoder().encode(closed.reason).length <= 123);
  });

  await t.step("should sync agent A saying hello as itself", async () => {
    await using ws = await connectWs(app.url, { token: agentA.token });
    ws.send(hello("host-a"));
    await ws.next("sync");
    assert.deepEqual(app.hub.connectedTokenIds(), [agentA.id]);
  });

  await t.step("should let an admin token say hello as any host", async () => {
    await using ws = await connectWs(app.url, { token: app.adminToken });
    ws.send(hello("any-host"));
    await ws.next("sync");
  });
});

Deno.test("revoking a token closes the hub connections made with it", async (t) => {
  await using app = await startTestApp();

  await t.step("should close at once when revoked through the API", async () => {
    const agent = await app.createToken("agent", { serverId: "host-r" });
    await using ws = await connectWs(app.url, { token: agent.token });
    ws.send(hello("host-r"));
    await ws.next("sync");
    const reply = await app.request("DELETE", `/api/v1/tokens/${agent.id}`);
    assert.equal(reply.status, 200);
    assert.deepEqual(await ws.waitClosed(), {
      code: CLOSE_UNAUTHORIZED,
      reason: "The token was revoked",
    });
    await assert.rejects(() => connectWs(app.url, { token: agent.token }), /401/);
    await waitFor(async () => {
      const [host] = await app.sql`select connected_to from servers where id = 'host-r'`;
      return host.connected_to === null;
    }, { what: "host-r to be marked disconnected" });
  });

  await t.step("should close within a sweep when revoked elsewhere", async () => {
    const agent = await app.createToken("agent", { serverId: "host-s" });
    const other = await app.createToken("agent", { serverId: "host-t" });
    await using ws = await connectWs(app.url, { token: agent.token });
    await using stays = await connectWs(app.url, { token: other.token });
    ws.send(hello("host-s"));
    stays.send(hello("host-t"));
    await ws.next("sync");
    await stays.next("sync");
    const sweep = startRevocationSweep({
      store: app.store,
      hub: app.hub,
      logger: createLogger({ write: () => {} }),
      intervalMs: 20,
    });
    try {
      // As another instance, or an operator in the database, would.
      await app.store.revokeToken(agent.id);
      assert.equal((await ws.waitClosed()).code, CLOSE_UNAUTHORIZED);
      assert.equal(stays.closed, undefined, "a connection with an active token stays");
    } finally {
      sweep.stop();
    }
  });
});

Deno.test("PUT /api/v1/tasks/{task_id}/status holds an agent to its own host", async (t) => {
  await using app = await startTestApp();
  const taskId = await createTask(app);
  const agentA = await app.createToken("agent", { serverId: "host-a" });
  const agentB = await app.createToken("agent", { serverId: "host-b" });
  const path = `/api/v1/tasks/${taskId}/status`;

  await t.step("should answer 403 to agent A reporting as host B, storing nothing", async () => {
    const before = await executionCount(app);
    const reply = await app.as(agentA.token).request("PUT", path, {
      server_id: "host-b",
      stdout: "forged",
      stderr: "",
    });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error, "This token reports for server_id 'host-a', not 'host-b'");
    assert.equal(reply.body.field, "server_id");
    assert.equal(await executionCount(app), before);
  });

  await t.step("should store agent A's own result", async () => {
    const reply = await app.as(agentA.token).request("PUT", path, {
      server_id: "host-a",
      stdout: "secret of host a",
      stderr: "",
      started_at: "2030-01-01T00:00:00Z",
      finished_at: "2030-01-01T00:00:01Z",
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.stdout, "secret of host a");
  });

  await t.step("should not show agent B what host A reported", async () => {
    const reply = await app.as(agentB.token).request("PUT", path, {
      server_id: "host-b",
      stdout: "",
      stderr: "b failed",
      started_at: "2020-01-01T00:00:00Z",
      finished_at: "2020-01-01T00:00:01Z",
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.status, "TASK_COMPLETED_ERROR");
    assert.equal(reply.body.stderr, "b failed");
    assert.equal(reply.body.latest_complete_execution_timestamp, "2020-01-01T00:00:01.000Z");
    assert.ok(!JSON.stringify(reply.body).includes("secret of host a"));
  });

  await t.step("should show an admin the task's status over all hosts", async () => {
    const reply = await app.request("GET", path);
    assert.equal(reply.body.stdout, "secret of host a");
  });

  await t.step("should refuse an agent token reading a task's status", async () => {
    const reply = await app.as(agentB.token).request("GET", path);
    assert.equal(reply.status, 403);
  });
});
