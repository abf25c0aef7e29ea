import assert from "node:assert/strict";
import { createRunner, type OutputStream } from "../agent/runner.ts";
import { ExecutionResult } from "../shared/protocol.ts";
import { makeTask, processEnds } from "./helpers/agent_tasks.ts";

const decoder = new TextDecoder();

Deno.test("createRunner() runs a task's command with /bin/sh", async (t) => {
  await t.step("passes the execution's identity in the environment and succeeds on 0", async () => {
    const task = makeTask({
      command: 'printf "%s|%s|%s|%s" "$TASKSCHEDULER_TASK_ID" "$TASKSCHEDULER_EXECUTION_ID" ' +
        '"$TASKSCHEDULER_SERVER_ID" "$TASKSCHEDULER_SCHEDULED_FOR"',
    });
    const scheduledFor = new Date(Date.now() - 1500);
    const started: string[] = [];
    const runner = createRunner({
      serverId: "db-1",
      onStarted: (start) => started.push(start.execution_id),
    });
    const execution = runner.run(task, scheduledFor);
    const result = await execution.result;
    assert.equal(ExecutionResult.safeParse(result).success, true);
    assert.equal(
      result.stdout,
      `${task.id}|${execution.executionId}|db-1|${scheduledFor.toISOString()}`,
    );
    assert.equal(result.execution_id, execution.executionId);
    assert.equal(result.task_id, task.id);
    assert.equal(result.scheduled_for, scheduledFor.toISOString());
    assert.equal(result.exit_code, 0);
    assert.equal(result.error, null);
    assert.equal(result.stderr, "");
    assert.ok(result.schedule_lag_ms >= 1500);
    assert.ok(Date.parse(result.finished_at) >= Date.parse(result.started_at));
    assert.deepEqual(started, [execution.executionId]);
  });

  await t.step("reports a non-zero exit as an error, stdout and stderr apart", async () => {
    const task = makeTask({ command: "echo out; echo err >&2; exit 3" });
    const result = await createRunner({ serverId: "db-1" }).run(task, new Date()).result;
    assert.equal(result.exit_code, 3);
    assert.equal(result.error, null);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
  });

  await t.step("gives the command an empty stdin", async () => {
    const task = makeTask({ command: "cat; echo done" });
    const result = await createRunner({ serverId: "db-1" }).run(task, new Date()).result;
    assert.equal(result.stdout, "done\n");
    assert.equal(result.exit_code, 0);
  });

  await t.step("streams every chunk to onOutput as it comes", async () => {
    const seen: Record<OutputStream, string> = { stdout: "", stderr: "" };
    const runner = createRunner({
      serverId: "db-1",
      onOutput: (_ref, stream, chunk) => seen[stream] += decoder.decode(chunk),
    });
    const task = makeTask({ command: "echo one; echo two >&2; echo three" });
    const result = await runner.run(task, new Date()).result;
    assert.deepEqual(seen, { stdout: "one\nthree\n", stderr: "two\n" });
    assert.equal(result.stdout, seen.stdout);
  });

  await t.step("caps each stream and counts the dropped bytes", async () => {
    const task = makeTask({ command: "head -c 5000 /dev/zero | tr '\\0' a; printf 'xy' >&2" });
    const result = await createRunner({ serverId: "db-1", maxOutputBytes: 1000 })
      .run(task, new Date()).result;
    assert.equal(result.stdout, "a".repeat(1000));
    assert.equal(result.stdout_dropped_bytes, 4000);
    assert.equal(result.stderr, "xy");
    assert.equal(result.stderr_dropped_bytes, 0);
  });
});

Deno.test("createRunner() reports executions that fail to run to the end", async (t) => {
  await t.step("a shell that cannot be started", async () => {
    const runner = createRunner({ serverId: "db-1", shell: "/nonexistent/sh" });
    const result = await runner.run(makeTask(), new Date()).result;
    assert.equal(result.exit_code, null);
    assert.match(result.error ?? "", /^Failed to start \/nonexistent\/sh: .*No such file/);
    assert.equal(result.stderr, `${result.error}\n`);
    assert.equal(ExecutionResult.safeParse(result).success, true);
  });

  await t.step("a process killed by a signal", async () => {
    const task = makeTask({ command: "echo before; kill -USR1 $$; echo after" });
    const result = await createRunner({ serverId: "db-1" }).run(task, new Date()).result;
    assert.equal(result.exit_code, null);
    assert.equal(result.error, "Killed by signal SIGUSR1");
    assert.equal(result.stdout, "before\n");
    assert.equal(result.stderr, "Killed by signal SIGUSR1\n");
  });

  await t.step("a timeout stops the shell and the processes it started", async () => {
    const task = makeTask({ command: "sleep 100 & echo $!; wait", timeout_seconds: 1 });
    const result = await createRunner({ serverId: "db-1", killGraceMs: 2000 })
      .run(task, new Date()).result;
    assert.equal(result.exit_code, null);
    assert.equal(result.error, "Timed out after 1 s");
    assert.equal(result.stderr, "Timed out after 1 s\n");
    assert.equal(await processEnds(Number(result.stdout.trim())), true);
  });

  await t.step("a timeout kills a group that ignores SIGTERM after the kill grace", async () => {
    const task = makeTask({
      command: "trap '' TERM; sleep 100 & echo $!; echo waiting >&2; wait",
      timeout_seconds: 1,
    });
    const result = await createRunner({ serverId: "db-1", killGraceMs: 300 })
      .run(task, new Date()).result;
    assert.equal(result.exit_code, null);
    assert.equal(result.error, "Timed out after 1 s");
    assert.equal(result.stderr, "waiting\nTimed out after 1 s\n");
    assert.equal(await processEnds(Number(result.stdout.trim())), true);
  });

  await t.step("terminate() stops a running execution with the given reason", async () => {
    const started = Promise.withResolvers<void>();
    const runner = createRunner({
      serverId: "db-1",
      killGraceMs: 300,
      onStarted: () => started.resolve(),
    });
    const execution = runner.run(makeTask({ command: "sleep 100" }), new Date());
    await started.promise;
    execution.terminate("Stopped at agent shutdown");
    const result = await execution.result;
    assert.equal(result.exit_code, null);
    assert.equal(result.error, "Stopped at agent shutdown");
    assert.equal(result.stderr, "Stopped at agent shutdown\n");
  });

  await t.step("terminate() before the process started runs nothing", async () => {
    const runner = createRunner({ serverId: "db-1", onStarted: () => assert.fail("Started") });
    const execution = runner.run(makeTask({ command: "sleep 100" }), new Date());
    execution.terminate("Stopped at agent shutdown");
    const result = await execution.result;
    assert.equal(result.exit_code, null);
    assert.equal(result.error, "Stopped at agent shutdown");
  });

  await t.step("processes left behind holding the output are stopped", async () => {
    const task = makeTask({ command: "sleep 100 & echo $!" });
    const result = await createRunner({ serverId: "db-1", pipeGraceMs: 200, killGraceMs: 300 })
      .run(task, new Date()).result;
    assert.equal(result.exit_code, 0);
    assert.equal(result.error, null);
    assert.equal(await processEnds(Number(result.stdout.trim())), true);
  });
});
