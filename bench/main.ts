/**
 * `deno task bench`: starts what it needs (a throwaway PostgreSQL, the real server, real and
 * simulated agents), runs the benchmarks of issue 6 each next to a baseline measured in the
 * same run, prints the table and writes the results file. Benchmarks assert nothing.
 *
 * ```sh
 * deno task bench            # the default sizes, a few minutes on 2 cores
 * deno task bench --quick    # tiny sizes
 * deno task bench --only 3 --ingest-results 50000
 * ```
 *
 * @module
 */
import { dirname } from "node:path";
import { benchAgentThroughput, benchScheduleLag } from "./agent_load.ts";
import { type ApiLoad, benchApiPglite, benchApiPostgres } from "./api.ts";
import { benchFanout, type ServerMemory } from "./fanout.ts";
import { type Figure, formatTable } from "./figures.ts";
import { benchIngest } from "./ingest.ts";
import { describeMachine, openFilesLimit } from "./machine.ts";
import { benchMemory } from "./memory.ts";
import { BENCH_USAGE, type BenchOptions, parseBenchOptions, wantsHelp } from "./options.ts";
import type { BenchOutcome } from "./outcome.ts";
import { type BenchContext, createContext } from "./stack.ts";
import { ensureWrk } from "./wrk.ts";

/** One step of a run: the benchmarks it serves and how it runs. */
interface Step {
  /** Names the step's details in the results file. */
  name: string;
  serves: number[];
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

/**
 * Runs the bench with `args`; resolves with the exit code: 0 when every selected benchmark
 * produced its figures, 1 when one failed, 2 for bad flags.
 */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(BENCH_USAGE);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseBenchOptions(args);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  const wanted = (...numbers: number[]) => numbers.some((n) => options.only.includes(n));
  await checkOpenFiles(options);
  const ctx = await createContext(options);
  const startedAt = new Date();
  const wrk = wanted(5, 6, 8) ? await ensureWrk(ctx.progress) : null;
  const machine = await describeMachine(wrk);
  ctx.progress(
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryMiB} MiB, load ${machine.loadAverage}; ` +
      `work directory ${ctx.workDir}`,
  );

  let serverMemory: { server: ServerMemory; bare: ServerMemory } | null = null;
  let postgresLoad: ApiLoad | null = null;
  const steps: Step[] = [
    { name: "schedule_lag", serves: [1], run: benchScheduleLag },
    { name: "agent_throughput", serves: [2], run: benchAgentThroughput },
    { name: "ingest", serves: [3], run: benchIngest },
    {
      name: "fanout",
      serves: [4, 7],
      run: async (ctx) => {
        const outcome = await benchFanout(ctx);
        serverMemory = { server: outcome.memory, bare: outcome.bareMemory };
        return outcome;
      },
    },
    {
      name: "api_postgres",
      serves: [5, 6, 8],
      run: async (ctx) => {
        const outcome = await benchApiPostgres(ctx);
        postgresLoad = outcome.load;
        return outcome;
      },
    },
    { name: "memory", serves: [7], run: (ctx) => benchMemory(ctx, serverMemory) },
    { name: "api_pglite", serves: [8], run: (ctx) => benchApiPglite(ctx, postgresLoad) },
  ];

  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const notes: string[] = [];
  const errors: string[] = [];
  for (const step of steps) {
    if (!wanted(...step.serves)) continue;
    try {
      const outcome = await step.run(ctx);
      figures.push(...outcome.figures.filter((f) => options.only.includes(f.bench)));
      details[step.name] = outcome.details;
      notes.push(...outcome.notes);
    } catch (err) {
      const message = `${step.serves.join(", ")}: ${(err as Error).stack ?? err}`;
      errors.push(message);
      ctx.progress(`failed: ${message}`);
    }
  }
  figures.sort((a, b) => a.bench - b.bench);

  console.log(formatTable(figures));
  for (const note of notes) console.log(note);
  const results = {
    started_at: startedAt.toISOString(),
    load_average_after: (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine,
    options,
    figures,
    details,
    notes,
    errors,
  };
  await Deno.mkdir(dirname(options.out), { recursive: true });
  await Deno.writeTextFile(options.out, JSON.stringify(results, null, 2) + "\n");
  console.log(`Results written to ${options.out}`);
  if (options.keep || errors.length > 0) {
    console.error(`Logs and agent state kept in ${ctx.workDir}`);
  } else {
    await Deno.remove(ctx.workDir, { recursive: true });
  }
  if (errors.length > 0) {
    console.error(`bench: ${errors.length} benchmark step(s) failed`);
    return 1;
  }
  return 0;
}

/** Many WebSockets need many file descriptors; say so before starting rather than midway. */
async function checkOpenFiles(options: BenchOptions): Promise<void> {
  const needed = 2 * Math.max(...options.fanoutAgents, options.ingestAgents) + 256;
  const limit = await openFilesLimit();
  if (limit < needed) {
    throw new Error(
      `Cannot connect ${Math.max(...options.fanoutAgents)} agents as the open files limit is ` +
        `too low: current value is ${limit}, at least ${needed} is needed (raise it with ulimit -n)`,
    );
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
