import assert from "node:assert/strict";
import { isLoopback } from "../server/tls.ts";
import { startAgent } from "./helpers/agent_process.ts";
import { createTestCertificates } from "./helpers/certificates.ts";
import { startTestDatabase } from "./helpers/postgres.ts";
import { startServer } from "./helpers/server_process.ts";
import { waitFor } from "./helpers/wait.ts";

const ROOT = new URL("../", import.meta.url);
const WARNING = "Serving beyond loopback without TLS: tokens travel in clear";

Deno.test("the server serves HTTPS and WSS given TLS_CERT_FILE and TLS_KEY_FILE", async (t) => {
  await using certs = await createTestCertificates();
  await using database = await startTestDatabase();
  await using server = await startServer({
    env: { DATABASE_URL: database.url, TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: certs.keyFile },
  });
  const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
  const stateDir = await Deno.makeTempDir({ prefix: "taskscheduler-tls-agent-" });
  try {
    await t.step("should listen on https", () => {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(!server.logs.some((l) => l.msg === WARNING));
    });

    await t.step("should answer a client that trusts the CA, with HSTS", async () => {
      const res = await fetch(`${server.url}/api/v1/tasks/create`, {
        client,
        method: "POST",
        headers: { ...server.auth, "content-type": "application/json" },
        body: JSON.stringify({ command: "true", frequency: "@daily" }),
      });
      assert.equal(res.status, 201);
      await res.body?.cancel();
      assert.match(res.headers.get("strict-transport-security") ?? "", /^max-age=\d+/);
    });

    await t.step("should not be trusted by a client without the CA", async () => {
      await assert.rejects(() => fetch(`${server.url}/healthz`), (err: Error) => {
        assert.match(String(err.cause ?? err), /certificate|UnknownIssuer/i);
        return true;
      });
    });

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        client,
        method,
        headers: { ...server.auth, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const created = await api("POST", "/api/v1/tokens", {
      name: "tls-host",
      role: "agent",
      server_id: "tls-host",
    });
    assert.equal(created.status, 201);
    const agentOptions = {
      serverUrl: server.url,
      serverId: "tls-host",
      stateDir,
      token: created.body.token,
    };

    await t.step(
      "should let an agent trusting the CA through DENO_CERT run a task over WSS",
      async () => {
        await using agent = startAgent({ ...agentOptions, env: { DENO_CERT: certs.caFile } });
        await agent.waitForLog("Connected");
        const task = await api("POST", "/api/v1/tasks/create", {
          command: "echo over tls",
          frequency: "* * * * * *",
        });
        await waitFor(async () => {
          const { body } = await api("GET", `/api/v1/tasks/${task.body.command_id}/status`);
          return body.status === "TASK_COMPLETED_SUCCESS" && body.stdout === "over tls\n";
        }, { what: "the task to run over WSS" });
      },
    );

    await t.step("should keep out an agent that does not trust the CA", async () => {
      await using agent = startAgent(agentOptions);
      const line = await agent.waitForLog("Cannot reach the server");
      assert.match(String((line as { error: unknown }).error), /certificate|UnknownIssuer/i);
    });

    await t.step("should let deno task token trust the CA through DENO_CERT", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", "--allow-env", "--allow-read", "server/token_cli.ts", "list"],
        cwd: ROOT,
        env: {
          DENO_CERT: certs.caFile,
          TASKSCHEDULER_URL: server.url,
          TASKSCHEDULER_API_TOKEN: server.token!,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(new TextDecoder().decode(out.stdout), /tls-host\s+agent\s+tls-host/);
    });
  } finally {
    client.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("the server warns when it serves beyond loopback without TLS", async () => {
  await using database = await startTestDatabase();
  await using server = await startServer({ env: { DATABASE_URL: database.url, HOST: "0.0.0.0" } });
  const warning = server.logs.find((l) => l.msg === WARNING);
  assert.equal(warning?.level, "warn");
  assert.equal(warning?.host, "0.0.0.0");
});

Deno.test("the server refuses to start with an unreadable certificate, naming it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "server/main.ts"],
    cwd: ROOT,
    env: { TLS_CERT_FILE: "/nonexistent/cert.pem", TLS_KEY_FILE: "/nonexistent/key.pem" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /Cannot read TLS_CERT_FILE: "\/nonexistent\/cert.pem"/,
  );
});

Deno.test("isLoopback() tells the addresses where plain HTTP stays on the machine", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]) {
    assert.equal(isLoopback(host), true, host);
  }
  for (
    const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.nip.io"]
  ) {
    assert.equal(isLoopback(host), false, host);
  }
});
