/**
 * Benchmark 3: results ingested per second by one server from simulated agents, each
 * `execution.finished` acknowledged after its row is committed.
 *
 * @module
 */
import postgres from "postgres";
import type { ExecutionResult } from "../shared/protocol.ts";
import { atLeast, figure, ratioAtLeast } from "./figures.ts";
import type { BenchOutcome } from "./outcome.ts";
import { closeAll, connectSimAgents } from "./sim_agent.ts";
import { type BenchContext, createTasks, startBenchDatabase, startBenchServer } from "./stack.ts";
import { insertHost, insertResults } from "./sql.ts";

/**
 * Runs benchmark 3. The baseline inserts the same number of rows into the same database
 * directly with postgres.js, `--ingest-batch` rows per statement, one statement at a time.
 */
export async function benchIngest(ctx: BenchContext): Promise<BenchOutcome> {
  const { ingestResults: total, ingestAgents, ingestWindow: window, ingestBatch: batch } =
    ctx.options;
  ctx.progress(`3: ingest, ${total} results from ${ingestAgents} simulated agents`);
  await using db = await startBenchDatabase();
  await using server = await startBenchServer(ctx, { name: "ingest", databaseUrl: db.url });
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    const taskIds = await createTasks(ctx, server.url, 10, {
      command: "true",
      frequency: "0 0 1 1 *",
    });

    ctx.progress("3: baseline, direct inserts");
    await insertHost(sql, "bench-direct");
    const direct = results(total, taskIds);
    await insertResults(sql, "bench-direct", results(Math.min(batch, total), taskIds));
    const directStarted = performance.now();
    for (let i = 0; i < direct.length; i += batch) {
      await insertResults(sql, "bench-direct", direct.slice(i, i + batch));
    }
    const directSeconds = (performance.now() - directStarted) / 1000;

    ctx.progress("3: through the hub");
    const agents = await connectSimAgents(ingestAgents, {
      url: server.wsUrl,
      token: ctx.token,
      prefix: "ingest",
    });
    try {
      const perAgent = Math.ceil(total / agents.length);
      const warmup = agents.map(() => results(Math.max(1, Math.ceil(perAgent / 20)), taskIds));
      await Promise.all(agents.map((agent, i) => agent.deliver(warmup[i], window)));
      const batches = agents.map(() => results(perAgent, taskIds));
      const started = performance.now();
      await Promise.all(agents.map((agent, i) => agent.deliver(batches[i], window)));
      const hubSeconds = (performance.now() - started) / 1000;
      const sent = perAgent * agents.length;
      const [{ n: stored }] = await sql<{ n: number }[]>`
        select count(*)::int as n from executions where server_id like 'ingest-%'`;
      const warmupCount = warmup.reduce((sum, w) => sum + w.length, 0);
      if (stored !== sent + warmupCount) {
        throw new Error(`Expected ${sent + warmupCount} stored results, found ${stored}`);
      }
      const perSecond = sent / hubSeconds;
      const baseline = direct.length / directSeconds;
      return {
        figures: [
          figure({
            bench: 3,
            name: "results ingested per second, one server",
            unit: "/s",
            value: perSecond,
            baseline: { name: `direct inserts of ${batch}`, value: baseline },
            targets: [ratioAtLeast(0.5), atLeast(10_000, "/s")],
          }),
        ],
        details: {
          results: sent,
          agents: agents.length,
          window,
          hub_seconds: hubSeconds,
          baseline_rows: direct.length,
          baseline_batch: batch,
          baseline_seconds: directSeconds,
        },
        notes: [],
      };
    } finally {
      await closeAll(agents);
    }
  } finally {
    await sql.end();
  }
}

/** `count` finished results of a short successful command, for the tasks `taskIds`. */
function results(count: number, taskIds: readonly string[]): ExecutionResult[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const scheduled = new Date(now - (count - i) * 10);
    return {
      execution_id: crypto.randomUUID(),
      task_id: taskIds[i % taskIds.length],
      scheduled_for: scheduled.toISOString(),
      started_at: new Date(scheduled.getTime() + 2).toISOString(),
      finished_at: new Date(scheduled.getTime() + 7).toISOString(),
      exit_code: 0,
      error: null,
      stdout: "bench output line\n",
      stderr: "",
      stdout_dropped_bytes: 0,
      stderr_dropped_bytes: 0,
      schedule_lag_ms: 2,
    };
  });
}
