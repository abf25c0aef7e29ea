/**
 * Benchmarks 1 and 2: one real agent process running tasks that fire every second, its
 * results stored by the real server in a throwaway PostgreSQL.
 *
 * @module
 */
import postgres from "postgres";
import type { Sql } from "../server/db/database.ts";
import { distribution } from "./stats.ts";
import { below, figure, ratioAtLeast } from "./figures.ts";
import type { BenchOutcome } from "./outcome.ts";
import { runBaseline } from "./baseline.ts";
import {
  type BenchContext,
  createTasks,
  startBenchAgent,
  startBenchDatabase,
  startBenchServer,
} from "./stack.ts";
import { acceptedCount, storedIn, ticksIn, type TickWindow } from "./sql.ts";
import { sleep, waitUntil } from "./timing.ts";

/** Every second, the tick of the six-field cron. */
const EVERY_SECOND = "* * * * * *";

/**
 * Benchmark 1: tick time → child process started, as the agent reports it in each result's
 * `schedule_lag_ms` (taken right after `Deno.Command.spawn()` returns), for the ticks of a
 * window of whole seconds. Baseline: croner alone firing as many callbacks a second.
 */
export async function benchScheduleLag(ctx: BenchContext): Promise<BenchOutcome> {
  const { agentTasks: tasks, agentSeconds: seconds, warmupSeconds } = ctx.options;
  ctx.progress(`1: schedule lag, ${tasks} tasks every second on one agent`);
  const window = await withLoadedAgent(ctx, "lag", tasks, async ({ sql, serverId }) => {
    const from = new Date(Math.ceil(Date.now() / 1000 + warmupSeconds) * 1000);
    const to = new Date(from.getTime() + seconds * 1000);
    await sleep(to.getTime() - Date.now());
    return await settledTicks(sql, serverId, from, to);
  });
  ctx.progress("1: baseline, croner alone");
  const { lags_ms } = await runBaseline<{ lags_ms: number[] }>("croner_ticks.ts", [
    "--jobs",
    String(tasks),
    "--seconds",
    String(seconds),
    "--warmup",
    String(warmupSeconds),
  ]);
  const expected = tasks * seconds;
  if (window.lags.length === 0) {
    throw new Error("Cannot measure the schedule lag: no tick of the window ran");
  }
  const ours = distribution(window.lags);
  const croner = distribution(lags_ms);
  const baseline = (value: number) => ({ name: "croner alone", value });
  const figures = [
    figure({
      bench: 1,
      name: "schedule start lag p50",
      unit: "ms",
      value: ours.p50,
      baseline: baseline(croner.p50),
    }),
    figure({
      bench: 1,
      name: "schedule start lag p99",
      unit: "ms",
      value: ours.p99,
      baseline: baseline(croner.p99),
      targets: [below(20, "ms")],
    }),
    figure({
      bench: 1,
      name: "schedule start lag max",
      unit: "ms",
      value: ours.max,
      baseline: baseline(croner.max),
    }),
  ];
  const ran = window.lags.length;
  return {
    figures,
    details: {
      tasks,
      seconds,
      ticks_expected: expected,
      ticks_run: ran,
      agent_lag_ms: ours,
      croner_ticks_expected: expected,
      croner_ticks_fired: lags_ms.length,
      croner_lag_ms: croner,
    },
    notes: [
      `1: ${ran.toLocaleString("en-US")} of ${expected.toLocaleString("en-US")} ticks ran ` +
      `(the rest were skipped, their task's previous run still going, or never fired); ` +
      `croner alone fired ${lags_ms.length.toLocaleString("en-US")}.`,
    ],
  };
}

/**
 * Benchmark 2: results stored per second by one agent running `true`, at a growing number of
 * tasks firing every second (`--throughput-steps`), until it stores less than 80 % of what is
 * offered; the figure is the best step. Baseline: a bare `Deno.Command` loop at the agent's mean
 * number of processes running at once in that step (from the stored start and finish times).
 */
