import assert from "node:assert/strict";
import { isUuid } from "../shared/ids.ts";
import { hashToken } from "../server/tokens.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";

const TOKENS = "/api/v1/tokens";

async function tokenCount(app: TestApp): Promise<number> {
  const [{ count }] = await app.sql`select count(*)::int as count from api_tokens`;
  return count;
}

Deno.test("the token API", async (t) => {
  await using app = await startTestApp();
  let readToken = "";
  let readId = "";

  await t.step("should create a token, show it once and store only its hash", async () => {
    const reply = await app.request("POST", TOKENS, { name: "alice laptop", role: "read" });
    assert.equal(reply.status, 201);
    const { token, id, ...rest } = reply.body;
    assert.match(token, /^tsk_[A-Za-z0-9_-]{43}$/);
    assert.ok(isUuid(id));
    assert.equal(rest.name, "alice laptop");
    assert.equal(rest.role, "read");
    assert.equal(rest.server_id, null);
    assert.equal(rest.created_by, "test admin");
    assert.equal(rest.revoked_at, null);
    const [row] = await app.sql`select * from api_tokens where id = ${id}`;
    assert.deepEqual(new Uint8Array(row.token_hash), hashToken(token));
    assert.ok(!JSON.stringify(row).includes(token.slice(4)), "the token itself is not stored");
    readToken = token;
    readId = id;
  });

  await t.step("should accept the new token at once", async () => {
    const reply = await app.as(readToken).request(
      "GET",
      `/api/v1/tasks/${crypto.randomUUID()}/status`,
    );
    assert.equal(reply.status, 404, "authenticated; the task just does not exist");
  });

  await t.step("should bind an agent token to its host", async () => {
    const reply = await app.request("POST", TOKENS, {
      name: "web-1",
      role: "agent",
      server_id: "web-1",
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.body.server_id, "web-1");
  });

  await t.step("should refuse bad bodies and store nothing", async () => {
    const cases: [unknown, number, RegExp, string?][] = [
      [{ name: "x", role: "agent" }, 422, /Missing field 'server_id'/, "server_id"],
      [{ name: "x", role: "read", server_id: "web-1" }, 422, /only agent tokens/, "server_id"],
      [{ name: "x", role: "root" }, 422, /Invalid field 'role'/, "role"],
      [{ name: "", role: "read" }, 422, /Invalid field 'name'/, "name"],
      [{ name: "a\nb", role: "read" }, 422, /control characters/, "name"],
      [{ name: "x".repeat(101), role: "read" }, 422, /Invalid field 'name'/, "name"],
      [{ role: "read" }, 422, /Missing field 'name'/, "name"],
      [{ name: "x", role: "agent", server_id: "bad id" }, 422, /server_id/, "server_id"],
      [{ name: "x", role: "read", token: "tsk_mine" }, 400, /Unknown field: 'token'/],
      [{ name: "x", role: "read", token_hash: "00" }, 400, /Unknown field: 'token_hash'/],
      ["{", 400, /Malformed JSON/],
    ];
    const before = await tokenCount(app);
    for (const [body, status, error, field] of cases) {
      const reply = await app.request("POST", TOKENS, body);
      assert.equal(reply.status, status, JSON.stringify(body));
      assert.match(reply.body.error, error);
      if (field) assert.equal(reply.body.field, field);
    }
    assert.equal(await tokenCount(app), before);
  });

  await t.step("should list tokens without any secret", async () => {
    const reply = await app.request("GET", TOKENS);
    assert.equal(reply.status, 200);
    const names = reply.body.tokens.map((x: { name: string }) => x.name);
    assert.deepEqual(names, ["test admin", "alice laptop", "web-1"]);
    for (const token of reply.body.tokens) {
      assert.deepEqual(Object.keys(token).sort(), [
        "created_at",
        "created_by",
        "id",
        "last_used_at",
        "name",
        "revoked_at",
        "role",
        "server_id",
      ]);
    }
    const alice = reply.body.tokens.find((x: { id: string }) => x.id === readId);
    assert.ok(alice.last_used_at, "the use above was noted");
    assert.ok(!JSON.stringify(reply.body).includes(readToken));
  });

  await t.step("should revoke a token, once, and refuse it afterwards", async () => {
    const reply = await app.request("DELETE", `${TOKENS}/${readId}`);
    assert.equal(reply.status, 200);
    assert.ok(reply.body.revoked_at);
    assert.equal(reply.body.token, undefined);
    const again = await app.request("DELETE", `${TOKENS}/${readId}`);
    assert.equal(again.status, 200);
    assert.equal(again.body.revoked_at, reply.body.revoked_at, "revoking twice changes nothing");
    const refused = await app.as(readToken).request("GET", TOKENS);
    assert.equal(refused.status, 401);
    const [{ count }] = await app.sql`
      select count(*)::int as count from audit_log
       where action = 'token.revoke' and target_id = ${readId}`;
    assert.equal(count, 1, "one revocation, one audit entry");
  });

  await t.step("should answer 404 for an unknown token and 400 for a malformed id", async () => {
    assert.equal((await app.request("DELETE", `${TOKENS}/${crypto.randomUUID()}`)).status, 404);
    assert.equal((await app.request("DELETE", `${TOKENS}/42`)).status, 400);
  });

  await t.step("should never write a token to the log", () => {
    const logged = JSON.stringify(app.logs);
    assert.ok(!logged.includes(readToken));
    assert.ok(!logged.includes(app.adminToken));
  });
});
