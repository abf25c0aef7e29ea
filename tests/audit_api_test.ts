import assert from "node:assert/strict";
import { startTestApp } from "./helpers/app.ts";

const AUDIT = "/api/v1/audit";

Deno.test("the audit log", async (t) => {
  await using app = await startTestApp({}, { clientAddress: () => "203.0.113.7" });
  const ops = await app.createToken("admin", { name: "ops bot" });

  await t.step("should record who created a task, when and from where", async () => {
    const created = await app.as(ops.token).request("POST", "/api/v1/tasks/create", {
      command: "backup.sh",
      frequency: "0 3 * * *",
    });
    assert.equal(created.status, 201);
    const reply = await app.request("GET", AUDIT);
    assert.equal(reply.status, 200);
    const [entry] = reply.body.entries;
    assert.equal(entry.action, "task.create");
    assert.equal(entry.target_id, created.body.command_id);
    assert.equal(entry.actor_name, "ops bot");
    assert.equal(entry.actor_token_id, ops.id);
    assert.equal(entry.client_address, "203.0.113.7");
    assert.ok(Math.abs(Date.parse(entry.at) - Date.now()) < 60_000);
    assert.deepEqual(entry.details, {
      command: "backup.sh",
      frequency: "0 3 * * *",
      timezone: "UTC",
      timeout_seconds: null,
      mode: "all",
      targets: "{}",
    });
  });

  await t.step("should record token management without the token", async () => {
    const created = await app.request("POST", "/api/v1/tokens", {
      name: "web-9",
      role: "agent",
      server_id: "web-9",
    });
    await app.request("DELETE", `/api/v1/tokens/${created.body.id}`);
    const { entries } = (await app.request("GET", AUDIT)).body;
    assert.deepEqual(entries.slice(0, 2).map((e: { action: string }) => e.action), [
      "token.revoke",
      "token.create",
    ]);
    assert.deepEqual(entries[1].details, { name: "web-9", role: "agent", server_id: "web-9" });
    assert.equal(entries[1].actor_name, "test admin");
    assert.ok(!JSON.stringify(entries).includes(created.body.token));
  });

  await t.step("should write nothing for a refused change", async () => {
    const before = (await app.request("GET", AUDIT)).body.entries.length;
    const refused = await app.request("POST", "/api/v1/tasks/create", {
      command: "true",
      frequency: "0 0 30 2 *",
    });
    assert.equal(refused.status, 422);
    assert.equal((await app.request("GET", AUDIT)).body.entries.length, before);
  });

  await t.step("should page newest first with limit and cursor", async () => {
    for (let i = 0; i < 5; i++) {
      await app.request("POST", "/api/v1/tasks/create", {
        command: `echo ${i}`,
        frequency: "@daily",
      });
    }
    const all = (await app.request("GET", `${AUDIT}?limit=500`)).body;
    assert.equal(all.next_cursor, null);
    const ids = all.entries.map((e: { id: string }) => e.id);
    assert.deepEqual(ids, [...ids].sort((a: string, b: string) => Number(b) - Number(a)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&before=${cursor}` : "?limit=3";
      const page: { entries: { id: string }[]; next_cursor: string | null } =
        (await app.request("GET", AUDIT + query)).body;
      assert.ok(page.entries.length <= 3);
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ids);
  });

  await t.step("should answer 400 for a bad limit or cursor", async () => {
    for (const query of ["limit=0", "limit=501", "limit=ten", "before=-1", "before=1e3"]) {
      const reply = await app.request("GET", `${AUDIT}?${query}`);
      assert.equal(reply.status, 400, query);
      assert.match(reply.body.error, /^Invalid query parameter '(limit|before)'/);
    }
  });

  await t.step("should be readable by admins only", async () => {
    const read = await app.createToken("read");
    assert.equal((await app.as(read.token).request("GET", AUDIT)).status, 403);
  });
});
