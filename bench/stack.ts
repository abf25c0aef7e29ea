/**
 * What every benchmark stands on: the bearer token, the work directory, a throwaway
 * PostgreSQL, and the real server and agent processes.
 *
 * @module
 */
import { freePort, startTestDatabase, type TestDatabase } from "../tests/helpers/postgres.ts";
import type { BenchOptions } from "./options.ts";
import { type ChildProcess, spawnLogged } from "./process.ts";
import { waitUntil } from "./timing.ts";

/** What a benchmark is given. */
export interface BenchContext {
  options: BenchOptions;
  /**
   * The one bearer token of the run: the server gets it as `TASKSCHEDULER_API_TOKEN` (its
   * admin token), agents as `TASKSCHEDULER_AGENT_TOKEN`, and every request of the bench
   * sends it. A server without authentication ignores it.
   */
  token: string;
  /** A directory of the run's own: logs, agent state, load scripts. */
  workDir: string;
  /** Prints a progress line to stderr, with the seconds since the run started. */
  progress(message: string): void;
}

/**
 * Creates the context of a run: a fresh token and work directory.
 *
 * @example
 * ```ts
 * const ctx = await createContext(options);
 * ```
 */
export async function createContext(options: BenchOptions): Promise<BenchContext> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const workDir = await Deno.makeTempDir({ prefix: "taskscheduler-bench-" });
  const started = performance.now();
  return {
    options,
    token,
    workDir,
    progress(message) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
      console.error(`[${seconds} s] ${message}`);
    },
  };
}

/**
 * The headers that authenticate a request of the bench.
 *
 * @example
 * ```ts
 * await fetch(url, { headers: authHeaders(ctx) });
 * ```
 */
export function authHeaders(ctx: Pick<BenchContext, "token">): Record<string, string> {
  return { authorization: `Bearer ${ctx.token}` };
}

/**
 * Starts a throwaway PostgreSQL as the tests do (or a database inside `DATABASE_URL`).
 *
 * @throws {Error} when only PGlite is available: the figures are for real PostgreSQL
 */
export async function startBenchDatabase(): Promise<TestDatabase> {
  const db = await startTestDatabase({ startTimeout: 120_000 });
  if (db.kind === "pglite") {
    await db.close();
    throw new Error(
      "Cannot benchmark on real PostgreSQL: no initdb and postgres binaries found " +
        "(install postgresql-15) and DATABASE_URL is not set",
    );
  }
  return db;
}

/** A running server process. */
export interface BenchServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The agents' endpoint, e.g. `ws://127.0.0.1:41234/api/v1/agents/connect`. */
  wsUrl: string;
  process: ChildProcess;
}

/** Options for {@linkcode startBenchServer}. */
export interface StartBenchServerOptions {
  /** Names the log file. */
  name: string;
  /** PostgreSQL URL; without it the server uses the embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** The embedded database's directory. @default `<workDir>/<name>-data` */
  dataDir?: string;
  /** More flags for `deno run`, e.g. `--inspect=127.0.0.1:9229`. @default [] */
  denoFlags?: string[];
}

/**
 * Starts the real server (`deno run server/main.ts`) on a free loopback port, and resolves
 * once `/healthz` answers.
 *
 * @example
 * ```ts
 * await using server = await startBenchServer(ctx, { name: "ingest", databaseUrl: db.url });
 * ```
 */
