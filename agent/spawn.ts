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
 * Starts a child in a process group of its own (`detached: true` makes it a session leader),
 * so that signalling the group also reaches whatever the child started. stdin is `/dev/null`.
 *
 * @example
 * ```ts
 * const child = spawnProcessGroup("/bin/sh", ["-c", "sleep 100"], { env: {} });
 * child.killGroup("SIGTERM"); // the sleep dies with its shell
 * await child.status;
 * ```
 */
export const spawnProcessGroup: Spawn = (program, args, { env }) => {
  const child = new Deno.Command(program, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  return {
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
    status: child.status.then(({ code, signal }) => ({ code, signal })),
    killGroup(signal) {
      try {
        Deno.kill(-child.pid, signal);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    },
  };
};
