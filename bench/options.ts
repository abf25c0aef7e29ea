/**
 * The bench's one typed set of options, resolved once from the command line.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Every size and duration of a run; see {@linkcode BENCH_USAGE}. */
export interface BenchOptions {
  /** The benchmarks to run, by their number in issue 6. */
  only: number[];
  /** Where the results are written. */
  out: string;
  /** Seconds of load before measuring starts. */
  warmupSeconds: number;
  /** Tasks firing every second on the one real agent (benchmarks 1 and 2). */
  agentTasks: number;
  /** Tasks firing every second on the one real agent of benchmark 2, step by step, ascending. */
  throughputSteps: number[];
  /** Seconds over which schedule lag and throughput are measured. */
  agentSeconds: number;
  /** Results the simulated agents send (benchmark 3). */
  ingestResults: number;
  /** Simulated agents sending them. */
  ingestAgents: number;
  /** Results each simulated agent keeps unacknowledged at most. */
  ingestWindow: number;
  /** Rows per statement of the direct-insert baseline. */
  ingestBatch: number;
  /** Connected agents at which fan-out is measured (benchmark 4), ascending. */
  fanoutAgents: number[];
  /** Tasks created per fan-out measurement. */
  fanoutCreates: number;
  /** Tasks in the database for the API figures (benchmarks 5, 6, 8). */
  apiTasks: number;
  /** Executions in the database for the API figures on PostgreSQL. */
  apiExecutions: number;
  /** Executions in the embedded PGlite database (benchmark 8). */
  pgliteExecutions: number;
  /** Concurrent HTTP connections of the load generator. */
  apiConnections: number;
  /** Seconds of each HTTP load run. */
  apiSeconds: number;
  /** Tasks the idle agent holds (benchmark 7). */
  memoryTasks: number;
  /** Seconds a process is left alone before its memory is read. */
  settleSeconds: number;
  /** Log level of the server and agent processes. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** Keep the work directory (logs, agent state) after the run. */
  keep: boolean;
  /** Write V8 CPU profiles of the server and agent processes into the work directory. */
  profile: boolean;
}

/** How to run the bench; printed for `--help`. */
export const BENCH_USAGE = `Usage: deno task bench [flags]

  --quick                   tiny sizes, for a smoke run (about half a minute)
  --only 1,3,5              run only these benchmarks (1-8)
  --out FILE                where to write the results (default: bench/results.json)
  --warmup-seconds S        load before measuring (default: 5)
  --agent-tasks N           tasks firing every second on one agent, 1 (default: 1000)
  --throughput-steps N,N    the same for 2, one step after another until the agent falls
                            behind (default: 125,250,500,1000,2000)
  --agent-seconds S         measuring window of 1 and 2 (default: 20)
  --ingest-results N        results sent by simulated agents, 3 (default: 100000)
  --ingest-agents N         simulated agents sending them (default: 50)
  --ingest-window N         unacknowledged results per agent at most (default: 100)
  --ingest-batch N          rows per insert of the direct baseline (default: 1000)
  --fanout-agents N,N       connected agents, 4 (default: 100,1000)
  --fanout-creates N        tasks created per measurement (default: 20)
  --api-tasks N             tasks in the database, 5 6 8 (default: 10000)
  --api-executions N        executions in PostgreSQL, 5 6 (default: 1000000)
  --pglite-executions N     executions in PGlite, 8 (default: 1000000)
  --api-connections N       HTTP connections of the load generator (default: 64)
  --api-seconds S           seconds per HTTP load run (default: 10)
  --memory-tasks N          tasks held by the idle agent, 7 (default: 1000)
  --settle-seconds S        quiet time before memory is read (default: 3)
  --log-level LEVEL         of the server and agents: debug, info, warn, error (default: info)
  --keep                    keep the work directory (logs, agent state)
  --profile                 write CPU profiles of the server and agent processes into
                            <work directory>/profiles (implies --keep); summarise one
                            with: deno run --allow-read bench/profile_summary.ts FILE
  --help                    print this text`;

const DEFAULTS: BenchOptions = {
  only: [1, 2, 3, 4, 5, 6, 7, 8],
  out: "bench/results.json",
  warmupSeconds: 5,
  agentTasks: 1000,
  throughputSteps: [125, 250, 500, 1000, 2000],
  agentSeconds: 20,
  ingestResults: 100_000,
  ingestAgents: 50,
  ingestWindow: 100,
  ingestBatch: 1000,
  fanoutAgents: [100, 1000],
  fanoutCreates: 20,
  apiTasks: 10_000,
  apiExecutions: 1_000_000,
  pgliteExecutions: 1_000_000,
  apiConnections: 64,
  apiSeconds: 10,
  memoryTasks: 1000,
  settleSeconds: 3,
  logLevel: "info",
  keep: false,
  profile: false,
};

