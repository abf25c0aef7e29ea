/**
 * HTTP load with `wrk` (Debian's `wrk` package), installed by the bench when it is missing.
 *
 * @module
 */
import { runToEnd } from "./process.ts";

/** What one wrk run measured. */
export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 2xx or 3xx. */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
}

/** Options for {@linkcode runWrk}. */
export interface WrkOptions {
  /** The URL of the first request (the script may send others). */
  url: string;
  connections: number;
  seconds: number;
  /** @default 2 */
  threads?: number;
  /** A Lua script shaping the requests. */
  script?: string;
  headers?: Record<string, string>;
}

/**
 * Makes sure `wrk` can run: as root it is installed with apt-get when missing.
 *
 * @returns its version line
 * @throws {Error} when it is missing and cannot be installed
 */
export async function ensureWrk(progress: (message: string) => void): Promise<string> {
  const found = await wrkVersion();
  if (found) return found;
  if (Deno.uid() !== 0 || !(await onPath("apt-get"))) {
    throw new Error(
      "Cannot generate HTTP load: wrk is not installed. Install it (Debian: " +
        "'apt-get install wrk'), or run the bench as root to let it install wrk itself",
    );
  }
  progress("Installing wrk with apt-get");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["install", "-y", "-q", "--no-install-recommends", "wrk"];
  try {
    await runToEnd("apt-get", install, { env });
  } catch {
    await runToEnd("apt-get", ["update", "-q"], { env });
    await runToEnd("apt-get", install, { env });
  }
  const installed = await wrkVersion();
  if (!installed) throw new Error("Cannot run wrk even after installing it with apt-get");
  return installed;
}

/**
 * Runs wrk once and parses its report (`--latency` for the percentiles).
 *
 * @example
 * ```ts
 * const result = await runWrk({ url: `${server.url}/healthz`, connections: 64, seconds: 10 });
 * result.requestsPerSecond; // 41234.5
 * ```
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const { url, connections, seconds, threads = 2, script, headers = {} } = options;
  const args = [
    `-t${Math.min(threads, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "--latency",
  ];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  if (script) args.push("-s", script);
  args.push(url);
  return parseWrkReport(await runToEnd("wrk", args));
}

/**
 * Parses wrk's text report.
 *
 * @throws {Error} when a line the figures need is missing
 */
export function parseWrkReport(report: string): WrkResult {
  const number = (pattern: RegExp, what: string) => {
    const match = pattern.exec(report);
    if (!match) throw new Error(`Cannot read ${what} from wrk's report:\n${report}`);
    return match;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    report,
  );
  return {
    requestsPerSecond: Number(number(/Requests\/sec:\s+([\d.]+)/, "requests/s")[1]),
    requests: Number(number(/(\d+) requests in/, "the request count")[1]),
    p50Ms: duration(number(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m, "p50")),
    p99Ms: duration(number(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m, "p99")),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/**
 * Writes a Lua script that sends `GET /api/v1/tasks/<id>/status` for ids drawn at random.
 *
 * @example
 * ```ts
 * await writeStatusScript(`${dir}/status.lua`, taskIds);
 * ```
 */
export async function writeStatusScript(path: string, taskIds: readonly string[]): Promise<void> {
  const ids = taskIds.map((id) => `"${id}"`).join(",\n");
  await Deno.writeTextFile(
    path,
    `local ids = {
${ids}
}
local n = #ids
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(seed)
end

function request()
  return wrk.format("GET", "/api/v1/tasks/" .. ids[math.random(n)] .. "/status")
end
`,
  );
}

/**
 * Writes a Lua script that sends `POST /api/v1/tasks/create` with `body`.
 *
 * @example
 * ```ts
 * await writeCreateScript(`${dir}/create.lua`, { command: "true", frequency: "0 0 1 1 *" });
 * ```
 */
export async function writeCreateScript(path: string, body: unknown): Promise<void> {
  await Deno.writeTextFile(
    path,
    `wrk.method = "POST"
wrk.body = ${JSON.stringify(JSON.stringify(body))}
wrk.headers["Content-Type"] = "application/json"
`,
  );
}

const TO_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function duration(match: RegExpExecArray): number {
  return Number(match[1]) * TO_MS[match[2]];
}

async function wrkVersion(): Promise<string | null> {
  try {
    // wrk prints its version and usage, then exits with 1.
    const out = await runToEnd("wrk", ["--version"], { allowFailure: true });
    return out.split("\n")[0].trim() || "wrk";
  } catch {
    return null;
  }
}

async function onPath(program: string): Promise<boolean> {
  try {
    await runToEnd("sh", ["-c", `command -v ${program}`]);
    return true;
  } catch {
    return false;
  }
}
