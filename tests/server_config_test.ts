import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../server/config.ts";

Deno.test("parseConfig()", async (t) => {
  await t.step("should fill in the documented defaults", () => {
    const config = parseConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, "./data");
    assert.equal(config.maxBodyBytes, 4 * 1024 * 1024);
    assert.equal(config.maxCommandBytes, 64 * 1024);
    assert.equal(config.maxOutputBytes, 1024 * 1024);
  });

  await t.step("should read the variables", () => {
    const config = parseConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://u:p@db:5432/ts",
      TASKSCHEDULER_DATA_DIR: "/var/lib/ts",
    });
    assert.equal(config.port, 9000);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.databaseUrl, "postgres://u:p@db:5432/ts");
    assert.equal(config.dataDir, "/var/lib/ts");
  });

  await t.step("should keep all history unless a retention limit is set", () => {
    const config = parseConfig({});
    assert.equal(config.retentionDays, undefined);
    assert.equal(config.retentionPerTaskHost, undefined);
    assert.equal(config.retentionIntervalSeconds, 60);
    const limited = parseConfig({
      TASKSCHEDULER_RETENTION_DAYS: "30",
      TASKSCHEDULER_RETENTION_PER_TASK_HOST: "100",
    });
    assert.equal(limited.retentionDays, 30);
    assert.equal(limited.retentionPerTaskHost, 100);
  });

  await t.step("should treat an empty variable as unset", () => {
    assert.equal(parseConfig({ PORT: "" }).port, 8080);
  });

  await t.step("should throw ConfigError naming the variable and its value", () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: "eighty" }, 'Invalid value for PORT: "eighty"'],
      [{ PORT: "70000" }, 'Invalid value for PORT: "70000"'],
      [{ DATABASE_URL: "mysql://x/y" }, 'Invalid value for DATABASE_URL: "mysql://x/y"'],
      [{ TASKSCHEDULER_MAX_BODY_BYTES: "-1" }, "Invalid value for TASKSCHEDULER_MAX_BODY_BYTES"],
      [{ TASKSCHEDULER_LOG_LEVEL: "loud" }, 'Invalid value for TASKSCHEDULER_LOG_LEVEL: "loud"'],
      [
        { TASKSCHEDULER_AUTH_FAILURE_LIMIT: "0" },
        "Invalid value for TASKSCHEDULER_AUTH_FAILURE_LIMIT",
      ],
      [{ TLS_CERT_FILE: "cert.pem" }, "Invalid value for TLS_KEY_FILE: unset (required when"],
      [{ TLS_KEY_FILE: "key.pem" }, "Invalid value for TLS_CERT_FILE: unset (required when"],
      [
        { TASKSCHEDULER_RETENTION_DAYS: "0" },
        'Invalid value for TASKSCHEDULER_RETENTION_DAYS: "0"',
      ],
      [
        { TASKSCHEDULER_RETENTION_PER_TASK_HOST: "1.5" },
        'Invalid value for TASKSCHEDULER_RETENTION_PER_TASK_HOST: "1.5"',
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => parseConfig(env), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.startsWith(message), err.message);
        return true;
      });
    }
  });

  await t.step("should read the security settings", () => {
    const token = "tsk_" + "a".repeat(43);
    const config = parseConfig({
      TASKSCHEDULER_API_TOKEN: token,
      TASKSCHEDULER_AUTH_FAILURE_LIMIT: "25",
      TLS_CERT_FILE: "/etc/ts/cert.pem",
      TLS_KEY_FILE: "/etc/ts/key.pem",
    });
    assert.equal(config.apiToken, token);
    assert.equal(config.authFailureLimit, 25);
    assert.equal(config.tlsCertFile, "/etc/ts/cert.pem");
    assert.equal(config.tlsKeyFile, "/etc/ts/key.pem");
    assert.equal(parseConfig({}).authFailureLimit, 10);
    assert.equal(parseConfig({}).apiToken, undefined);
  });

  await t.step("should refuse a weak API token without repeating it", () => {
    for (const value of ["short-secret", "a".repeat(40) + " with spaces"]) {
      assert.throws(() => parseConfig({ TASKSCHEDULER_API_TOKEN: value }), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^Invalid value for TASKSCHEDULER_API_TOKEN: \(hidden\) \(/);
        assert.ok(!err.message.includes(value));
        return true;
      });
    }
  });
});
