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
});
