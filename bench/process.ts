/**
 * Child processes of the bench: their output goes to a log file (a pipe the bench is too busy
 * to drain would block them), and their memory is read from `/proc`.
 *
 * @module
 */

/** A running child process whose stdout and stderr go to `logFile`. */
export interface ChildProcess extends AsyncDisposable {
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  readonly exit: Deno.CommandStatus | null;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /**
   * Sends `signal` (SIGTERM by default), waits up to the stop grace, then SIGKILLs;
   * idempotent. Disposing stops with SIGTERM, so that a profiled process writes its profile.
   */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** The last `chars` characters of the log, for error messages. */
  logTail(chars?: number): Promise<string>;
}

/** Options for {@linkcode spawnLogged}. */
export interface SpawnLoggedOptions {
  /** Variables added to the bench's environment. */
  env?: Record<string, string>;
  /** @default the repository root */
  cwd?: string | URL;
  /** Where stdout and stderr are appended. */
  logFile: string;
  /** How long `stop` waits after its signal before SIGKILL. @default 10_000 */
  stopGraceMs?: number;
}

/** The repository root. */
export const ROOT = new URL("../", import.meta.url);

/**
 * Starts `program` with `args`, its output appended to `options.logFile` (through `sh`, which
 * execs it, so the pid is the program's own).
 *
 * @example
 * ```ts
 * await using child = spawnLogged(Deno.execPath(), ["run", "idle.ts"], { logFile: "/tmp/idle.log" });
 * console.log(await readRssKiB(child.pid));
 * ```
 */
export function spawnLogged(
  program: string,
  args: string[],
  options: SpawnLoggedOptions,
): ChildProcess {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'log="$1"; shift; exec "$@" >>"$log" 2>&1',
      "sh",
      options.logFile,
      program,
      ...args,
    ],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exit: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => exit = s);
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopping ??= (async () => {
      if (exit) return exit;
      kill(child, signal);
      const timer = setTimeout(() => kill(child, "SIGKILL"), options.stopGraceMs ?? 10_000);
      try {
        return await status;
      } finally {
        clearTimeout(timer);
      }
    })();
  return {
    pid: child.pid,
    logFile: options.logFile,
    get exit() {
      return exit;
    },
    status,
    stop,
    logTail: (chars = 3000) => readTail(options.logFile, chars),
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

/**
 * A process's resident memory in KiB, from `VmRSS` in `/proc/<pid>/status`.
 *
 * @example
 * ```ts
 * await readRssKiB(Deno.pid); // 48212
 * ```
 * @throws {Error} when the process is gone or the line is missing
 */
export async function readRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`Cannot read the memory of process ${pid}: no VmRSS line`);
  return Number(match[1]);
}

/**
 * Runs a command to completion and returns its stdout; throws with its output when it fails.
 *
 * @example
 * ```ts
 * const version = await runToEnd("wrk", ["--version"], { allowFailure: true });
 * ```
 */
export async function runToEnd(
  program: string,
  args: string[],
  options: { allowFailure?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await new Deno.Command(program, {
    args,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  if (!out.success && !options.allowFailure) {
    const stderr = decoder.decode(out.stderr);
    throw new Error(
      `Cannot run ${program} ${args.join(" ")}: exit code ${out.code}\n${stdout}${stderr}`.trim(),
    );
  }
  return stdout;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // It exited in the meantime.
  }
}

async function readTail(path: string, chars: number): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).slice(-chars);
  } catch {
    return "(no log)";
  }
}
