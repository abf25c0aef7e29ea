/** Starting the real server (`deno run server/main.ts`) as a child process for tests. */
import { generateToken } from "../../server/tokens.ts";
import { startLoggedProcess } from "./logged_process.ts";
import { waitFor } from "./wait.ts";

/** A running server process. */
export interface ServerProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234` (`https://` with TLS). */
  url: string;
  /** The admin token given as `TASKSCHEDULER_API_TOKEN`; undefined when none was. */
  token?: string;
  /** `{authorization: "Bearer <token>"}` for fetch, empty without a token. */
  auth: Record<string, string>;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode startServer}. */
export interface StartServerOptions {
  /** Environment for the server; PORT defaults to 0 (a free port) and HOST to loopback. */
  env?: Record<string, string>;
  /** Fixed port, e.g. to restart on the same address. */
  port?: number;
  /**
   * The admin token passed as `TASKSCHEDULER_API_TOKEN`; null passes none, so the server
   * creates its first admin token. @default a fresh token, unless `env` sets one
   */
  apiToken?: string | null;
}

/**
 * Starts the server and resolves once it logs that it listens.
 *
 * @example
 * ```ts
 * await using server = await startServer({ env: { DATABASE_URL: db.url } });
 * await fetch(`${server.url}/api/v1/tasks/${id}/status`, { headers: server.auth });
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const token = options.apiToken === null
    ? undefined
    : options.apiToken ?? options.env?.TASKSCHEDULER_API_TOKEN ?? generateToken();
  const child = startLoggedProcess("server/main.ts", {
    HOST: "127.0.0.1",
    PORT: String(options.port ?? 0),
    TASKSCHEDULER_LOG_LEVEL: "debug",
    ...options.env,
    ...(token ? { TASKSCHEDULER_API_TOKEN: token } : {}),
  });
  try {
    const listening = await waitFor(() => {
      if (child.exited()) throw new Error(`Server exited early:\n${child.output.join("\n")}`);
      return child.logs.find((l) => l.msg === "Listening");
    }, { timeoutMs: 60_000, what: "the server to listen" });
    return {
      url: String(listening.url),
      token,
      auth: token ? { authorization: `Bearer ${token}` } : {},
      logs: child.logs,
      stop: child.stop,
      async [Symbol.asyncDispose]() {
        await child.stop("SIGKILL");
      },
    };
  } catch (err) {
    await child.stop("SIGKILL");
    throw err;
  }
}
