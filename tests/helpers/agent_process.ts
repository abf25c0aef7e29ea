/** Starting real agent processes (`deno run agent/main.ts`) for end-to-end tests. */
import { startLoggedProcess } from "./logged_process.ts";
import { waitFor } from "./wait.ts";

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
  /** The agent token, passed as `TASKSCHEDULER_AGENT_TOKEN`; absent, none. */
  token?: string;
  /** Extra environment, e.g. `TASKSCHEDULER_MAX_OUTPUT_BYTES`. */
  env?: Record<string, string>;
}

/**
 * Starts an agent process; it connects to `serverUrl` on its own.
 *
 * @example
 * ```ts
 * await using agent = startAgent({ serverUrl, serverId: "host-a", stateDir });
 * ```
 */
export function startAgent(options: StartAgentOptions): AgentProcess {
  const child = startLoggedProcess("agent/main.ts", {
    TASKSCHEDULER_SERVER_URL: options.serverUrl,
    TASKSCHEDULER_SERVER_ID: options.serverId,
    TASKSCHEDULER_STATE_DIR: options.stateDir,
    TASKSCHEDULER_LOG_LEVEL: "debug",
    TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "5",
    ...(options.token ? { TASKSCHEDULER_AGENT_TOKEN: options.token } : {}),
    ...options.env,
  });
  return {
    serverId: options.serverId,
    stateDir: options.stateDir,
    logs: child.logs,
    waitForLog: (msg, where = () => true) =>
      waitFor(() => {
        const line = child.logs.find((l) => l.msg === msg && where(l));
        if (!line && child.exited()) throw new Error(`Agent ${options.serverId} exited`);
        return line;
      }, { timeoutMs: 30_000, what: `agent log "${msg}"` }),
    stop: child.stop,
    [Symbol.asyncDispose]: async () => {
      await child.stop("SIGKILL");
    },
  };
}
