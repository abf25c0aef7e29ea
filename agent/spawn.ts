/**
 * Starting child processes, behind an interface the runner can be given in tests.
 *
 * @module
 */

/** How a child ended: its exit code, and the signal that killed it if one did. */
export interface ChildExit {
  code: number;
  signal: Deno.Signal | null;
}

/** A started child process with piped stdout and stderr. */
export interface ChildProcess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Settles when the child itself exits (its descendants may live on). */
  readonly status: Promise<ChildExit>;
  /** Sends `signal` to the child's whole process group; a group already gone is ignored. */
  killGroup(signal: Deno.Signal): void;
}

/** Options for one {@linkcode Spawn} call. */
export interface SpawnOptions {
  /** Variables added to the agent's own environment. */
  env: Record<string, string>;
}

/** Starts `program` with `args`; throws when it cannot be started. */
export type Spawn = (program: string, args: string[], options: SpawnOptions) => ChildProcess;

/**
 * Starts a child in a session (and so a process group) of its own, so that signalling the
 * group also reaches whatever the child started. stdin is `/dev/null`.
 *
 * Where util-linux's `setsid` exists the child is started through it: Deno then spawns with
 * `posix_spawn`, whose cost does not grow with the agent's memory. `detached: true` makes the
 * same session, but through `fork()`, which copies the agent's page tables on every start:
 * several times slower, and the main thread waits for it.
 *
 * @example
 * ```ts
 * const child = spawnProcessGroup("/bin/sh", ["-c", "sleep 100"], { env: {} });
 * child.killGroup("SIGTERM"); // the sleep dies with its shell
 * await child.status;
 * ```
 */
export const spawnProcessGroup: Spawn = (program, args, { env }) => {
  setsid ??= findSetsid();
  // `setsid` would start, then fail to run a missing program: fail here, as a spawn would.
  if (setsid && program.includes("/")) Deno.statSync(program);
  const child = new Deno.Command(setsid || program, {
    args: setsid ? [program, ...args] : args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: !setsid,
  }).spawn();
  return {
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
    status: child.status.then(({ code, signal }) => ({ code, signal })),
    killGroup(signal) {
      // Until `setsid` has made its session, the group is not there yet: signal the child.
      for (const target of [-child.pid, child.pid]) {
        try {
          Deno.kill(target, signal);
          return;
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
      }
    },
  };
};

/** The `setsid` program, or "" when there is none; looked up on the first spawn. */
let setsid: string | undefined;

function findSetsid(): string {
  for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there; try the next.
    }
  }
  return "";
}
