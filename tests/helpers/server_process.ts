/** Starting the real server (`deno run server/main.ts`) as a child process for tests. */
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url);

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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "server/main.ts"],
    cwd: ROOT,
    env: {
      HOST: "127.0.0.1",
      PORT: String(options.port ?? 0),
      TASKSCHEDULER_LOG_LEVEL: "debug",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: Record<string, unknown>[] = [];
  const output: string[] = [];
  const reading = readLines(child.stderr, (line) => {
    output.push(line);
    try {
      logs.push(JSON.parse(line));
    } catch {
      // Not a log line (e.g. Deno's own download messages).
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
  try {
    const listening = await waitFor(() => {
      if (exited) throw new Error(`Server exited early:\n${output.join("\n")}`);
      return logs.find((l) => l.msg === "Listening");
    }, { timeoutMs: 60_000, what: "the server to listen" });
    return {
      url: String(listening.url),
      logs,
      stop,
      async [Symbol.asyncDispose]() {
        await stop("SIGKILL");
      },
    };
  } catch (err) {
    await stop("SIGKILL");
    throw err;
  }
}

/** Calls `onLine` for every line of a byte stream until it ends. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    parts.forEach(onLine);
  }
  if (rest) onLine(rest);
}
