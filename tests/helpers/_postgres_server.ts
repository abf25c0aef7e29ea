/**
 * A throwaway PostgreSQL server: a copy of an initdb template, started on a free port, removed
 * on close.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import postgres from "postgres";
import type { PostgresBinaries } from "./_postgres_binaries.ts";
import { isFile, LogTail, message, run, settlesWithin, STOP_GRACE_MS } from "./_process_utils.ts";
import type { TestDatabase } from "./_types.ts";

interface Owner {
  uid: number;
  gid: number;
}

interface RunningServer {
  stop(): Promise<void>;
}

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/**
 * Starts a server of its own from `binaries`, with `settings` passed as `-c name=value`, on a
 * cluster copied from the template; as root it runs as the `postgres` user.
 */
export async function startPostgres(
  binaries: PostgresBinaries,
  settings: Record<string, string | number>,
  timeout: number,
): Promise<TestDatabase> {
  const owner = Deno.uid() === 0 ? await postgresUser() : undefined;
  const root = await clusterRoot();
  const template = await ensureTemplate(binaries, root, owner, timeout);
  const dir = await Deno.makeTempDir({ dir: root, prefix: "taskscheduler-pg-" });
  try {
    await run("cp", ["-a", template, `${dir}/data`], { timeout });
    if (owner) await Deno.chown(dir, owner.uid, owner.gid);
    for (let attempt = 1;; attempt++) {
      const port = freePort();
      try {
        const server = await launch(binaries, dir, port, settings, owner, timeout);
        return postgresDatabase(server, dir, port);
      } catch (error) {
        // Another process may take the port between freePort() and the server's bind.
        if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
      }
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

function postgresDatabase(server: RunningServer, dir: string, port: number): TestDatabase {
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await server.stop();
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    })();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kind: "postgres",
    dir,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function launch(
  binaries: PostgresBinaries,
  dir: string,
  port: number,
  settings: Record<string, string | number>,
  owner: Owner | undefined,
  timeout: number,
): Promise<RunningServer> {
  const all: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: 200,
    ...settings,
  };
  const dataDir = `${dir}/data`;
  const args = ["-D", dataDir, "-p", String(port), "-k", dir];
  for (const [name, value] of Object.entries(all)) args.push("-c", `${name}=${value}`);
  const [cmd, cmdArgs] = asOwner(owner, `${binaries.binDir}/postgres`, args);
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = new LogTail();
  const drained = Promise.all([log.drain(child.stdout), log.drain(child.stderr)]);
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => exited = s);
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGINT");
      } catch {
        // It exited in the meantime.
      }
      if (!(await settlesWithin(status, STOP_GRACE_MS))) {
        child.kill("SIGKILL");
      }
    }
    await status;
    await drained;
  };
  try {
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilReady(url, dataDir, () => exited, timeout);
  } catch (error) {
    await stop();
    throw new Error(`Cannot start PostgreSQL on port ${port}: ${message(error)}\n${log.text()}`);
  }
  return { stop };
}

/** Polls until the server on `url` answers, and is the one serving `dataDir`. */
async function waitUntilReady(
  url: string,
  dataDir: string,
  exited: () => Deno.CommandStatus | undefined,
  timeout: number,
): Promise<void> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const status = exited();
    if (status) throw new Error(`the server exited with code ${status.code}`);
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      const [row] = await sql`select current_setting('data_directory') as data_directory`;
      // Anything else answering is a server that took the port first; ours will exit.
      if (row.data_directory === dataDir) return;
    } catch (error) {
      lastError = error;
    } finally {
      await sql.end({ timeout: 0 });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`it did not accept connections within ${timeout} ms (${message(lastError)})`);
}

/** Runs initdb once per machine and version; each server starts from a copy of the result. */
async function ensureTemplate(
  binaries: PostgresBinaries,
  root: string,
  owner: Owner | undefined,
  timeout: number,
): Promise<string> {
  const name = `taskscheduler-pg-template-${binaries.version}-${Deno.uid()}`;
  const template = `${root}/${name}`;
  if (await isFile(`${template}/PG_VERSION`)) return template;
  const tmp = await Deno.makeTempDir({ dir: root, prefix: `${name}.tmp-` });
  try {
    if (owner) await Deno.chown(tmp, owner.uid, owner.gid);
    const args = ["-D", tmp, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"];
    args.push("--no-sync");
    const [cmd, cmdArgs] = asOwner(owner, `${binaries.binDir}/initdb`, args);
    await run(cmd, cmdArgs, { timeout, cwd: tmp });
    try {
      await Deno.rename(tmp, template);
    } catch (error) {
      // Another process finished its template first: use that one.
      if (!(await isFile(`${template}/PG_VERSION`))) throw error;
    }
    return template;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Where clusters live: tmpfs when it has room, as copying a template there takes tens of
 * milliseconds where a disk can take a second; else /tmp.
 */
async function clusterRoot(): Promise<string> {
  try {
    const { bavail, bsize } = await statfs("/dev/shm");
    if (bavail * bsize >= 2 * 1024 ** 3) return "/dev/shm";
  } catch {
    // No /dev/shm.
  }
  return "/tmp";
}

/** PostgreSQL refuses to run as root, so as root it runs as the `postgres` user. */
async function postgresUser(): Promise<Owner> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error("Cannot start PostgreSQL as root: there is no 'postgres' user to run it as");
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** As root, runs `cmd` as the `postgres` user; setpriv execs it, so signals reach it unchanged. */
function asOwner(owner: Owner | undefined, cmd: string, args: string[]): [string, string[]] {
  if (!owner) return [cmd, args];
  const ids = [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--init-groups"];
  return ["setpriv", [...ids, "--", cmd, ...args]];
}
