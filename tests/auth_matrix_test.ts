import assert from "node:assert/strict";
import { generateToken } from "../server/tokens.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";

/** One route of the API, with a body good enough to pass validation. */
interface Route {
  method: string;
  path: string;
  body?: unknown;
  /** Roles besides admin that may call it. */
  allowed: ("read" | "agent")[];
}

/** Every `/api/v1` route, each with the roles that may call it besides admin. */
function routes(taskId: string, tokenId: string): Route[] {
  return [
    {
      method: "POST",
      path: "/api/v1/tasks/create",
      body: { command: "true", frequency: "@daily" },
      allowed: [],
    },
    { method: "GET", path: `/api/v1/tasks/${taskId}/status`, allowed: ["read"] },
    {
      method: "PUT",
      path: `/api/v1/tasks/${taskId}/status`,
      body: { server_id: "host-a", stdout: "", stderr: "" },
      allowed: ["agent"],
    },
    { method: "POST", path: "/api/v1/tokens", body: { name: "x", role: "read" }, allowed: [] },
    { method: "GET", path: "/api/v1/tokens", allowed: [] },
    { method: "DELETE", path: `/api/v1/tokens/${tokenId}`, allowed: [] },
    { method: "GET", path: "/api/v1/audit", allowed: [] },
    { method: "GET", path: "/api/v1/agents/connect", allowed: ["agent"] },
  ];
}

/** Row counts of everything a request could change. */
async function counts(app: TestApp) {
  const [row] = await app.sql`
    select (select count(*)::int from tasks) as tasks,
           (select count(*)::int from executions) as executions,
           (select count(*)::int from api_tokens) as tokens,
           (select count(*)::int from api_tokens where revoked_at is not null) as revoked,
           (select count(*)::int from audit_log) as audit`;
  return { ...row };
}

Deno.test("every /api/v1 route refuses bad credentials and roles that may not call it", async (t) => {
  await using app = await startTestApp({ TASKSCHEDULER_AUTH_FAILURE_LIMIT: "100000" });
  const task = await app.request("POST", "/api/v1/tasks/create", {
    command: "true",
    frequency: "@daily",
  });
  const victim = await app.createToken("read", { name: "victim" });
  const read = await app.createToken("read");
  const agent = await app.createToken("agent", { serverId: "host-a" });
  const revoked = await app.createToken("admin", { name: "revoked admin" });
  await app.store.revokeToken(revoked.id);
  const all = routes(task.body.command_id, victim.id);
  const before = await counts(app);

  const expectRefused = async (
    requester: ReturnType<TestApp["as"]>,
    expected: { status: number; challenge?: RegExp },
    headers?: HeadersInit,
  ) => {
    for (const route of all) {
      const reply = await requester.request(route.method, route.path, route.body, headers);
      const what = `${route.method} ${route.path}`;
      assert.equal(reply.status, expected.status, `${what}: ${JSON.stringify(reply.body)}`);
      assert.equal(typeof reply.body.error, "string", what);
      if (expected.challenge) {
        assert.match(reply.headers.get("www-authenticate") ?? "", expected.challenge, what);
      }
    }
  };

  await t.step("should answer 401 with a Bearer challenge without a token", async () => {
    await expectRefused(app.as(null), {
      status: 401,
      challenge: /^Bearer realm="taskscheduler"$/,
    });
  });

  await t.step("should answer 401 for a malformed Authorization header", async () => {
    for (
      const header of [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer two words",
        "Token " + read.token,
        `Bearer ${"a".repeat(600)}`,
        "Bearer tsk_<script>",
      ]
    ) {
      await expectRefused(app.as(null), {
        status: 401,
        challenge: /^Bearer realm="taskscheduler", error="invalid_request"$/,
      }, { authorization: header });
    }
  });

  await t.step("should answer 401 for an unknown token", async () => {
    await expectRefused(app.as(generateToken()), {
      status: 401,
      challenge: /error="invalid_token"/,
    });
  });

  await t.step("should answer 401 for a revoked token", async () => {
    await expectRefused(app.as(revoked.token), {
      status: 401,
      challenge: /error="invalid_token"/,
    });
  });

  await t.step("should answer 403 for a read token on every route but reading", async () => {
    for (const route of all.filter((r) => !r.allowed.includes("read"))) {
      const reply = await app.as(read.token).request(route.method, route.path, route.body);
      assert.equal(reply.status, 403, `${route.method} ${route.path}`);
      assert.match(reply.body.error, /^A read token may not call /);
    }
  });

  await t.step("should answer 403 for an agent token on every client route", async () => {
    for (const route of all.filter((r) => !r.allowed.includes("agent"))) {
      const reply = await app.as(agent.token).request(route.method, route.path, route.body);
      assert.equal(reply.status, 403, `${route.method} ${route.path}`);
      assert.match(reply.body.error, /^An agent token may not call /);
    }
  });

  await t.step("should have changed nothing while refusing", async () => {
    assert.deepEqual(await counts(app), before);
  });

  await t.step("should let each role call what it may", async () => {
    const readReply = await app.as(read.token).request("GET", all[1].path);
    assert.equal(readReply.status, 200);
    const agentReply = await app.as(agent.token).request("PUT", all[2].path, all[2].body);
    assert.equal(agentReply.status, 200);
    for (const route of all.filter((r) => r.method !== "DELETE")) {
      const reply = await app.request(route.method, route.path, route.body);
      // The hub answers 404 to a GET that asks for no upgrade: past authentication.
      const ok = route.path.endsWith("/connect") ? 404 : route.method === "POST" ? 201 : 200;
      assert.equal(reply.status, ok, `${route.method} ${route.path}`);
    }
    assert.equal((await app.request("DELETE", all[5].path)).status, 200);
  });

  await t.step("should answer 401 on unknown routes too, revealing nothing", async () => {
    const reply = await app.as(null).request("GET", "/api/v1/secret-admin-thing");
    assert.equal(reply.status, 401);
  });

  await t.step("should leave the health probes open", async () => {
    assert.equal((await app.as(null).request("GET", "/healthz")).status, 200);
    assert.equal((await app.as(null).request("GET", "/readyz")).status, 200);
  });
});
