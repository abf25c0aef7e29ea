/**
 * Benchmark 7: resident memory of the server with many agents connected (measured by the
 * fan-out benchmark) and of an idle agent holding many tasks, next to a bare `deno run`.
 *
 * @module
 */
import postgres from "postgres";
import type { ServerMemory } from "./fanout.ts";
import { atMost, figure, ratioAtMost } from "./figures.ts";
import type { BenchOutcome } from "./outcome.ts";
import { readRssKiB, spawnLogged } from "./process.ts";
import {
  type BenchContext,
  startBenchAgent,
  startBenchDatabase,
  startBenchServer,
} from "./stack.ts";
import { acceptedCount, seedTasks } from "./sql.ts";
import { median } from "./stats.ts";
import { sleep, waitUntil } from "./timing.ts";

/**
 * Runs the agent half of benchmark 7, and reports the server half from `server` (null when
 * the fan-out benchmark did not run).
 */
export async function benchMemory(
  ctx: BenchContext,
  servers: { server: ServerMemory; bare: ServerMemory } | null,
): Promise<BenchOutcome> {
  const tasks = ctx.options.memoryTasks;
  ctx.progress(`7: memory, an idle agent with ${tasks} tasks, and a bare deno run`);
  const bareKiB = await idleRssKiB(ctx, "idle.ts", []);
  const cronerKiB = await idleRssKiB(ctx, "croner_jobs.ts", ["--jobs", String(tasks)]);
  const agentKiB = await idleAgentRssKiB(ctx, tasks);
  const bare = { name: "bare deno run", value: bareKiB / 1024 };
  const figures = [
    figure({
      bench: 7,
      name: `agent RSS, idle with ${tasks.toLocaleString("en-US")} tasks`,
      unit: "MiB",
      value: agentKiB / 1024,
      baseline: bare,
      targets: [ratioAtMost(1.5)],
    }),
    figure({
      bench: 7,
      name: `croner alone holding ${tasks.toLocaleString("en-US")} jobs (RSS)`,
      unit: "MiB",
      value: cronerKiB / 1024,
      baseline: bare,
    }),
  ];
  const details: Record<string, unknown> = {
    bare_kib: bareKiB,
    croner_jobs_kib: cronerKiB,
    agent_kib: agentKiB,
    tasks,
  };
  if (servers && servers.server.levels.length > 0) {
    const { server, bare: bareServer } = servers;
    const top = server.levels[server.levels.length - 1];
    const perAgent = memoryPerConnection(server);
    const perSocket = memoryPerConnection(bareServer);
    figures.unshift(
      figure({
        bench: 7,
        name: `server RSS, ${top.agents.toLocaleString("en-US")} agents connected`,
        unit: "MiB",
        value: top.rssKiB / 1024,
        baseline: bare,
      }),
      figure({
        bench: 7,
        name: `server memory per agent (${perAgent.range})`,
        unit: "KiB",
        value: perAgent.kib,
        baseline: { name: "bare WebSocket server, per socket", value: perSocket.kib },
        targets: [atMost(20, "KiB")],
      }),
    );
    details.server = server;
    details.server_kib_per_agent = perAgent.kib;
    details.bare_websocket_server = bareServer;
    details.bare_websocket_kib_per_socket = perSocket.kib;
  }
  return { figures, details, notes: [] };
}

/**
 * Memory per connection: the growth from the first number of connections measured to the
 * last (from none when only one was), so that what any server holds anyway is left out.
 */
function memoryPerConnection(memory: ServerMemory): { kib: number; range: string } {
  const top = memory.levels[memory.levels.length - 1];
  const from = memory.levels.length > 1 ? memory.levels[0] : { agents: 0, rssKiB: memory.idleKiB };
  return {
    kib: (top.rssKiB - from.rssKiB) / (top.agents - from.agents),
    range: `${from.agents} → ${top.agents} agents`,
  };
}

/** RSS of `deno run` of a baseline script, the median of five readings after settling. */
async function idleRssKiB(ctx: BenchContext, script: string, args: string[]): Promise<number> {
  const path = new URL(`./baselines/${script}`, import.meta.url).pathname;
  await using idle = spawnLogged(Deno.execPath(), ["run", "--allow-all", path, ...args], {
    logFile: `${ctx.workDir}/${script}.log`,
  });
  await sleep(ctx.options.settleSeconds * 1000);
  return await sampleRss(idle.pid);
}

/** RSS of a real agent holding `tasks` tasks that fire once a year, once it accepted them. */
async function idleAgentRssKiB(ctx: BenchContext, tasks: number): Promise<number> {
  await using db = await startBenchDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    await using server = await startBenchServer(ctx, { name: "memory", databaseUrl: db.url });
    await seedTasks(sql, tasks, "0 0 1 1 *");
    const serverId = "bench-memory";
    await using agent = startBenchAgent(ctx, { name: "memory", serverUrl: server.url, serverId });
    await waitUntil(async () => {
      if (agent.exit) throw new Error(`The agent exited:\n${await agent.logTail()}`);
      return (await acceptedCount(sql, serverId)) === tasks;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `the agent to accept ${tasks} tasks` });
    await sleep(ctx.options.settleSeconds * 1000);
    return await sampleRss(agent.pid);
  } finally {
    await sql.end();
  }
}

/** The median of five readings, 200 ms apart. */
async function sampleRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(await readRssKiB(pid));
    await sleep(200);
  }
  return median(readings);
}
