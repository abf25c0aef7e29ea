/** A child `deno run` process whose JSON log lines (stderr) are collected as they come. */
export interface LoggedProcess {
  /** Every JSON log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** Every stderr line so far, JSON or not. */
  output: string[];
  /** Whether the process has exited. */
  exited(): boolean;
  /** Sends `signal` unless the process has exited, then waits for its exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

const ROOT = new URL("../../", import.meta.url);

/**
 * Runs `deno run --allow-all <script>` from the repository root with `env`.
 *
 * @example
 * ```ts
 * const server = startLoggedProcess("server/main.ts", { PORT: "0" });
 * ```
 */
export function startLoggedProcess(script: string, env: Record<string, string>): LoggedProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script],
    cwd: ROOT,
    env,
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
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  return {
    logs,
    output,
    exited: () => done,
    async stop(signal = "SIGTERM") {
      if (!done) child.kill(signal);
      const { code } = await status;
      await reading;
      return code;
    },
  };
}

/** Calls `onLine` for every line of a byte stream until it ends. */
async function readLines(
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
