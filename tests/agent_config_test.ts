import assert from "node:assert/strict";
import { ConfigError, parseAgentConfig } from "../agent/config.ts";

const BASE_ENV = { TASKSCHEDULER_SERVER_URL: "http://127.0.0.1:8080", HOME: "/home/ops" };

Deno.test("parseAgentConfig() resolves defaults from the environment", async (t) => {
  await t.step("uses defaults for every optional setting", () => {
    const config = parseAgentConfig({ env: BASE_ENV, hostname: "db-1" });
    assert.deepEqual(config, {
      serverUrl: "ws://127.0.0.1:8080/api/v1/agents/connect",
      serverId: "db-1",
      hostname: "db-1",
      labels: {},
      stateDir: "/home/ops/.local/state/taskscheduler-agent",
      maxOutputBytes: 1_048_576,
      killGraceSeconds: 5,
      shutdownGraceSeconds: 30,
      logLevel: "info",
      agentToken: null,
    });
  });

  await t.step("prefers XDG_STATE_HOME for the state directory", () => {
    const env = { ...BASE_ENV, XDG_STATE_HOME: "/var/state" };
    const config = parseAgentConfig({ env, hostname: "db-1" });
    assert.equal(config.stateDir, "/var/state/taskscheduler-agent");
  });

  await t.step("maps https to wss and keeps a path prefix", () => {
    const env = { ...BASE_ENV, TASKSCHEDULER_SERVER_URL: "https://sched.example.com/base/" };
    const config = parseAgentConfig({ env, hostname: "db-1" });
    assert.equal(config.serverUrl, "wss://sched.example.com/base/api/v1/agents/connect");
  });

  await t.step("accepts a ws:// URL without a path", () => {
    const env = { ...BASE_ENV, TASKSCHEDULER_SERVER_URL: "ws://10.0.0.5:9000" };
    const config = parseAgentConfig({ env, hostname: "db-1" });
    assert.equal(config.serverUrl, "ws://10.0.0.5:9000/api/v1/agents/connect");
  });

  await t.step("reads every setting from its variable", () => {
    const env = {
      ...BASE_ENV,
      TASKSCHEDULER_SERVER_ID: "web-7",
      TASKSCHEDULER_LABELS: "zone=eu-west, role=db",
      TASKSCHEDULER_STATE_DIR: "/srv/agent",
      TASKSCHEDULER_MAX_OUTPUT_BYTES: "2048",
      TASKSCHEDULER_KILL_GRACE_SECONDS: "0.5",
      TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "0",
      TASKSCHEDULER_LOG_LEVEL: "debug",
      TASKSCHEDULER_AGENT_TOKEN: "s3cret",
    };
    const config = parseAgentConfig({ env, hostname: "db-1" });
    assert.equal(config.serverId, "web-7");
    assert.deepEqual(config.labels, { zone: "eu-west", role: "db" });
    assert.equal(config.stateDir, "/srv/agent");
    assert.equal(config.maxOutputBytes, 2048);
    assert.equal(config.killGraceSeconds, 0.5);
    assert.equal(config.shutdownGraceSeconds, 0);
    assert.equal(config.logLevel, "debug");
    assert.equal(config.agentToken, "s3cret");
  });
});

Deno.test("parseAgentConfig() lets flags override the environment", () => {
  const env = {
    ...BASE_ENV,
    TASKSCHEDULER_SERVER_ID: "from-env",
    TASKSCHEDULER_LABELS: "a=1",
    TASKSCHEDULER_STATE_DIR: "/env/dir",
    TASKSCHEDULER_LOG_LEVEL: "warn",
  };
  const args = [
    "--server-url=https://flag.example:8443",
    "--server-id",
    "from-flag",
    "--labels",
    "b=2",
    "--state-dir",
    "/flag/dir",
    "--max-output-bytes",
    "100",
    "--log-level",
    "error",
  ];
  const config = parseAgentConfig({ env, args, hostname: "db-1" });
  assert.equal(config.serverUrl, "wss://flag.example:8443/api/v1/agents/connect");
  assert.equal(config.serverId, "from-flag");
  assert.deepEqual(config.labels, { b: "2" });
  assert.equal(config.stateDir, "/flag/dir");
  assert.equal(config.maxOutputBytes, 100);
  assert.equal(config.logLevel, "error");
});

