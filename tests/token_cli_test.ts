import assert from "node:assert/strict";
import { startTestApp } from "./helpers/app.ts";

const ROOT = new URL("../", import.meta.url);

/** Runs `deno task token` as a user would (same permissions), with `env` only. */
async function tokenCli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "server/token_cli.ts", ...args],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("deno task token", async (t) => {
  await using app = await startTestApp();
  const dataDir = await Deno.makeTempDir({ prefix: "taskscheduler-cli-" });
  const env = { TASKSCHEDULER_URL: app.url, TASKSCHEDULER_DATA_DIR: dataDir, PATH: "/usr/bin" };
  try {
    await Deno.writeTextFile(`${dataDir}/admin-token`, app.adminToken + "\n", { mode: 0o600 });
    let created = "";

    await t.step("should create a token with the admin token from the data dir", async () => {
      const run = await tokenCli(
        ["create", "--name", "web-1", "--role", "agent", "--server-id", "web-1"],
        env,
      );
      assert.equal(run.code, 0, run.stderr);
      created = run.stdout.trim();
      assert.match(created, /^tsk_[A-Za-z0-9_-]{43}$/, "stdout is the token alone");
      assert.match(run.stderr, /Created agent token 'web-1' for host 'web-1' \(id [0-9a-f-]{36}\)/);
      const [row] = await app.sql`select role, server_id from api_tokens where name = 'web-1'`;
      assert.deepEqual({ ...row }, { role: "agent", server_id: "web-1" });
    });

    await t.step("should list tokens without secrets", async () => {
      const run = await tokenCli(["list"], env);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split("\n");
      assert.match(lines[0], /^ID\s+NAME\s+ROLE\s+SERVER_ID\s+CREATED\s+LAST USED\s+STATE$/);
      assert.ok(lines.some((l) => /web-1\s+agent\s+web-1\s.*active$/.test(l)));
      assert.ok(!run.stdout.includes(created) && !run.stdout.includes(app.adminToken));
    });

    await t.step("should revoke a token by id", async () => {
      const [{ id }] = await app.sql`select id from api_tokens where name = 'web-1'`;
      const run = await tokenCli(["revoke", id], {
        ...env,
        TASKSCHEDULER_API_TOKEN: app.adminToken,
        TASKSCHEDULER_DATA_DIR: "/nonexistent",
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr.trim(), `Revoked agent token 'web-1' (id ${id})`);
      assert.equal((await app.as(created).request("PUT", "/api/v1/tasks/x/status")).status, 401);
    });

    await t.step("should exit 1 with the server's answer when it refuses", async () => {
      const run = await tokenCli(["create", "--name", "x", "--role", "root"], env);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^The server answered 422: Invalid field 'role'/);
      const unknown = await tokenCli(["revoke", crypto.randomUUID()], env);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^The server answered 404: Token not found/);
    });

    await t.step("should exit 1 naming what is missing without an admin token", async () => {
      const run = await tokenCli(["list"], { ...env, TASKSCHEDULER_DATA_DIR: "/nonexistent" });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^No admin token: set TASKSCHEDULER_API_TOKEN, or run where/);
    });

    await t.step("should exit 2 with the usage for a usage mistake", async () => {
      for (const args of [[], ["rotate"], ["create", "--name", "x"], ["revoke"], ["--bogus"]]) {
        const run = await tokenCli(args, env);
        assert.equal(run.code, 2, args.join(" "));
        assert.match(run.stderr, /Usage: deno task token <command>/);
      }
      const bad = await tokenCli(["list"], { ...env, TASKSCHEDULER_URL: "ftp://x" });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^Invalid value for TASKSCHEDULER_URL: "ftp:\/\/x"/);
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
