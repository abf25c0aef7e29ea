/** Starting real agent processes (`deno run agent/main.ts`) for end-to-end tests. */
import { readLines } from "./server_process.ts";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url);

/** A running agent process. */
export interface AgentProcess {
  serverId: string;
  stateDir: string;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line with message `msg` (and matching `where`). */
  waitForLog(msg: string, where?: (line: Record<string, unknown>) => boolean): Promise<unknown>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode startAgent}. */
export interface StartAgentOptions {
  serverUrl: string;
  serverId: string;
  /** Keep the spool and task set here, e.g. to restart the same host. */
  stateDir: string;
  /** Extra environment, e.g. `TASKSCHEDULER_MAX_OUTPUT_BYTES`. */
  env?: Record<string, string>;
}

/**
 * Starts an agent process; it connects to `serverUrl` on its own.
 *
 * @example
 * ```ts
 * await using agent = await startAgent({ serverUrl, serverId: "host-a", stateDir });
 * ```
 */
export function startAgent(options: StartAgentOptions): AgentProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "agent/main.ts"],
    cwd: ROOT,
    env: {
      TASKSCHEDULER_SERVER_URL: options.serverUrl,
      TASKSCHEDULER_SERVER_ID: options.serverId,
      TASKSCHEDULER_STATE_DIR: options.stateDir,
      TASKSCHEDULER_LOG_LEVEL: "debug",
      TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "5",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: Record<string, unknown>[] = [];
  const reading = readLines(child.stderr, (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      // Not a log line.
    }
  });
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) child.kill(signal);
    const { code } = await status;
    await reading;
    return code;
  };
  return {
    serverId: options.serverId,
    stateDir: options.stateDir,
    logs,
    waitForLog: (msg, where = () => true) =>
      waitFor(() => {
        const line = logs.find((l) => l.msg === msg && where(l));
        if (!line && exited) throw new Error(`Agent ${options.serverId} exited`);
        return line;
      }, { timeoutMs: 30_000, what: `agent log "${msg}"` }),
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop("SIGKILL");
    },
  };
}