Deno.test("parseAgentConfig() fails naming the variable and its bad value", async (t) => {
  const cases: [string, Record<string, string>, string][] = [
    [
      "TASKSCHEDULER_SERVER_URL",
      { TASKSCHEDULER_SERVER_URL: "ftp://x" },
      "Invalid TASKSCHEDULER_SERVER_URL: must be an http(s):// or ws(s):// URL, " +
      "e.g. http://127.0.0.1:8080: current value is 'ftp://x'",
    ],
    [
      "TASKSCHEDULER_SERVER_ID",
      { TASKSCHEDULER_SERVER_ID: "bad id!" },
      "Invalid TASKSCHEDULER_SERVER_ID: must be 1 to 128 letters, digits, '.', '_' or '-', " +
      "starting with a letter or digit: current value is 'bad id!'",
    ],
    [
      "TASKSCHEDULER_LABELS",
      { TASKSCHEDULER_LABELS: "zone=eu,broken" },
      "Invalid TASKSCHEDULER_LABELS: must be comma-separated key=value pairs (key: up to 63 " +
      "letters, digits, '.', '_', '/', '-'; value: up to 255 characters), not 'broken': " +
      "current value is 'zone=eu,broken'",
    ],
    [
      "TASKSCHEDULER_STATE_DIR",
      { TASKSCHEDULER_STATE_DIR: " " },
      "Invalid TASKSCHEDULER_STATE_DIR: must not be empty: current value is ' '",
    ],
    [
      "TASKSCHEDULER_MAX_OUTPUT_BYTES",
      { TASKSCHEDULER_MAX_OUTPUT_BYTES: "1MB" },
      "Invalid TASKSCHEDULER_MAX_OUTPUT_BYTES: must be a positive integer: current value is '1MB'",
    ],
    [
      "TASKSCHEDULER_MAX_OUTPUT_BYTES",
      { TASKSCHEDULER_MAX_OUTPUT_BYTES: "0" },
      "Invalid TASKSCHEDULER_MAX_OUTPUT_BYTES: must be a positive integer: current value is '0'",
    ],
    [
      "TASKSCHEDULER_KILL_GRACE_SECONDS",
      { TASKSCHEDULER_KILL_GRACE_SECONDS: "-1" },
      "Invalid TASKSCHEDULER_KILL_GRACE_SECONDS: must be a non-negative number of seconds: " +
      "current value is '-1'",
    ],
    [
      "TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS",
      { TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "soon" },
      "Invalid TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: must be a non-negative number of seconds: " +
      "current value is 'soon'",
    ],
    [
      "TASKSCHEDULER_LOG_LEVEL",
      { TASKSCHEDULER_LOG_LEVEL: "verbose" },
      "Invalid TASKSCHEDULER_LOG_LEVEL: must be one of debug, info, warn, error: " +
      "current value is 'verbose'",
    ],
  ];
  for (const [variable, overrides, message] of cases) {
    await t.step(`${variable}=${Object.values(overrides)[0]}`, () => {
      assert.throws(
        () => parseAgentConfig({ env: { ...BASE_ENV, ...overrides }, hostname: "db-1" }),
        (err) => err instanceof ConfigError && err.message === message,
      );
    });
  }
});

Deno.test("parseAgentConfig() fails on missing or malformed start-up input", async (t) => {
  await t.step("missing server URL", () => {
    assert.throws(
      () => parseAgentConfig({ env: { HOME: "/home/ops" }, hostname: "db-1" }),
      new ConfigError("Missing TASKSCHEDULER_SERVER_URL (or --server-url): it is required"),
    );
  });

  await t.step("no place for the state directory", () => {
    assert.throws(
      () => parseAgentConfig({ env: { TASKSCHEDULER_SERVER_URL: "http://h:1" }, hostname: "h" }),
      new ConfigError(
        "Missing TASKSCHEDULER_STATE_DIR (or --state-dir): neither XDG_STATE_HOME nor HOME is set",
      ),
    );
  });

  await t.step("a bad flag value names the flag", () => {
    assert.throws(
      () => parseAgentConfig({ env: BASE_ENV, args: ["--kill-grace-seconds", "x"], hostname: "h" }),
      new ConfigError(
        "Invalid --kill-grace-seconds: must be a non-negative number of seconds: " +
          "current value is 'x'",
      ),
    );
  });

  await t.step("a hostname that is no valid server_id is reported as the default", () => {
    assert.throws(
      () => parseAgentConfig({ env: BASE_ENV, hostname: "-weird host" }),
      (err) =>
        err instanceof ConfigError &&
        err.message.startsWith("Invalid TASKSCHEDULER_SERVER_ID (default): ") &&
        err.message.endsWith("current value is '-weird host'"),
    );
  });

  await t.step("an unknown flag", () => {
    assert.throws(
      () => parseAgentConfig({ env: BASE_ENV, args: ["--frobnicate"], hostname: "h" }),
      (err) =>
        err instanceof ConfigError && err.message.startsWith("Invalid command line: ") &&
        err.message.includes("--frobnicate"),
    );
  });
});
