/**
 * Benchmarks 5, 6 and 8: HTTP load on `GET .../status` and `POST .../create` with wrk, on a
 * seeded database, next to a constant-JSON route of the same server.
 *
 * @module
 */
import postgres from "postgres";
import { openDatabase, type Sql } from "../server/db/database.ts";
import { migrate, readMigrations } from "../server/db/migrate.ts";
import { createLogger } from "../shared/logger.ts";
import { figure, ratioAtLeast } from "./figures.ts";
import type { BenchOutcome } from "./outcome.ts";
import { seedExecutions, seedHosts, seedTasks } from "./sql.ts";
import { authHeaders, type BenchContext, startBenchDatabase, startBenchServer } from "./stack.ts";
import { runWrk, writeCreateScript, writeStatusScript, type WrkResult } from "./wrk.ts";

/** The hosts the seeded executions are spread over. */
const SEEDED_HOSTS = 10;

/** The wrk runs of one database. */
export interface ApiLoad {
  /** `GET /healthz`: a Hono route answering constant JSON on the same server; null on PGlite. */
  constant: WrkResult | null;
  status: WrkResult;
  create: WrkResult;
  seedSeconds: number;
}

/**
 * Runs benchmarks 5 and 6 on real PostgreSQL seeded with `--api-tasks` tasks and
 * `--api-executions` executions.
 */
export async function benchApiPostgres(
  ctx: BenchContext,
): Promise<BenchOutcome & { load: ApiLoad }> {
  const { apiTasks, apiExecutions } = ctx.options;
  ctx.progress(`5, 6: seeding PostgreSQL with ${apiTasks} tasks, ${apiExecutions} executions`);
  await using db = await startBenchDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  let seeded;
  try {
    seeded = await seed(sql, apiTasks, apiExecutions);
  } finally {
    await sql.end();
  }
  await using server = await startBenchServer(ctx, { name: "api", databaseUrl: db.url });
  const load = await loadServer(ctx, server.url, seeded.taskIds, { constant: true });
  const result = { ...load, seedSeconds: seeded.seconds, constant: load.constant! };
  const constant = result.constant.requestsPerSecond;
  const baseline = { name: "constant JSON route", value: constant };
  return {
    load: result,
    figures: [
      figure({
        bench: 5,
        name: "GET status requests per second",
        unit: "/s",
        value: result.status.requestsPerSecond,
        baseline,
        targets: [ratioAtLeast(0.3)],
      }),
      figure({
        bench: 5,
        name: "GET status p99",
        unit: "ms",
        value: result.status.p99Ms,
        baseline: { name: "constant JSON route", value: result.constant.p99Ms },
      }),
      figure({
        bench: 6,
        name: "POST create requests per second",
        unit: "/s",
        value: result.create.requestsPerSecond,
        baseline,
        targets: [ratioAtLeast(0.2)],
      }),
    ],
    details: {
      tasks: apiTasks,
      executions: apiExecutions,
      connections: ctx.options.apiConnections,
      seconds: ctx.options.apiSeconds,
      seed_seconds: seeded.seconds,
      constant: result.constant,
      status: result.status,
      create: result.create,
    },
    notes: [],
  };
}

/**
 * Runs benchmark 8: the same load on the embedded PGlite default, seeded through the
 * server's own PGlite opening before the server starts on the same data directory.
 */
export async function benchApiPglite(
  ctx: BenchContext,
  postgresLoad: ApiLoad | null,
): Promise<BenchOutcome> {
  const { apiTasks, pgliteExecutions } = ctx.options;
  ctx.progress(`8: seeding PGlite with ${apiTasks} tasks, ${pgliteExecutions} executions`);
  const dataDir = `${ctx.workDir}/pglite-data`;
  const logger = createLogger({ level: "warn" });
  const db = await openDatabase({ dataDir, logger });
  let seeded;
  try {
    seeded = await seed(db.sql, apiTasks, pgliteExecutions);
  } finally {
    await db.close();
  }
  await using server = await startBenchServer(ctx, { name: "pglite", dataDir });
  const load = await loadServer(ctx, server.url, seeded.taskIds, { constant: false });
  const on = (value: number | undefined) =>
    value === undefined ? undefined : { name: "same on PostgreSQL", value };
  return {
    figures: [
      figure({
        bench: 8,
        name: "PGlite: GET status requests per second",
        unit: "/s",
        value: load.status.requestsPerSecond,
        baseline: on(postgresLoad?.status.requestsPerSecond),
      }),
      figure({
        bench: 8,
        name: "PGlite: GET status p99",
        unit: "ms",
        value: load.status.p99Ms,
        baseline: on(postgresLoad?.status.p99Ms),
      }),
      figure({
        bench: 8,
        name: "PGlite: POST create requests per second",
        unit: "/s",
        value: load.create.requestsPerSecond,
        baseline: on(postgresLoad?.create.requestsPerSecond),
      }),
    ],
    details: {
      tasks: apiTasks,
      executions: pgliteExecutions,
      seed_seconds: seeded.seconds,
      status: load.status,
      create: load.create,
    },
    notes: [],
  };
}

/** Migrates and seeds a database; returns the task ids and how long seeding took. */
async function seed(sql: Sql, tasks: number, executions: number) {
  await migrate(sql, await readMigrations(), createLogger({ level: "warn" }));
  const started = performance.now();
  const taskIds = await seedTasks(sql, tasks);
  await seedHosts(sql, SEEDED_HOSTS);
  await seedExecutions(sql, executions, SEEDED_HOSTS);
  return { taskIds, seconds: (performance.now() - started) / 1000 };
}

/** Warms the server up, then runs each measured wrk load in turn. */
async function loadServer(
  ctx: BenchContext,
  baseUrl: string,
  taskIds: string[],
  { constant }: { constant: boolean },
): Promise<Omit<ApiLoad, "seedSeconds">> {
  const { apiConnections: connections, apiSeconds: seconds, warmupSeconds } = ctx.options;
  const statusScript = `${ctx.workDir}/status.lua`;
  const createScript = `${ctx.workDir}/create.lua`;
  await writeStatusScript(statusScript, taskIds);
  await writeCreateScript(createScript, { command: "true", frequency: "0 0 1 1 *" });
  const headers = authHeaders(ctx);
  const run = async (what: string, url: string, script?: string) => {
    const result = await runWrk({ url, connections, seconds, script, headers });
    if (result.non2xx > 0 || result.socketErrors > 0) {
      throw new Error(
        `${what}: ${result.non2xx} answers were not 2xx and ${result.socketErrors} ` +
          `socket errors occurred; see the server log in ${ctx.workDir}`,
      );
    }
    ctx.progress(`   ${what}: ${Math.round(result.requestsPerSecond)}/s, p99 ${result.p99Ms} ms`);
    return result;
  };
  const statusUrl = `${baseUrl}/api/v1/tasks/${taskIds[0]}/status`;
  const createUrl = `${baseUrl}/api/v1/tasks/create`;
  const warmup = Math.min(warmupSeconds, 2);
  for (const [url, script] of [[statusUrl, statusScript], [createUrl, createScript]]) {
    await runWrk({ url, connections, seconds: warmup, script, headers });
  }
  return {
    constant: constant ? await run("GET /healthz", `${baseUrl}/healthz`) : null,
    status: await run("GET status", statusUrl, statusScript),
    create: await run("POST create", createUrl, createScript),
  };
}
