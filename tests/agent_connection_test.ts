import assert from "node:assert/strict";
import { parseAgentConfig } from "../agent/config.ts";
import {
  backoffDelay,
  type Connection,
  type ConnectionOptions,
  createConnection,
} from "../agent/connection.ts";
import {
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_PROTOCOL_MISMATCH,
  type HelloMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../shared/protocol.ts";
import { type FakeHub, startFakeHub } from "./helpers/agent_fake_hub.ts";
import { createLogger, type Logger } from "../shared/logger.ts";

const HELLO: HelloMessage = {
  type: "hello",
  protocol: PROTOCOL_VERSION,
  server_id: "test-host",
  hostname: "test-host",
  labels: {},
  version: "0.0.0",
  running: [],
};

interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
}

function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  return {
    logger: createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) }),
    lines,
  };
}

function endpoint(hub: FakeHub): string {
  return parseAgentConfig({ env: { TASKSCHEDULER_SERVER_URL: hub.url, HOME: "/" }, hostname: "h" })
    .serverUrl;
}

/** What the connection passed on to its owner, with a way to await the next message. */
interface Inbox {
  messages: ServerMessage[];
  next(type: ServerMessage["type"]): Promise<ServerMessage>;
}

function createInbox(): Inbox & { push(message: ServerMessage): void } {
  const messages: ServerMessage[] = [];
  const waiting: [ServerMessage["type"], (message: ServerMessage) => void][] = [];
  return {
    messages,
    push(message) {
      messages.push(message);
      for (const [type, resolve] of waiting.splice(0)) {
        if (type === message.type) resolve(message);
        else waiting.push([type, resolve]);
      }
    },
    next(type) {
      const found = messages.find((message) => message.type === type);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No '${type}' message came`)), 15_000);
        waiting.push([type, (message) => {
          clearTimeout(timer);
          resolve(message);
        }]);
      });
    },
  };
}

/** Runs `fn` with a connection to `hub` that is stopped afterwards. */
async function withConnection(
  hub: FakeHub,
  fn: (connection: Connection, log: CapturedLog, inbox: Inbox) => Promise<void>,
  overrides: Partial<ConnectionOptions> = {},
): Promise<void> {
  const log = captureLog();
  const inbox = createInbox();
  const connection = createConnection({
    url: endpoint(hub),
    hello: () => HELLO,
    onMessage: (message) => inbox.push(message),
    logger: log.logger,
    backoffBaseMs: 20,
    backoffCapMs: 100,
    ...overrides,
  });
  try {
    connection.start();
    await fn(connection, log, inbox);
  } finally {
    await connection.stop();
  }
}

Deno.test("backoffDelay() grows exponentially with full jitter up to the cap", async (t) => {
  const options = { baseMs: 500, capMs: 30_000 };

  await t.step("the ceiling doubles with each attempt", () => {
    const ceilings = [0, 1, 2, 3, 4].map((attempt) =>
      backoffDelay(attempt, { ...options, random: () => 0.999999 })
    );
    assert.deepEqual(ceilings, [499, 999, 1999, 3999, 7999]);
  });

  await t.step("the delay never exceeds the cap", () => {
    assert.equal(backoffDelay(60, { ...options, random: () => 0.999999 }), 29_999);
  });

  await t.step("full jitter spreads delays from zero to the ceiling", () => {
    assert.equal(backoffDelay(3, { ...options, random: () => 0 }), 0);
    assert.equal(backoffDelay(3, { ...options, random: () => 0.5 }), 2000);
  });
});

Deno.test("createConnection() opens with hello and answers the server", async (t) => {
  const hub = await startFakeHub();
  try {
    await withConnection(hub, async (_connection, log, inbox) => {
      await t.step("sends hello first and passes on the sync", async () => {
        assert.deepEqual(await hub.waitFor("hello"), HELLO);
        assert.equal(hub.messages[0].type, "hello");
        assert.deepEqual(await inbox.next("sync"), { type: "sync", tasks: [] });
      });

      await t.step("answers ping with pong carrying the same nonce", async () => {
        hub.send({ type: "ping", nonce: "n-42" });
        const pong = await hub.waitFor("pong", { where: (m) => m.nonce === "n-42" });
        assert.deepEqual(pong, { type: "pong", nonce: "n-42" });
      });

      await t.step("logs invalid frames and keeps going", async () => {
        hub.sendRaw("not json");
        hub.sendRaw(JSON.stringify({ type: "task.explode" }));
        hub.send({ type: "ping", nonce: "after-garbage" });
        await hub.waitFor("pong", { where: (m) => m.nonce === "after-garbage" });
        const warnings = log.lines.filter((line) =>
          line.msg === "Ignored an invalid message from the server"
        );
        assert.deepEqual(warnings.map((line) => line.error), [
          "Message is not valid JSON",
          warnings[1]?.error,
        ]);
        assert.match(String(warnings[1]?.error), /^Invalid message: /);
        assert.equal(hub.closes.length, 0);
      });
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createConnection() sends the agent token on the upgrade", async (t) => {
  const hub = await startFakeHub();
  try {
    await t.step("as a bearer token when one is set", async () => {
      await withConnection(hub, () => hub.waitFor("hello").then(() => {}), { token: "s3cret" });
      assert.equal(hub.authorizations.at(-1), "Bearer s3cret");
    });

    await t.step("not at all when none is set", async () => {
      const since = hub.mark();
      await withConnection(hub, () => hub.waitFor("hello", { since }).then(() => {}));
      assert.equal(hub.authorizations.at(-1), null);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createConnection() reconnects when the hub comes back on the same port", async () => {
  let hub = await startFakeHub();
  const port = hub.port;
  try {
    await withConnection(hub, async (connection, log) => {
      await hub.waitFor("hello");
      await hub.close();
      hub = await startFakeHub({ port });
      const hello = await hub.waitFor("hello");
      assert.equal(hello.server_id, "test-host");
      assert.equal(connection.isOpen, true);
      assert.equal(log.lines.some((line) => line.msg === "Disconnected"), true);
      assert.equal(log.lines.some((line) => line.msg === "Reconnecting"), true);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("createConnection() drops a connection that stays silent", async () => {
  const hub = await startFakeHub();
  try {
    await withConnection(hub, async (_connection, log) => {
      await hub.waitFor("hello");
      const [close] = await hub.waitForCloses(1);
      assert.equal(close.code, CLOSE_HEARTBEAT_TIMEOUT);
      assert.equal(close.reason, "No message from the server for 0.3 s");
      await hub.waitFor("hello", { since: 1 });
      assert.equal(log.lines.some((line) => line.msg === "Dropping a silent connection"), true);
    }, { silenceTimeoutMs: 300 });
  } finally {
    await hub.close();
  }
});

Deno.test("createConnection() logs a protocol refusal and keeps retrying", async () => {
  const reason = "Protocol 1 is not supported; this server speaks 2";
  const hub = await startFakeHub({ refuseHello: { code: CLOSE_PROTOCOL_MISMATCH, reason } });
  try {
    await withConnection(hub, async (_connection, log) => {
      await hub.waitForCloses(3);
      const refusals = log.lines.filter((line) =>
        line.msg === "The server refused this agent's protocol version"
      );
      assert.ok(refusals.length >= 2);
      assert.deepEqual(
        { level: refusals[0].level, code: refusals[0].code, reason: refusals[0].reason },
        { level: "error", code: CLOSE_PROTOCOL_MISMATCH, reason },
      );
      const attempts = log.lines.filter((line) => line.msg === "Reconnecting")
        .map((line) => line.attempt);
      assert.deepEqual(attempts.slice(0, 3), [1, 2, 3]);
    });
  } finally {
    await hub.close();
  }
});
