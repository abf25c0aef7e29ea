/**
 * Benchmark 4, and the server half of 7: a task created through the API reaching every
 * connected agent, and the server's memory with those agents connected.
 *
 * @module
 */
import type { ServerMessage, TaskSpec } from "../shared/protocol.ts";
import { below, figure } from "./figures.ts";
import type { BenchOutcome } from "./outcome.ts";
import { freePort } from "../tests/helpers/postgres.ts";
import { readRssKiB, spawnLogged } from "./process.ts";
import { closeAll, connectSimAgents, type SimAgent } from "./sim_agent.ts";
import {
  authHeaders,
  type BenchContext,
  createTask,
  startBenchDatabase,
  startBenchServer,
} from "./stack.ts";
import { distribution } from "./stats.ts";
import { sleep, waitUntil, withTimeout } from "./timing.ts";

/** The server's resident memory at each number of connected agents. */
export interface ServerMemory {
  idleKiB: number;
  levels: { agents: number; rssKiB: number }[];
}

/** Benchmark 4's outcome, with the memory benchmark 7 reports. */
export interface FanoutOutcome extends BenchOutcome {
  /** The real server's. */
  memory: ServerMemory;
  /** The bare broadcast server's, with as many sockets. */
  bareMemory: ServerMemory;
}

/** Fan-out latencies (ms from the request being sent) of one number of agents. */
interface Level {
  agents: number;
  latencies: number[];
}

/**
 * Runs benchmark 4: at each number of connected simulated agents, `--fanout-creates` tasks
 * created one after another, each timed from sending `POST /api/v1/tasks/create` to its
 * `task.upsert` arriving at each agent. Baseline: a bare WebSocket server broadcasting the
 * same message to as many sockets.
 */
export async function benchFanout(ctx: BenchContext): Promise<FanoutOutcome> {
  const { fanoutAgents, fanoutCreates } = ctx.options;
  ctx.progress(`4: fan-out to ${fanoutAgents.join(" and ")} agents`);
  const { levels: ours, memory } = await fanoutThroughServer(ctx);
  ctx.progress("4: baseline, a bare WebSocket broadcast");
  const { levels: bare, memory: bareMemory } = await fanoutThroughBroadcast(ctx);
  const figures = ours.flatMap((level, i) => {
    const d = distribution(level.latencies);
    const b = distribution(bare[i].latencies);
    const name = (p: string) => `fan-out ${p}, ${level.agents.toLocaleString("en-US")} agents`;
    const baseline = (value: number) => ({ name: "bare broadcast", value });
    const last = i === ours.length - 1;
    return [
      figure({ bench: 4, name: name("p50"), unit: "ms", value: d.p50, baseline: baseline(b.p50) }),
      figure({
        bench: 4,
        name: name("p99"),
        unit: "ms",
        value: d.p99,
        baseline: baseline(b.p99),
        targets: last && level.agents >= 1000 ? [below(100, "ms")] : [],
      }),
    ];
  });
  return {
    figures,
    memory,
    bareMemory,
    details: {
      creates_per_level: fanoutCreates,
      levels: ours.map((level, i) => ({
        agents: level.agents,
        latency_ms: distribution(level.latencies),
        baseline_latency_ms: distribution(bare[i].latencies),
      })),
      server_memory: memory,
      bare_server_memory: bareMemory,
    },
    notes: [],
  };
}

/** Connects agents level by level to the real server and times creates at each level. */
async function fanoutThroughServer(
  ctx: BenchContext,
): Promise<{ levels: Level[]; memory: ServerMemory }> {
  await using db = await startBenchDatabase();
  await using server = await startBenchServer(ctx, { name: "fanout", databaseUrl: db.url });
  const arrivals = new Arrivals();
  const agents: SimAgent[] = [];
  try {
    await sleep(ctx.options.settleSeconds * 1000);
    const memory: ServerMemory = { idleKiB: await readRssKiB(server.process.pid), levels: [] };
    const levels: Level[] = [];
    for (const count of ctx.options.fanoutAgents) {
      agents.push(
        ...await connectSimAgents(count - agents.length, {
          url: server.wsUrl,
          token: ctx.token,
          prefix: "fanout",
          first: agents.length + 1,
          onUpsert: arrivals.record,
        }),
      );
      await sleep(ctx.options.settleSeconds * 1000);
      memory.levels.push({ agents: count, rssKiB: await readRssKiB(server.process.pid) });
      const latencies = await timeCreates(ctx, count, arrivals, async () => {
        const sent = performance.now();
        const id = await createTask(ctx, server.url, { command: "true", frequency: "0 0 1 1 *" });
        return { id, sent };
      });
      levels.push({ agents: count, latencies });
    }
    return { levels, memory };
  } finally {
    await closeAll(agents);
  }
}

