/**
 * A bounded property-style run: seeded random JSON shapes and byte strings thrown at every
 * endpoint. Properties: never a 5xx, every invalid input refused with a 4xx and a JSON
 * error, and nothing stored. A failure names the seed and the case, so it replays.
 */
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectWs } from "./helpers/ws_client.ts";

const SEED = 0x5eed_2026;
const CASES = 300;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Rand = ReturnType<typeof prng>;

const SPECIAL_STRINGS = [
  "",
  " ",
  "\u0000",
  "null",
  "* * * * *",
  "🙂".repeat(40),
  "x".repeat(5000),
  "'; drop table tasks; --",
  "__proto__",
  "\ud800",
  "../../etc/passwd",
];

function randomString(rand: Rand): string {
  if (rand.next() < 0.3) return rand.pick(SPECIAL_STRINGS);
  const length = rand.int(24);
  let s = "";
  for (let i = 0; i < length; i++) {
    s += String.fromCodePoint(rand.pick([rand.int(128), rand.int(0x2000), rand.int(0x10ffff)]));
  }
  return s;
}

function randomJson(rand: Rand, depth = 0): Json {
  const kinds = depth > 3 ? 4 : 6;
  switch (rand.int(kinds)) {
    case 0:
      return null;
    case 1:
      return rand.next() < 0.5;
    case 2:
      return rand.pick([0, -1, 1.5, 1e308, -2147483649, Number.MAX_SAFE_INTEGER, rand.int(1e6)]);
    case 3:
      return randomString(rand);
    case 4:
      return Array.from({ length: rand.int(5) }, () => randomJson(rand, depth + 1));
    default:
      return Object.fromEntries(
        Array.from(
          { length: rand.int(5) },
          () => [randomString(rand), randomJson(rand, depth + 1)],
        ),
      );
  }
}

/** Random bytes that never open a JSON object. */
function randomBytes(rand: Rand): Uint8Array<ArrayBuffer> {
  const bytes = Uint8Array.from({ length: rand.int(512) }, () => rand.int(256));
  if (bytes[0] === 0x7b) bytes[0] = 0xff;
  return bytes;
}

/** What a request body endpoint accepts, so invalid variants can be derived from it. */
interface BodyShape {
  valid: Record<string, Json>;
  /** Fields that must be strings; required unless `optional`. */
  strings: string[];
  /** Whether every field may be left out (a partial update). @default false */
  optional?: boolean;
}

/** A body guaranteed invalid: not an object, not JSON, or a valid one broken at least once. */
function invalidBody(rand: Rand, shape: BodyShape): string | Uint8Array<ArrayBuffer> {
  switch (rand.int(4)) {
    case 0: {
      let value = randomJson(rand);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) value = [value];
      return JSON.stringify(value);
    }
    case 1:
      return randomBytes(rand);
    default: {
      const body: Record<string, Json> = { ...shape.valid };
      const breaks = 1 + rand.int(3);
      for (let i = 0; i < breaks; i++) {
        const field = rand.pick(shape.strings);
        switch (rand.int(3)) {
          case 0:
            body[`x_${randomString(rand)}`] = randomJson(rand);
            break;
          case 1:
            if (shape.optional) body[field] = rand.pick([null, 0, true, [], {}]);
            else delete body[field];
            break;
          default: {
            let value = randomJson(rand);
            if (typeof value === "string") value = [value];
            body[field] = value;
          }
        }
      }
      return JSON.stringify(body);
    }
  }
}

/** Row counts of everything a request could store. */
async function counts(app: TestApp) {
  const [row] = await app.sql`
    select (select count(*)::int from tasks) as tasks,
           (select count(*)::int from executions) as executions,
           (select count(*)::int from servers) as servers,
           (select count(*)::int from api_tokens) as tokens,
           (select count(*)::int from api_tokens where revoked_at is not null) as revoked,
           (select count(*)::int from audit_log) as audit`;
  return { ...row };
}