export async function benchAgentThroughput(ctx: BenchContext): Promise<BenchOutcome> {
  const { throughputSteps, agentSeconds, warmupSeconds } = ctx.options;
  const seconds = Math.max(1, agentSeconds / 2);
  const steps: Step[] = [];
  await withLoadedAgent(ctx, "throughput", throughputSteps[0], async (agent) => {
    for (const tasks of throughputSteps) {
      ctx.progress(`2: agent throughput, ${tasks} tasks every second on one agent`);
      await agent.holdTasks(tasks);
      await sleep(Math.min(warmupSeconds, 3) * 1000);
      const step = { tasks, ...await storedPerSecond(agent, seconds) };
      steps.push(step);
      ctx.progress(`   ${Math.round(step.perSecond)}/s stored, schedule lag p99 ${step.lagP99} ms`);
      if (step.perSecond < 0.8 * tasks) break;
    }
  });
  const best = steps.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const concurrency = Math.max(1, Math.round(best.concurrency));
  ctx.progress(`2: baseline, a bare spawn loop at concurrency ${concurrency}`);
  const loop = await runBaseline<{ executions: number; seconds: number }>("spawn_loop.ts", [
    "--concurrency",
    String(concurrency),
    "--seconds",
    String(seconds),
    "--warmup",
    String(Math.min(warmupSeconds, 2)),
  ]);
  const baseline = loop.executions / loop.seconds;
  return {
    figures: [
      figure({
        bench: 2,
        name: "executions stored per second, one agent",
        unit: "/s",
        value: best.perSecond,
        baseline: { name: "bare spawn loop", value: baseline },
        targets: [ratioAtLeast(0.5)],
      }),
    ],
    details: { steps, best, baseline_concurrency: concurrency, baseline_per_second: baseline },
    notes: [
      "2: stored per second at " +
      steps.map((s) => `${s.tasks} tasks: ${Math.round(s.perSecond)} (lag p99 ${s.lagP99} ms)`)
        .join(", ") +
      `; best with ${best.concurrency.toFixed(1)} processes running at once on average.`,
    ],
  };
}

/** One step of benchmark 2. */
interface Step {
  tasks: number;
  perSecond: number;
  /** Processes running at once, on average over the window. */
  concurrency: number;
  /** Schedule lag p99 (ms) of the window's ticks stored so far; null when none was. */
  lagP99: number | null;
}

/** Measures over `seconds` how many results the agent stores per second. */
async function storedPerSecond(
  { sql, serverId }: LoadedAgent,
  seconds: number,
): Promise<Omit<Step, "tasks">> {
  const from = new Date();
  await sleep(seconds * 1000);
  const to = new Date();
  // Rows are stamped when their transaction starts: let the last ones commit.
  await sleep(500);
  const { count, busySeconds } = await storedIn(sql, serverId, from, to);
  const { lags } = await ticksIn(sql, serverId, from, to);
  const elapsed = (to.getTime() - from.getTime()) / 1000;
  return {
    perSecond: count / elapsed,
    concurrency: busySeconds / elapsed,
    lagP99: lags.length ? distribution(lags).p99 : null,
  };
}

interface LoadedAgent {
  sql: Sql;
  serverId: string;
  /** Creates tasks until the agent holds `count`, and waits until it accepted them all. */
  holdTasks(count: number): Promise<void>;
}

/**
 * Starts a database, the server and one agent holding `tasks` tasks that run `true` every
 * second, runs `body` once the agent has accepted them all, and stops everything.
 */
async function withLoadedAgent<T>(
  ctx: BenchContext,
  name: string,
  tasks: number,
  body: (agent: LoadedAgent) => Promise<T>,
): Promise<T> {
  await using db = await startBenchDatabase();
  await using server = await startBenchServer(ctx, { name, databaseUrl: db.url });
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    const serverId = `bench-${name}`;
    let created = 0;
    const create = async (count: number) => {
      const task = { command: "true", frequency: EVERY_SECOND };
      await createTasks(ctx, server.url, count - created, task);
      created = count;
    };
    await create(tasks);
    await using agent = startBenchAgent(ctx, { name, serverUrl: server.url, serverId });
    const accepted = async (count: number) =>
      await waitUntil(async () => {
        if (agent.exit) throw new Error(`The agent exited:\n${await agent.logTail()}`);
        return (await acceptedCount(sql, serverId)) === count;
      }, { timeoutMs: 120_000, intervalMs: 250, what: `the agent to accept ${count} tasks` });
    await accepted(tasks);
    return await body({
      sql,
      serverId,
      async holdTasks(count) {
        if (count <= created) return;
        await create(count);
        await accepted(count);
      },
    });
  } finally {
    await sql.end();
  }
}

/**
 * Waits until every tick in `[from, to)` that ran has its result stored: nothing running and
 * the count unchanged for a second (a lagging agent still starts ticks of the window after
 * it ended), at most 30 s.
 */
async function settledTicks(sql: Sql, serverId: string, from: Date, to: Date): Promise<TickWindow> {
  let last = await ticksIn(sql, serverId, from, to);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = await ticksIn(sql, serverId, from, to);
    const settled = now.running === 0 && now.lags.length === last.lags.length;
    last = now;
    if (settled) break;
  }
  return last;
}
