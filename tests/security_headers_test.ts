import assert from "node:assert/strict";
import { startTestApp } from "./helpers/app.ts";

Deno.test("every response carries the security headers", async (t) => {
  await using app = await startTestApp();
  const task = await app.request("POST", "/api/v1/tasks/create", {
    command: "true",
    frequency: "@daily",
  });

  const cases: [string, string, ReturnType<typeof app.as>, number][] = [
    ["GET", "/healthz", app, 200],
    ["GET", "/nowhere", app, 404],
    ["GET", `/api/v1/tasks/${task.body.command_id}/status`, app, 200],
    ["GET", "/api/v1/tokens", app.as(null), 401],
    ["GET", "/api/v1/nowhere", app, 404],
    ["POST", "/api/v1/tasks/create", app, 415],
  ];
  for (const [method, path, requester, status] of cases) {
    const route = path.replace(task.body.command_id, "{task_id}");
    await t.step(`should set them on ${method} ${route} (${status})`, async () => {
      const reply = await requester.request(method, path, method === "POST" ? "x" : undefined, {
        "content-type": "text/plain",
      });
      assert.equal(reply.status, status);
      const h = reply.headers;
      assert.equal(h.get("x-content-type-options"), "nosniff");
      assert.equal(h.get("x-frame-options"), "DENY");
      assert.equal(h.get("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
      assert.equal(h.get("referrer-policy"), "no-referrer");
      assert.equal(h.get("strict-transport-security"), null, "not over plain HTTP");
      assert.equal(h.get("cache-control"), path.startsWith("/api/") ? "no-store" : null);
    });
  }

  await t.step("should set them on the hub's refusal too", async () => {
    const res = await fetch(`${app.url}/api/v1/agents/connect`, {
      headers: { upgrade: "websocket" },
    });
    await res.body?.cancel();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("cache-control"), "no-store");
  });
});
