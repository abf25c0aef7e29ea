/**
 * Where the server's memory per connected agent goes: RSS, its anonymous part, and the V8
 * heap (read through the inspector), before and after a full garbage collection, with no
 * agents and at each number of simulated agents. A diagnostic for benchmark 7, not part of
 * `deno task bench`.
 *
 * ```sh
 * deno run --allow-all bench/memory_breakdown.ts --agents 100,1000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort } from "../tests/helpers/postgres.ts";
import { parseBenchOptions } from "./options.ts";
import { closeAll, connectSimAgents, type SimAgent } from "./sim_agent.ts";
import { createContext, startBenchDatabase, startBenchServer } from "./stack.ts";
import { sleep, withTimeout } from "./timing.ts";

/** Memory of a process at one moment, in KiB. */
interface Reading {
  rss: number;
  anonymous: number;
  heapUsed: number;
  heapTotal: number;
}

const { values } = parseArgs({ args: Deno.args, options: { agents: { type: "string" } } });
const levels = (values.agents ?? "100,1000").split(",").map(Number);
const ctx = await createContext(parseBenchOptions(["--log-level", "warn"]));
const inspectorPort = freePort();
try {
  await using db = await startBenchDatabase();
  await using server = await startBenchServer(ctx, {
    name: "memory-breakdown",
    databaseUrl: db.url,
    denoFlags: [`--inspect=127.0.0.1:${inspectorPort}`],
  });
  const inspector = await connectInspector(inspectorPort);
  const agents: SimAgent[] = [];
  try {
    const rows: [string, Reading, Reading][] = [];
    const read = async (label: string) => {
      await sleep(2000);
      const before = await reading(server.process.pid, inspector);
      await inspector.call("HeapProfiler.collectGarbage");
      await sleep(500);
      rows.push([label, before, await reading(server.process.pid, inspector)]);
    };
    await read("no agents");
    for (const count of levels) {
      agents.push(
        ...await connectSimAgents(count - agents.length, {
          url: server.wsUrl,
          token: ctx.token,
          prefix: "breakdown",
          first: agents.length + 1,
        }),
      );
      await read(`${count} agents`);
    }
    console.log(
      "KiB | RSS | anonymous | V8 heap used | V8 heap total | after a full GC: RSS | anonymous | heap used | heap total",
    );
    for (const [label, a, b] of rows) {
      console.log(
        [
          label,
          a.rss,
          a.anonymous,
          a.heapUsed,
          a.heapTotal,
          b.rss,
          b.anonymous,
          b.heapUsed,
          b.heapTotal,
        ]
          .join(" | "),
      );
    }
    const [first, last] = [rows[1], rows[rows.length - 1]];
    const agentsAdded = levels[levels.length - 1] - levels[0];
    if (agentsAdded > 0) {
      const per = (pick: (r: Reading) => number, i: 1 | 2) =>
        ((pick(last[i]) - pick(first[i])) / agentsAdded).toFixed(1);
      console.log(
        `per agent from ${levels[0]} to ${levels[levels.length - 1]}: RSS ${
          per((r) => r.rss, 1)
        } KiB, ` +
          `after GC: RSS ${per((r) => r.rss, 2)}, anonymous ${per((r) => r.anonymous, 2)}, ` +
          `V8 heap used ${per((r) => r.heapUsed, 2)}`,
      );
    }
  } finally {
    await closeAll(agents);
    inspector.close();
  }
} finally {
  await Deno.remove(ctx.workDir, { recursive: true });
}

/** A Chrome DevTools Protocol session with the server's inspector. */
interface Inspector {
  // deno-lint-ignore no-explicit-any
  call(method: string): Promise<any>;
  close(): void;
}

async function connectInspector(port: number): Promise<Inspector> {
  const [{ webSocketDebuggerUrl }] = await (await fetch(`http://127.0.0.1:${port}/json/list`))
    .json();
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("Cannot connect to the server's inspector"));
  });
  // deno-lint-ignore no-explicit-any
  const pending = new Map<number, (result: any) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  };
  let id = 0;
  return {
    call(method) {
      const result = new Promise((resolve) => pending.set(++id, resolve));
      ws.send(JSON.stringify({ id, method }));
      return withTimeout(result, 30_000, `the inspector to answer ${method}`);
    },
    close: () => ws.close(),
  };
}

async function reading(pid: number, inspector: Inspector): Promise<Reading> {
  const rollup = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1]);
  const heap = await inspector.call("Runtime.getHeapUsage");
  return {
    rss: kib("Rss"),
    anonymous: kib("Anonymous"),
    heapUsed: Math.round(heap.usedSize / 1024),
    heapTotal: Math.round(heap.totalSize / 1024),
  };
}
