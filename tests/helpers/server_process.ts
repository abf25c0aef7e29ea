/** Starting the real server (`deno run server/main.ts`) as a child process for tests. */
import { startLoggedProcess } from "./logged_process.ts";
import { waitFor } from "./wait.ts";

/** A running server process. */
export interface ServerProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
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
}

/**
 * Starts the server and resolves once it logs that it listens.
 *
 * @example
 * ```ts
 * await using server = await startServer({ env: { DATABASE_URL: db.url } });
 * await fetch(`${server.url}/healthz`);
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const child = startLoggedProcess("server/main.ts", {
    HOST: "127.0.0.1",
    PORT: String(options.port ?? 0),
    TASKSCHEDULER_LOG_LEVEL: "debug",
    ...options.env,
  });
  try {
    const listening = await waitFor(() => {
      if (child.exited()) throw new Error(`Server exited early:\n${child.output.join("\n")}`);
      return child.logs.find((l) => l.msg === "Listening");
    }, { timeoutMs: 60_000, what: "the server to listen" });
    return {
      url: String(listening.url),
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