export async function startBenchServer(
  ctx: BenchContext,
  options: StartBenchServerOptions,
): Promise<BenchServer> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnLogged(Deno.execPath(), [
    ...denoRun(ctx, `${options.name}-server`),
    ...(options.denoFlags ?? []),
    "server/main.ts",
  ], {
    logFile: `${ctx.workDir}/${options.name}-server.log`,
    env: {
      HOST: "127.0.0.1",
      PORT: String(port),
      // Empty means unset: the embedded database.
      DATABASE_URL: options.databaseUrl ?? "",
      TASKSCHEDULER_DATA_DIR: options.dataDir ?? `${ctx.workDir}/${options.name}-data`,
      TASKSCHEDULER_API_TOKEN: ctx.token,
      TASKSCHEDULER_LOG_LEVEL: ctx.options.logLevel,
    },
    stopGraceMs: ctx.options.profile ? PROFILED_STOP_GRACE_MS : undefined,
  });
  try {
    await waitUntil(async () => {
      if (child.exit) {
        throw new Error(
          `The server exited with code ${child.exit.code}:\n${await child.logTail()}`,
        );
      }
      try {
        const res = await fetch(`${url}/healthz`);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    }, { timeoutMs: 120_000, what: `the ${options.name} server to answer` });
  } catch (err) {
    await child.stop("SIGKILL");
    throw err;
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/api/v1/agents/connect`,
    process: child,
    [Symbol.asyncDispose]: async () => {
      await child.stop();
    },
  };
}

/** Options for {@linkcode startBenchAgent}. */
export interface StartBenchAgentOptions {
  /** Names the log file and the state directory. */
  name: string;
  serverUrl: string;
  serverId: string;
}

/**
 * Starts a real agent process (`deno run agent/main.ts`) with its state in the work directory
 * (on disk: its spool is fsync'd as in production).
 *
 * @example
 * ```ts
 * await using agent = startBenchAgent(ctx, { name: "lag", serverUrl, serverId: "bench-1" });
 * ```
 */
export function startBenchAgent(ctx: BenchContext, options: StartBenchAgentOptions): ChildProcess {
  return spawnLogged(Deno.execPath(), [...denoRun(ctx, `${options.name}-agent`), "agent/main.ts"], {
    logFile: `${ctx.workDir}/${options.name}-agent.log`,
    env: {
      TASKSCHEDULER_SERVER_URL: options.serverUrl,
      TASKSCHEDULER_SERVER_ID: options.serverId,
      TASKSCHEDULER_STATE_DIR: `${ctx.workDir}/${options.name}-agent-state`,
      TASKSCHEDULER_AGENT_TOKEN: ctx.token,
      TASKSCHEDULER_LOG_LEVEL: ctx.options.logLevel,
      TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "5",
    },
    stopGraceMs: ctx.options.profile ? PROFILED_STOP_GRACE_MS : undefined,
  });
}

/** A profiled process writes its profile on exit: give a busy one time to get there. */
const PROFILED_STOP_GRACE_MS = 60_000;

/** `deno run` with its flags: with `--profile`, a CPU profile written on exit. */
function denoRun(ctx: BenchContext, name: string): string[] {
  const args = ["run", "--allow-all"];
  if (ctx.options.profile) {
    args.push("--cpu-prof", `--cpu-prof-dir=${ctx.workDir}/profiles/${name}`);
  }
  return args;
}

/**
 * Creates `count` tasks through the API, `concurrency` requests at a time, and returns their
 * ids in creation order.
 *
 * @example
 * ```ts
 * const ids = await createTasks(ctx, server.url, 1000, { command: "true", frequency: "* * * * * *" });
 * ```
 */
export async function createTasks(
  ctx: BenchContext,
  baseUrl: string,
  count: number,
  task: { command: string; frequency: string },
  concurrency = 16,
): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      ids[i] = await createTask(ctx, baseUrl, task);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return ids;
}

/**
 * Creates one task through the API and returns its id.
 *
 * @throws {Error} unless the server answers 201
 */
export async function createTask(
  ctx: BenchContext,
  baseUrl: string,
  task: { command: string; frequency: string },
): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/tasks/create`, {
    method: "POST",
    headers: { "content-type": "application/json", ...authHeaders(ctx) },
    body: JSON.stringify(task),
  });
  const body = await res.json();
  if (res.status !== 201) {
    throw new Error(`Cannot create a task: the server answered ${res.status}: ${body.error}`);
  }
  return body.command_id;
}