Deno.test("random input at every endpoint: never a 5xx, nothing stored", async (t) => {
  await using app = await startTestApp({ TASKSCHEDULER_AUTH_FAILURE_LIMIT: "100000" });
  const created = await app.request("POST", "/api/v1/tasks/create", {
    command: "true",
    frequency: "@daily",
  });
  const taskId: string = created.body.command_id;
  const before = await counts(app);

  const send = async (
    method: string,
    path: string,
    options: { body?: string | Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {},
  ) => {
    const headers = new Headers({ authorization: `Bearer ${app.adminToken}`, ...options.headers });
    if (options.body !== undefined && !headers.has("content-type")) {
      headers.set("content-type", "application/json");
    }
    const res = await app.app.request(path, { method, headers, body: options.body });
    const text = await res.text();
    return { status: res.status, text };
  };

  const expectRefused = (reply: { status: number; text: string }, what: string) => {
    assert.ok(reply.status >= 400 && reply.status < 500, `${what}: ${reply.status} ${reply.text}`);
    assert.equal(typeof JSON.parse(reply.text).error, "string", what);
  };

  const bodyEndpoints: [string, string, BodyShape][] = [
    ["POST", "/api/v1/tasks/create", {
      valid: { command: "true", frequency: "@daily" },
      strings: ["command", "frequency"],
    }],
    ["PUT", `/api/v1/tasks/${taskId}/status`, {
      valid: { server_id: "fuzz-host", stdout: "", stderr: "" },
      strings: ["server_id", "stdout", "stderr"],
    }],
    ["POST", "/api/v1/tokens", {
      valid: { name: "fuzz", role: "read" },
      strings: ["name", "role"],
    }],
    ["PATCH", `/api/v1/tasks/${taskId}`, {
      valid: { command: "true", frequency: "@daily" },
      strings: ["command", "frequency"],
      optional: true,
    }],
  ];
  for (const [method, path, shape] of bodyEndpoints) {
    const route = path.replace(taskId, "{task_id}");
    await t.step(`${method} ${route} refuses ${CASES} invalid bodies`, async () => {
      const rand = prng(SEED);
      for (let i = 0; i < CASES; i++) {
        const body = invalidBody(rand, shape);
        const headers = rand.next() < 0.05 ? { "content-type": "text/plain" } : undefined;
        expectRefused(await send(method, path, { body, headers }), `seed ${SEED} case ${i}`);
      }
    });
  }

  const segmentEndpoints: [string, (segment: string) => string][] = [
    ["GET", (s) => `/api/v1/tasks/${s}/status`],
    ["PUT", (s) => `/api/v1/tasks/${s}/status`],
    ["DELETE", (s) => `/api/v1/tokens/${s}`],
    ["GET", (s) => `/api/v1/tasks/${s}`],
    ["PATCH", (s) => `/api/v1/tasks/${s}`],
    ["DELETE", (s) => `/api/v1/tasks/${s}`],
    ["POST", (s) => `/api/v1/tasks/${s}/pause`],
    ["POST", (s) => `/api/v1/tasks/${s}/resume`],
    ["POST", (s) => `/api/v1/tasks/${s}/run`],
    ["GET", (s) => `/api/v1/tasks/${s}/executions`],
    ["GET", (s) => `/api/v1/executions/${s}`],
    ["POST", (s) => `/api/v1/executions/${s}/kill`],
    ["GET", (s) => `/api/v1/executions/${s}/stream`],
    ["GET", (s) => `/api/v1/servers/${s}`],
  ];
  for (const [method, path] of segmentEndpoints) {
    await t.step(`${method} ${path("{id}")} refuses ${CASES} random ids`, async () => {
      const rand = prng(SEED + 1);
      for (let i = 0; i < CASES; i++) {
        const segment = rand.next() < 0.2
          ? rand.pick(["%", "%zz", "%00", "%2e%2e", "..", ".", "%252F", "a/b", "%F0%9F"])
          : encodeURIComponent(randomString(rand).toWellFormed());
        const body = method === "PUT"
          ? JSON.stringify({ server_id: "fuzz-host", stdout: "", stderr: "" })
          : method === "PATCH"
          ? JSON.stringify({ command: "true" })
          : undefined;
        expectRefused(await send(method, path(segment), { body }), `seed ${SEED + 1} case ${i}`);
      }
    });
  }

  const listEndpoints: [string, string[]][] = [
    ["/api/v1/audit", ["limit", "before"]],
    ["/api/v1/tasks", ["limit", "cursor", "status", "state", "q"]],
    [`/api/v1/tasks/${taskId}/executions`, ["limit", "cursor", "server_id", "status", "since"]],
    ["/api/v1/servers", ["limit", "cursor", "connected"]],
  ];
  for (const [path, names] of listEndpoints) {
    const route = path.replace(taskId, "{task_id}");
    await t.step(`GET ${route} answers ${CASES} random queries without a 5xx`, async () => {
      const rand = prng(SEED + 2);
      for (let i = 0; i < CASES; i++) {
        const query = new URLSearchParams();
        for (let k = rand.int(3); k >= 0; k--) {
          query.append(rand.pick([...names, randomString(rand)]), randomString(rand));
        }
        const reply = await send("GET", `${path}?${query}`);
        assert.ok(reply.status < 500, `seed ${SEED + 2} case ${i}: ${reply.status} ${reply.text}`);
      }
    });
  }

  await t.step(`every route refuses ${CASES} random credentials with 401`, async () => {
    const rand = prng(SEED + 3);
    const printable = (n: number) =>
      Array.from({ length: n }, () => String.fromCharCode(0x21 + rand.int(94))).join("");
    for (let i = 0; i < CASES; i++) {
      const authorization = rand.pick([
        `Bearer ${printable(1 + rand.int(80))}`,
        `bearer tsk_${printable(43)}`,
        printable(1 + rand.int(40)),
        `Bearer ${app.adminToken.slice(0, -1)}${printable(1)}`,
      ]);
      if (authorization === `Bearer ${app.adminToken}`) continue;
      const [method, path] = rand.pick([
        ["GET", `/api/v1/tasks/${taskId}/status`],
        ["POST", "/api/v1/tasks/create"],
        ["GET", "/api/v1/tokens"],
        ["GET", "/api/v1/agents/connect"],
      ]);
      const reply = await send(method, path, { headers: { authorization } });
      assert.equal(reply.status, 401, `seed ${SEED + 3} case ${i}: ${reply.text}`);
    }
  });

  await t.step(`the hub answers ${CASES} random frames with errors`, async () => {
    const rand = prng(SEED + 4);
    await using ws = await connectWs(app.url, { token: app.adminToken });
    for (let i = 0; i < CASES; i++) {
      switch (rand.int(3)) {
        case 0:
          ws.sendRaw(JSON.stringify(randomJson(rand)));
          break;
        case 1:
          ws.sendRaw(randomBytes(rand));
          break;
        default:
          ws.sendRaw(randomString(rand).toWellFormed());
      }
    }
    await waitFor(() => ws.received.length >= CASES, { what: `${CASES} answers` });
    assert.ok(ws.received.every((m) => m.type === "error"));
    assert.equal(ws.closed, undefined, "bad frames do not cost the connection");
  });

  await t.step("should have stored nothing", async () => {
    assert.deepEqual(await counts(app), before);
  });
});