/** The same levels against the bare broadcast server. */
async function fanoutThroughBroadcast(
  ctx: BenchContext,
): Promise<{ levels: Level[]; memory: ServerMemory }> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const path = new URL("./baselines/broadcast_server.ts", import.meta.url).pathname;
  await using broadcaster = spawnLogged(Deno.execPath(), ["run", "--allow-all", path], {
    logFile: `${ctx.workDir}/broadcast-server.log`,
    env: { PORT: String(port) },
  });
  await waitUntil(async () => {
    if (broadcaster.exit) {
      throw new Error(`The broadcast server exited:\n${await broadcaster.logTail()}`);
    }
    try {
      const res = await fetch(`${base}/healthz`);
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000, what: "the broadcast server" });
  const arrivals = new Arrivals();
  const agents: SimAgent[] = [];
  try {
    await sleep(ctx.options.settleSeconds * 1000);
    const memory: ServerMemory = { idleKiB: await readRssKiB(broadcaster.pid), levels: [] };
    const levels: Level[] = [];
    for (const count of ctx.options.fanoutAgents) {
      agents.push(
        ...await connectSimAgents(count - agents.length, {
          url: `ws://127.0.0.1:${port}/connect`,
          token: ctx.token,
          prefix: "broadcast",
          first: agents.length + 1,
          waitForSync: false,
          onUpsert: arrivals.record,
        }),
      );
      await sleep(ctx.options.settleSeconds * 1000);
      memory.levels.push({ agents: count, rssKiB: await readRssKiB(broadcaster.pid) });
      const latencies = await timeCreates(ctx, count, arrivals, async () => {
        const task: TaskSpec = {
          id: crypto.randomUUID(),
          command: "true",
          frequency: "0 0 1 1 *",
          timezone: "UTC",
          timeout_seconds: null,
          revision: 1,
        };
        const message: ServerMessage = { type: "task.upsert", task };
        const sent = performance.now();
        const res = await fetch(`${base}/broadcast`, {
          method: "POST",
          headers: authHeaders(ctx),
          body: JSON.stringify(message),
        });
        await res.body?.cancel();
        if (res.status !== 204) throw new Error(`The broadcast server answered ${res.status}`);
        return { id: task.id, sent };
      });
      levels.push({ agents: count, latencies });
    }
    return { levels, memory };
  } finally {
    await closeAll(agents);
  }
}

/**
 * Sends one unmeasured warm-up, then `--fanout-creates` measured ones, each after the
 * previous reached all `agents`; returns every arrival's latency.
 */
async function timeCreates(
  ctx: BenchContext,
  agents: number,
  arrivals: Arrivals,
  send: () => Promise<{ id: string; sent: number }>,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i <= ctx.options.fanoutCreates; i++) {
    const { id, sent } = await send();
    const times = await withTimeout(
      arrivals.all(id, agents),
      60_000,
      `task ${id} to reach ${agents} agents`,
    );
    if (i > 0) latencies.push(...times.map((at) => at - sent));
    await sleep(100);
  }
  return latencies;
}

/** When each task's upsert reached each agent, and a way to wait for all of them. */
class Arrivals {
  #times = new Map<string, number[]>();
  #waiters = new Map<string, { count: number; resolve: (times: number[]) => void }>();

  record = (taskId: string, at: number): void => {
    const times = this.#times.get(taskId) ?? [];
    times.push(at);
    this.#times.set(taskId, times);
    const waiter = this.#waiters.get(taskId);
    if (waiter && times.length >= waiter.count) {
      this.#waiters.delete(taskId);
      waiter.resolve(times);
    }
  };

  all(taskId: string, count: number): Promise<number[]> {
    const times = this.#times.get(taskId) ?? [];
    if (times.length >= count) return Promise.resolve(times);
    return new Promise((resolve) => this.#waiters.set(taskId, { count, resolve }));
  }
}
