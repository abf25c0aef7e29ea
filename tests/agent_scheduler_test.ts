import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunner } from "../agent/runner.ts";
import {
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
  type SkippedTick,
  type TaskAnswer,
} from "../agent/scheduler.ts";
import { createTaskStore, taskFileIn } from "../agent/task_store.ts";
import { createLogger } from "../shared/logger.ts";
import type { TaskSpec } from "../shared/protocol.ts";
import { makeTask } from "./helpers/agent_tasks.ts";

const quiet = createLogger({ write: () => {} });
const YEARLY = "0 0 1 1 *";

interface Harness {
  scheduler: Scheduler;
  answers: TaskAnswer[];
  dir: string;
}

/** A scheduler on a temp state dir whose ticks do nothing unless `onTick` says otherwise. */
async function withScheduler(
  fn: (harness: Harness) => Promise<void>,
  overrides: Partial<SchedulerOptions> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const answers: TaskAnswer[] = [];
  const scheduler = createScheduler({
    store: createTaskStore({ path: taskFileIn(dir), logger: quiet }),
    onTick: () => Promise.resolve(),
    onAnswer: (answer) => answers.push(answer),
    logger: quiet,
    ...overrides,
  });
  try {
    await fn({ scheduler, answers, dir });
  } finally {
    scheduler.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const accepted = (task: TaskSpec): TaskAnswer => ({
  type: "task.accepted",
  task_id: task.id,
  revision: task.revision,
});

const byId = (a: { task_id: string }, b: { task_id: string }) => a.task_id.localeCompare(b.task_id);

Deno.test("createScheduler() keeps its jobs in step with the task set", async (t) => {
  await withScheduler(async ({ scheduler, answers }) => {
    const a = makeTask({ frequency: YEARLY });
    const b = makeTask({ frequency: YEARLY, timezone: "Europe/Paris" });
    const c = makeTask({ frequency: YEARLY });

    await t.step("sync schedules every task and accepts each", async () => {
      await scheduler.sync([a, b]);
      assert.deepEqual(
        scheduler.scheduled().sort(byId),
        [a, b].map((task) => ({ task_id: task.id, revision: 1 })).sort(byId),
      );
      assert.deepEqual(answers.splice(0), [accepted(a), accepted(b)]);
    });

    await t.step("sync stops tasks it no longer holds and adds new ones", async () => {
      await scheduler.sync([b, c]);
      assert.deepEqual(
        scheduler.scheduled().sort(byId),
        [b, c].map((task) => ({ task_id: task.id, revision: 1 })).sort(byId),
      );
      assert.deepEqual(answers.splice(0), [accepted(b), accepted(c)]);
    });

    await t.step("sync replaces a task whose revision changed", async () => {
      const b2 = { ...b, command: "echo b2", revision: 2 };
      await scheduler.sync([b2, c]);
      assert.deepEqual(
        scheduler.scheduled().find((s) => s.task_id === b.id),
        { task_id: b.id, revision: 2 },
      );
      assert.deepEqual(answers.splice(0), [accepted(b2), accepted(c)]);
    });

    await t.step("upsert applies a newer revision and ignores an older one", async () => {
      const c3 = { ...c, revision: 3 };
      await scheduler.upsert(c3);
      await scheduler.upsert({ ...c, revision: 2, command: "stale" });
      assert.deepEqual(
        scheduler.scheduled().find((s) => s.task_id === c.id),
        { task_id: c.id, revision: 3 },
      );
      assert.deepEqual(answers.splice(0), [accepted(c3)]);
    });

    await t.step("upsert of the revision held answers again without rescheduling", async () => {
      await scheduler.upsert({ ...c, revision: 3 });
      assert.deepEqual(answers.splice(0), [{ type: "task.accepted", task_id: c.id, revision: 3 }]);
    });

    await t.step("delete stops a task and a late upsert cannot bring it back", async () => {
      await scheduler.remove(c.id);
      await scheduler.upsert({ ...c, revision: 3 });
      assert.equal(scheduler.scheduled().some((s) => s.task_id === c.id), false);
      await scheduler.upsert({ ...c, revision: 4 });
      assert.deepEqual(
        scheduler.scheduled().find((s) => s.task_id === c.id),
        { task_id: c.id, revision: 4 },
      );
      assert.deepEqual(answers.splice(0), [{ type: "task.accepted", task_id: c.id, revision: 4 }]);
    });

    await t.step("an empty sync stops everything", async () => {
      await scheduler.sync([]);
      assert.deepEqual(scheduler.scheduled(), []);
    });
  });
});

Deno.test("createScheduler() rejects tasks it cannot schedule", async (t) => {
  await withScheduler(async ({ scheduler, answers }) => {
    const cases: [string, Partial<TaskSpec>, RegExp][] = [
      ["a malformed cron expression", { frequency: "every minute" }, /^Invalid cron expression/],
      ["a cron expression that never fires", { frequency: "0 0 30 2 *" }, /never fires/],
      ["an unknown timezone", { frequency: YEARLY, timezone: "Mars/Olympus" }, /timezone/],
      ["an empty command", { frequency: YEARLY, command: "  " }, /^Command is empty$/],
    ];
    for (const [name, overrides, reason] of cases) {
      await t.step(name, async () => {
        const task = makeTask(overrides);
        await scheduler.upsert(task);
        const [answer] = answers.splice(0);
        assert.equal(answer.type, "task.rejected");
        assert.equal(answer.task_id, task.id);
        assert.equal(answer.revision, task.revision);
        assert.match(answer.type === "task.rejected" ? answer.reason : "", reason);
        assert.equal(scheduler.scheduled().some((s) => s.task_id === task.id), false);
      });
    }

    await t.step("a rejected task is scheduled once a valid revision comes", async () => {
      const task = makeTask({ frequency: "nope" });
      await scheduler.sync([task]);
      assert.equal(answers.splice(0)[0].type, "task.rejected");
      const fixed = { ...task, frequency: YEARLY, revision: 2 };
      await scheduler.upsert(fixed);
      assert.deepEqual(answers.splice(0), [accepted(fixed)]);
      assert.deepEqual(scheduler.scheduled(), [{ task_id: task.id, revision: 2 }]);
    });
  });
});

Deno.test("createScheduler() persists the task set for the next start", async (t) => {
  await withScheduler(async ({ scheduler, dir }) => {
    const a = makeTask({ frequency: YEARLY });
    const b = makeTask({ frequency: YEARLY, revision: 7 });
    await scheduler.sync([a, b]);

    await t.step("a new scheduler on the same state dir schedules the saved tasks", async () => {
      const answers: TaskAnswer[] = [];
      const restarted = createScheduler({
        store: createTaskStore({ path: taskFileIn(dir), logger: quiet }),
        onTick: () => Promise.resolve(),
        onAnswer: (answer) => answers.push(answer),
        logger: quiet,
      });
      try {
        assert.equal(await restarted.load(), 2);
        assert.deepEqual(restarted.scheduled().sort(byId), scheduler.scheduled().sort(byId));
        assert.deepEqual(answers, []);
      } finally {
        restarted.stop();
      }
    });

    await t.step("a corrupt task file is moved aside and leaves an empty schedule", async () => {
      await Deno.writeTextFile(taskFileIn(dir), "{not json");
      const store = createTaskStore({ path: taskFileIn(dir), logger: quiet });
      assert.deepEqual(await store.load(), []);
      const names = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry.name);
      assert.equal(names.some((name) => name.startsWith("tasks.json.corrupt-")), true);
      assert.equal(names.includes("tasks.json"), false);
    });
  });
});

Deno.test("createScheduler() ticks with the scheduled time", async () => {
  const ticks = Promise.withResolvers<[TaskSpec, Date, number]>();
  await withScheduler(async ({ scheduler }) => {
    const task = makeTask({ frequency: "* * * * * *" });
    await scheduler.sync([task]);
    const [ticked, scheduledFor, at] = await ticks.promise;
    assert.equal(ticked.id, task.id);
    assert.equal(scheduledFor.getMilliseconds(), 0);
    assert.ok(scheduledFor.getTime() <= at);
  }, {
    onTick: (task, scheduledFor) => {
      ticks.resolve([task, scheduledFor, Date.now()]);
      return Promise.resolve();
    },
  });
});

Deno.test("createScheduler() skips and counts ticks while the previous run still goes", async () => {
  const dir = await Deno.makeTempDir();
  const runner = createRunner({ serverId: "test-host" });
  const runs: Promise<unknown>[] = [];
  const skips: SkippedTick[] = [];
  const secondSkip = Promise.withResolvers<void>();
  const scheduler = createScheduler({
    store: createTaskStore({ path: join(dir, "tasks.json"), logger: quiet }),
    onTick: (task, scheduledFor) => {
      const result = runner.run(task, scheduledFor).result;
      runs.push(result);
      return result;
    },
    onSkip: (skip) => {
      skips.push(skip);
      if (skips.length === 2) secondSkip.resolve();
    },
    logger: quiet,
  });
  try {
    const task = makeTask({ frequency: "* * * * * *", command: "sleep 2" });
    await scheduler.sync([task]);
    await secondSkip.promise;
    scheduler.stop();
    assert.equal(runs.length, 1);
    assert.equal(scheduler.skippedTicks(task.id), skips.length);
    assert.deepEqual(skips.slice(0, 2).map((skip) => [skip.task_id, skip.skipped]), [
      [task.id, 1],
      [task.id, 2],
    ]);
  } finally {
    scheduler.stop();
    await Promise.all(runs);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createScheduler() records a late tick against the second it was planned for", async () => {
  const ticks: Date[] = [];
  await withScheduler(async ({ scheduler }) => {
    await scheduler.sync([makeTask({ frequency: "* * * * * *" })]);
    let blocked = false;
    while (ticks.length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (ticks.length === 1 && !blocked) {
        // Hold the event loop past the next tick, as an overloaded agent would.
        const until = ticks[0].getTime() + 2_600;
        while (Date.now() < until) { /* busy */ }
        blocked = true;
      }
    }
  }, {
    onTick: (_task, scheduledFor) => {
      ticks.push(scheduledFor);
      return Promise.resolve();
    },
  });
  assert.equal(ticks[1].getTime() - ticks[0].getTime(), 1_000, "the tick after the first");
});
