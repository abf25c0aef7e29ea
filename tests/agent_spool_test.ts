import assert from "node:assert/strict";
import { join } from "node:path";
import { CORRUPT_DIR, createSpool } from "../agent/spool.ts";
import { createLogger, type LogFields } from "../shared/logger.ts";
import type { ExecutionResult } from "../shared/protocol.ts";

function makeResult(finishedAt: string, overrides: Partial<ExecutionResult> = {}): ExecutionResult {
  return {
    execution_id: crypto.randomUUID(),
    task_id: crypto.randomUUID(),
    scheduled_for: "2030-01-01T00:00:00.000Z",
    started_at: "2030-01-01T00:00:00.010Z",
    finished_at: finishedAt,
    exit_code: 0,
    error: null,
    stdout: "out\n",
    stderr: "",
    stdout_dropped_bytes: 0,
    stderr_dropped_bytes: 0,
    schedule_lag_ms: 10,
    ...overrides,
  };
}

async function fileNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  return names.sort();
}

Deno.test("createSpool() keeps results on disk until they are deleted", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = createSpool({ dir: join(dir, "spool") });
    const late = makeResult("2030-01-01T00:00:03.000Z", { stdout: "héllo\uFFFD" });
    const early = makeResult("2030-01-01T00:00:01.000Z", { exit_code: 3, error: null });

    await t.step("writes one file per execution id", async () => {
      await spool.write(late);
      await spool.write(early);
      assert.deepEqual(
        await fileNames(spool.dir),
        [`${early.execution_id}.json`, `${late.execution_id}.json`].sort(),
      );
    });

    await t.step("lists the results oldest first", async () => {
      assert.deepEqual(await spool.list(), [early, late]);
    });

    await t.step("is seen by a new spool on the same directory", async () => {
      const reopened = createSpool({ dir: join(dir, "spool") });
      assert.deepEqual(await reopened.list(), [early, late]);
    });

    await t.step("deletes a result and tells whether it was there", async () => {
      assert.equal(await spool.delete(early.execution_id), true);
      assert.equal(await spool.delete(early.execution_id), false);
      assert.deepEqual(await spool.list(), [late]);
    });

    await t.step("overwrites a result written twice", async () => {
      await spool.write({ ...late, stdout: "again" });
      assert.deepEqual(await spool.list(), [{ ...late, stdout: "again" }]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSpool() moves corrupt files aside and carries on", async (t) => {
  const dir = await Deno.makeTempDir();
  const logged: LogFields[] = [];
  const logger = createLogger({ write: (line) => logged.push(JSON.parse(line)) });
  try {
    const spool = createSpool({ dir, logger });
    const good = makeResult("2030-01-01T00:00:01.000Z");
    await spool.write(good);
    const truncated = `${crypto.randomUUID()}.json`;
    const invalid = `${crypto.randomUUID()}.json`;
    const misnamed = `${crypto.randomUUID()}.json`;
    await Deno.writeTextFile(join(dir, truncated), '{"execution_id":');
    await Deno.writeTextFile(join(dir, invalid), JSON.stringify({ ...good, exit_code: "zero" }));
    await Deno.writeTextFile(join(dir, misnamed), JSON.stringify(good));

    await t.step("lists only the good result", async () => {
      assert.deepEqual(await spool.list(), [good]);
    });

    await t.step("keeps the corrupt files in corrupt/", async () => {
      assert.deepEqual(
        await fileNames(join(dir, CORRUPT_DIR)),
        [truncated, invalid, misnamed].sort(),
      );
      assert.deepEqual(await fileNames(dir), [`${good.execution_id}.json`]);
    });

    await t.step("logs each file with its problem", () => {
      const errors = logged.filter((line) => line.msg === "Moved a corrupt spool file aside");
      assert.deepEqual(
        errors.map((line) => line.file).sort(),
        [truncated, invalid, misnamed].sort(),
      );
      const problemOf = (name: string) => errors.find((line) => line.file === name)?.problem;
      assert.match(String(problemOf(invalid)), /^exit_code: /);
      assert.equal(problemOf(misnamed), "Execution id does not match the file name");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSpool() sweeps temporary files a crash left behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = createSpool({ dir });
    const good = makeResult("2030-01-01T00:00:01.000Z");
    await spool.write(good);
    await Deno.writeTextFile(join(dir, `.${good.execution_id}.json.1a2b3c4d.tmp`), "{");
    assert.deepEqual(await spool.list(), [good]);
    await spool.sweep();
    assert.deepEqual(await fileNames(dir), [`${good.execution_id}.json`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