/** The sizes of `--quick`: every figure, in seconds rather than minutes. */
const QUICK: Partial<BenchOptions> = {
  warmupSeconds: 1,
  agentTasks: 20,
  throughputSteps: [10, 20],
  agentSeconds: 2,
  ingestResults: 2_000,
  ingestAgents: 4,
  ingestWindow: 50,
  ingestBatch: 500,
  fanoutAgents: [5, 10],
  fanoutCreates: 3,
  apiTasks: 100,
  apiExecutions: 10_000,
  pgliteExecutions: 10_000,
  apiConnections: 8,
  apiSeconds: 1,
  memoryTasks: 20,
  settleSeconds: 0.5,
};

const COUNTS = {
  "agent-tasks": "agentTasks",
  "ingest-results": "ingestResults",
  "ingest-agents": "ingestAgents",
  "ingest-window": "ingestWindow",
  "ingest-batch": "ingestBatch",
  "fanout-creates": "fanoutCreates",
  "api-tasks": "apiTasks",
  "api-executions": "apiExecutions",
  "pglite-executions": "pgliteExecutions",
  "api-connections": "apiConnections",
  "memory-tasks": "memoryTasks",
} as const;

const SECONDS = {
  "warmup-seconds": "warmupSeconds",
  "agent-seconds": "agentSeconds",
  "api-seconds": "apiSeconds",
  "settle-seconds": "settleSeconds",
} as const;

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * Resolves the options from command-line arguments: defaults, then `--quick`'s sizes, then
 * each flag given.
 *
 * @example
 * ```ts
 * const options = parseBenchOptions(["--quick", "--only", "3"]);
 * options.ingestResults; // 2000
 * ```
 * @throws {TypeError} naming the flag whose value is bad
 */
export function parseBenchOptions(args: string[]): BenchOptions {
  const flags = [...Object.keys(COUNTS), ...Object.keys(SECONDS)];
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...Object.fromEntries(flags.map((flag) => [flag, { type: "string" as const }])),
      quick: { type: "boolean" },
      only: { type: "string" },
      out: { type: "string" },
      "fanout-agents": { type: "string" },
      "throughput-steps": { type: "string" },
      "log-level": { type: "string" },
      keep: { type: "boolean" },
      profile: { type: "boolean" },
    },
  });
  const raw = values as Record<string, string | boolean | undefined>;
  const options: BenchOptions = { ...DEFAULTS, ...(raw.quick ? QUICK : {}) };
  for (const [flag, key] of Object.entries(COUNTS)) {
    const value = raw[flag];
    if (typeof value === "string") options[key] = positiveInteger(flag, value);
  }
  for (const [flag, key] of Object.entries(SECONDS)) {
    const value = raw[flag];
    if (typeof value === "string") options[key] = positiveNumber(flag, value);
  }
  if (typeof raw.only === "string") {
    options.only = integerList("only", raw.only);
    const unknown = options.only.find((n) => n < 1 || n > 8);
    if (unknown !== undefined) {
      throw new TypeError(`Cannot run --only ${raw.only} as benchmarks are 1 to 8: ${unknown}`);
    }
  }
  if (typeof raw["fanout-agents"] === "string") {
    options.fanoutAgents = integerList("fanout-agents", raw["fanout-agents"]);
  }
  options.fanoutAgents = [...new Set(options.fanoutAgents)].sort((a, b) => a - b);
  if (typeof raw["throughput-steps"] === "string") {
    options.throughputSteps = integerList("throughput-steps", raw["throughput-steps"]);
  }
  options.throughputSteps = [...new Set(options.throughputSteps)].sort((a, b) => a - b);
  if (typeof raw.out === "string") options.out = raw.out;
  if (typeof raw["log-level"] === "string") {
    const level = raw["log-level"];
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new TypeError(
        `Invalid --log-level as it must be one of ${
          LOG_LEVELS.join(", ")
        }: current value is ${level}`,
      );
    }
    options.logLevel = level as BenchOptions["logLevel"];
  }
  options.profile = raw.profile === true;
  options.keep = raw.keep === true || options.profile;
  return options;
}

/** Tells whether `args` ask for the usage text. */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new TypeError(
      `Invalid --${flag} as it must be a positive integer: current value is ${value}`,
    );
  }
  return n;
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new TypeError(
      `Invalid --${flag} as it must be a positive number: current value is ${value}`,
    );
  }
  return n;
}

function integerList(flag: string, value: string): number[] {
  return value.split(",").map((part) => positiveInteger(flag, part.trim()));
}
