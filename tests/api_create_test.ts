import assert from "node:assert/strict";
import { isUuid } from "../shared/ids.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";

const CREATE = "/api/v1/tasks/create";

async function taskCount(t: TestApp): Promise<number> {
  const [{ count }] = await t.sql`select count(*)::int as count from tasks`;
  return count;
}

/** Sends `body` and asserts the answer, and that no task was stored. */
async function assertRefused(
  t: TestApp,
  body: unknown,
  expected: { status: number; field?: string; error: RegExp; headers?: HeadersInit },
) {
  const before = await taskCount(t);
  const reply = await t.request("POST", CREATE, body, expected.headers);
  assert.equal(reply.status, expected.status, JSON.stringify(reply.body));
  assert.match(reply.body.error, expected.error);
  if (expected.status === 422) assert.equal(reply.body.status, "TASK_INVALID");
  if (expected.field) assert.equal(reply.body.field, expected.field);
  assert.equal(await taskCount(t), before, "a refused task must not be stored");
}

Deno.test("POST /api/v1/tasks/create", async (t) => {
  await using app = await startTestApp({ TASKSCHEDULER_MAX_BODY_BYTES: "2048" });

  await t.step("should store a valid task and answer 201 with its id", async () => {
    const reply = await app.request("POST", CREATE, {
      command: "echo hello",
      frequency: "*/5 * * * *",
    });
    assert.equal(reply.status, 201);
    assert.deepEqual(Object.keys(reply.body), ["command_id"]);
    assert.ok(isUuid(reply.body.command_id));
    const [row] = await app.sql`
      select command, frequency, timezone, timeout_seconds from tasks
       where id = ${reply.body.command_id}`;
    assert.deepEqual({ ...row }, {
      command: "echo hello",
      frequency: "*/5 * * * *",
      timezone: "UTC",
      timeout_seconds: null,
    });
  });

  await t.step("should accept 6- and 7-field expressions and nicknames", async () => {
    for (const frequency of ["* * * * * *", "0 0 12 * * * 2099", "@hourly", "@daily"]) {
      const reply = await app.request("POST", CREATE, { command: "true", frequency });
      assert.equal(reply.status, 201, frequency);
    }
  });

  await t.step("should store the optional timezone and timeout", async () => {
    const reply = await app.request("POST", CREATE, {
      command: "true",
      frequency: "0 9 * * 1-5",
      timezone: "Europe/Paris",
      timeout_seconds: 30,
    });
    assert.equal(reply.status, 201);
    const [row] = await app.sql`
      select timezone, timeout_seconds from tasks where id = ${reply.body.command_id}`;
    assert.deepEqual({ ...row }, { timezone: "Europe/Paris", timeout_seconds: 30 });
  });

  await t.step("should refuse a cron expression that does not parse", async () => {
    for (const frequency of ["not cron", "61 * * * *", "* * * *", "* * * * * * * *", ""]) {
      await assertRefused(app, { command: "true", frequency }, {
        status: 422,
        field: "frequency",
        error: /Invalid cron expression/,
      });
    }
  });

  await t.step("should refuse an expression that never fires", async () => {
    await assertRefused(app, { command: "true", frequency: "0 0 30 2 *" }, {
      status: 422,
      field: "frequency",
      error: /never fires/,
    });
  });

  await t.step("should refuse an empty or whitespace-only command", async () => {
    for (const command of ["", "   ", "\n\t"]) {
      await assertRefused(app, { command, frequency: "* * * * *" }, {
        status: 422,
        field: "command",
        error: /command must not be empty/,
      });
    }
  });

  await t.step("should name a missing field", async () => {
    await assertRefused(app, { frequency: "* * * * *" }, {
      status: 422,
      field: "command",
      error: /^Missing field 'command'$/,
    });
    await assertRefused(app, { command: "true" }, {
      status: 422,
      field: "frequency",
      error: /^Missing field 'frequency'$/,
    });
  });

  await t.step("should name a field of the wrong type", async () => {
    await assertRefused(app, { command: 42, frequency: "* * * * *" }, {
      status: 422,
      field: "command",
      error: /Invalid field 'command'/,
    });
    await assertRefused(app, { command: "true", frequency: ["*"] }, {
      status: 422,
      field: "frequency",
      error: /Invalid field 'frequency'/,
    });
    await assertRefused(app, { command: "true", frequency: "* * * * *", timeout_seconds: 0 }, {
      status: 422,
      field: "timeout_seconds",
      error: /Invalid field 'timeout_seconds'/,
    });
  });

  await t.step("should refuse an unknown timezone", async () => {
    await assertRefused(app, { command: "true", frequency: "* * * * *", timezone: "Mars/Base" }, {
      status: 422,
      field: "timezone",
      error: /Unknown timezone/,
    });
  });

  await t.step("should refuse unknown fields with 400 naming them", async () => {
    const reply = await app.request("POST", CREATE, {
      command: "true",
      frequency: "* * * * *",
      id: "0b0e1b7e-1111-4111-8111-111111111111",
      owner: "me",
    });
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error, "Unknown fields: 'id', 'owner'");
    assert.deepEqual(reply.body.fields, ["id", "owner"]);
  });

  await t.step(
    "should answer 400 for malformed JSON and for a body that is no object",
    async () => {
      await assertRefused(app, '{"command": "true",', { status: 400, error: /^Malformed JSON/ });
      await assertRefused(app, "[1, 2]", { status: 400, error: /must be a JSON object/ });
      await assertRefused(app, "null", { status: 400, error: /must be a JSON object/ });
    },
  );

  await t.step("should answer 415 for a body that is not JSON", async () => {
    await assertRefused(app, "command=true", {
      status: 415,
      error: /application\/json/,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  });

  await t.step("should answer 413 for a body over the limit, with or without length", async () => {
    const big = JSON.stringify({ command: "x".repeat(4096), frequency: "* * * * *" });
    await assertRefused(app, big, { status: 413, error: /larger than 2048 bytes/ });
    const before = await taskCount(app);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await app.app.request(CREATE, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${app.adminToken}` },
      body: chunked,
    });
    assert.equal(res.status, 413);
    assert.match((await res.json()).error, /larger than 2048 bytes/);
    assert.equal(await taskCount(app), before);
  });
});

Deno.test("POST /api/v1/tasks/create refuses a command over the length limit", async () => {
  await using app = await startTestApp({ TASKSCHEDULER_MAX_COMMAND_BYTES: "16" });
  await assertRefused(app, { command: "echo 0123456789abcdef", frequency: "* * * * *" }, {
    status: 422,
    field: "command",
    error: /longer than 16 bytes/,
  });
  const ok = await app.request("POST", CREATE, { command: "echo ok", frequency: "* * * * *" });
  assert.equal(ok.status, 201);
});
