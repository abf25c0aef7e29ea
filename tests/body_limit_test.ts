import assert from "node:assert/strict";
import postgres from "postgres";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";

const LIMIT = 2048;
const encoder = new TextEncoder();

/** A create body of about `bytes` bytes, valid but for its size. */
function bigBody(bytes: number): string {
  return JSON.stringify({ command: "x".repeat(bytes), frequency: "@daily" });
}

/**
 * Sends one raw HTTP/1.1 request and returns the status code of the answer, or 0 when the
 * server dropped the connection without one.
 */
async function rawRequest(url: string, head: string[], body: Uint8Array): Promise<number> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(encoder.encode([...head, "Connection: close", "", ""].join("\r\n")));
    // The server may answer and close before the whole body is sent.
    await conn.write(body).catch(() => {});
    let reply = "";
    const buffer = new Uint8Array(4096);
    const decoder = new TextDecoder();
    while (!/^HTTP\/1\.1 \d{3}/.test(reply)) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      reply += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

/** `data` in HTTP chunked encoding, in chunks of `size` bytes. */
function chunked(data: string, size = 500): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < data.length; i += size) {
    const chunk = data.slice(i, i + size);
    parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  }
  return encoder.encode(parts.join("") + "0\r\n\r\n");
}

Deno.test("the real server refuses bodies over the limit, with or without a length", async (t) => {
  await using database = await startTestDatabase();
  await using server = await startServer({
    env: { DATABASE_URL: database.url, TASKSCHEDULER_MAX_BODY_BYTES: String(LIMIT) },
  });
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const url = `${server.url}/api/v1/tasks/create`;
  const headers = { ...server.auth, "content-type": "application/json" };
  const taskCount = async () => (await sql`select count(*)::int as n from tasks`)[0].n;
  const head = [
    "POST /api/v1/tasks/create HTTP/1.1",
    `Host: ${new URL(server.url).host}`,
    `Authorization: ${server.auth.authorization}`,
    "Content-Type: application/json",
  ];
  try {
    await t.step("should answer 413 to a Content-Length over the limit", async () => {
      const res = await fetch(url, { method: "POST", headers, body: bigBody(4096) });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /larger than 2048 bytes/);
    });

    await t.step("should answer 413 to a streamed (chunked) body over the limit", async () => {
      const body = encoder.encode(bigBody(64 * 1024));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < body.length; i += 1000) controller.enqueue(body.slice(i, i + 1000));
          controller.close();
        },
      });
      const res = await fetch(url, { method: "POST", headers, body: stream });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /larger than 2048 bytes/);
    });

    await t.step("should answer 413 to raw chunked encoding over the limit", async () => {
      const status = await rawRequest(
        server.url,
        [...head, "Transfer-Encoding: chunked"],
        chunked(bigBody(8192)),
      );
      assert.equal(status, 413);
    });

    await t.step(
      "should not be fooled by a small Content-Length beside chunked encoding",
      async () => {
        const status = await rawRequest(
          server.url,
          [...head, "Content-Length: 40", "Transfer-Encoding: chunked"],
          chunked(bigBody(8192)),
        );
        assert.ok([0, 400, 413].includes(status), `got ${status}`);
      },
    );

    await t.step("should accept a chunked body within the limit", async () => {
      const small = JSON.stringify({ command: "echo small", frequency: "@daily" });
      const status = await rawRequest(
        server.url,
        [...head, "Transfer-Encoding: chunked"],
        chunked(small, 7),
      );
      assert.equal(status, 201);
    });

    await t.step("should have stored only the body within the limit", async () => {
      assert.equal(await taskCount(), 1);
    });
  } finally {
    await sql.end();
  }
});
