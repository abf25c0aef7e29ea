/**
 * A clean PostgreSQL database for each test file.
 *
 * `startTestDatabase()` picks, in order: a fresh database inside `DATABASE_URL` when it is set;
 * a throwaway server started from the local PostgreSQL binaries (`initdb` + `postgres` on a
 * free port); PGlite exposed on a loopback socket when no binaries exist.
 * `TASKSCHEDULER_TEST_DB=pglite` (or `postgres`, `external`) forces one of them.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { startTestDatabase } from "./helpers/postgres.ts";
 *
 * Deno.test("the store keeps a task", async () => {
 *   await using db = await startTestDatabase();
 *   const sql = postgres(db.url);
 *   try {
 *     await sql`select 1`;
 *   } finally {
 *     await sql.end();
 *   }
 * });
 * ```
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import postgres from "postgres";

/** Where a test database lives. */
export type TestDatabaseKind = "postgres" | "pglite" | "external";

/** A database of its own for one test file; close it (or `await using` it) when done. */
export interface TestDatabase extends AsyncDisposable {
  /** A postgres.js-ready connection URL. */
  readonly url: string;
  /** `postgres`: a throwaway server; `pglite`: PGlite on a socket; `external`: `DATABASE_URL`. */
  readonly kind: TestDatabaseKind;
  /** The throwaway server's temp directory (data and socket); only for kind `postgres`. */
  readonly dir?: string;
  /** Stops the server or drops the database, and removes what it created. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@linkcode startTestDatabase}. */
export interface StartTestDatabaseOptions {
  /**
   * Which database to start; `auto` reads `TASKSCHEDULER_TEST_DB`, then `DATABASE_URL`, then
   * looks for binaries, then falls back to PGlite.
   * @default "auto"
   */
  kind?: TestDatabaseKind | "auto";
  /** Where `DATABASE_URL` and `TASKSCHEDULER_TEST_DB` are read. @default Deno.env */
  env?: { get(name: string): string | undefined };
  /** Directory holding `initdb` and `postgres`. @default found by {@linkcode findPostgresBinaries} */
  binDir?: string;
  /** Extra server settings for kind `postgres`, each passed as `-c name=value`. @default {} */
  settings?: Record<string, string | number>;
  /** How long starting may take, in milliseconds. @default 60_000 */
  startTimeout?: number;
}

/** Local PostgreSQL server binaries. */
export interface PostgresBinaries {
  /** Directory holding `initdb` and `postgres`. */
  binDir: string;
  /** The server version, e.g. `15.18`. */
  version: string;
}

const KINDS: readonly string[] = ["postgres", "pglite", "external"];
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_CHARS = 4_000;

let saidPglite = false;
/** Searches already made, by `binDir`: the answer does not change while tests run. */
const searches = new Map<string, Promise<PostgresBinaries | undefined>>();

/**
 * Starts a database of its own for the caller: every call is an independent, empty one.
 *
 * @example
 * ```ts
 * await using db = await startTestDatabase({ kind: "pglite" });
 * console.log(db.url); // postgres://postgres@127.0.0.1:40123/postgres
 * ```
 */
export async function startTestDatabase(
  options: StartTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const env = options.env ?? Deno.env;
  const startTimeout = options.startTimeout ?? 60_000;
  const kind = await resolveKind(options.kind ?? "auto", env, options.binDir);
  if (kind === "external") {
    const url = env.get("DATABASE_URL");
    if (!url) {
      throw new TypeError("Cannot use an external test database as 'DATABASE_URL' is not set");
    }
    return await createExternalDatabase(url, startTimeout);
  }
  if (kind === "pglite") return await startPglite(startTimeout);
  const binaries = await findPostgresBinaries(options.binDir);
  if (!binaries) {
    throw new Error(`Cannot start PostgreSQL: no initdb and postgres binaries found`);
  }
  return await startPostgres(binaries, options.settings ?? {}, startTimeout);
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
 * Finds `initdb` and `postgres`: in `binDir` when given, else in `pg_config --bindir`, else in
 * the newest `/usr/lib/postgresql/<version>/bin`. Resolves to `undefined` when there are none.
 *
 * @example
 * ```ts
 * const found = await findPostgresBinaries();
 * console.log(found?.version); // "15.18"
 * ```
 */
export function findPostgresBinaries(binDir?: string): Promise<PostgresBinaries | undefined> {
  const key = binDir ?? "";
  let found = searches.get(key);
  if (!found) {
    found = searchBinaries(binDir);
    searches.set(key, found);
  }
  return found;
}

async function searchBinaries(binDir?: string): Promise<PostgresBinaries | undefined> {
  const candidates = binDir ? [binDir] : await candidateBinDirs();
  for (const dir of candidates) {
    if (!(await isFile(`${dir}/initdb`)) || !(await isFile(`${dir}/postgres`))) continue;
    const out = await run(`${dir}/postgres`, ["--version"], { timeout: 10_000 });
    const version = out.match(/\(PostgreSQL\) (\d+(?:\.\d+)?)/)?.[1];
    if (version) return { binDir: dir, version };
  }
  return undefined;
}

async function resolveKind(
  requested: TestDatabaseKind | "auto",
  env: { get(name: string): string | undefined },
  binDir: string | undefined,
): Promise<TestDatabaseKind> {
  if (requested !== "auto") return requested;
  const forced = env.get("TASKSCHEDULER_TEST_DB");
  if (forced) {
    if (!KINDS.includes(forced)) {
      throw new TypeError(
        `Cannot start a test database as 'TASKSCHEDULER_TEST_DB' must be one of ${
          KINDS.join(", ")
        }: current value is ${forced}`,
      );
    }
    return forced as TestDatabaseKind;
  }
  if (env.get("DATABASE_URL")) return "external";
  if (await findPostgresBinaries(binDir)) return "postgres";
  if (!saidPglite) {
    saidPglite = true;
    console.error("No PostgreSQL binaries found: tests run on PGlite");
  }
  return "pglite";
}

async function candidateBinDirs(): Promise<string[]> {
  const dirs: string[] = [];
  try {
    dirs.push((await run("pg_config", ["--bindir"], { timeout: 10_000 })).trim());
  } catch {
    // No pg_config (or a broken one): the glob below still finds Debian's layout.
  }
  const versions: string[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (entry.isDirectory && /^\d+(\.\d+)?$/.test(entry.name)) versions.push(entry.name);
    }
  } catch {
    // No /usr/lib/postgresql.
  }
  versions.sort((a, b) => parseFloat(b) - parseFloat(a));
  return [...dirs, ...versions.map((v) => `/usr/lib/postgresql/${v}/bin`)];
}

// --- the throwaway server --------------------------------------------------------------------

interface Owner {
  uid: number;
  gid: number;
}

async function startPostgres(
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

interface RunningServer {
  stop(): Promise<void>;
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

// --- PGlite and DATABASE_URL ------------------------------------------------------------------

async function startPglite(timeout: number): Promise<TestDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await withTimeout(PGlite.create(), timeout, "PGlite did not start");
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 20 });
  try {
    await withTimeout(server.start(), timeout, "the PGlite socket server did not start");
  } catch (error) {
    await db.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await withTimeout(server.stop(), STOP_GRACE_MS, "the PGlite socket server did not stop");
      } finally {
        await db.close();
      }
    })();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    kind: "pglite",
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function createExternalDatabase(adminUrl: string, timeout: number): Promise<TestDatabase> {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const name = `ts_test_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const connectTimeout = Math.ceil(timeout / 1000);
  const admin = () =>
    postgres(adminUrl, { max: 1, connect_timeout: connectTimeout, onnotice() {} });
  const sql = admin();
  try {
    await sql`create database ${sql(name)}`;
  } finally {
    await sql.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const sql = admin();
      try {
        await sql`drop database if exists ${sql(name)} with (force)`;
      } finally {
        await sql.end();
      }
    })();
  return { url: url.href, kind: "external", close, [Symbol.asyncDispose]: close };
}

// --- small tools ------------------------------------------------------------------------------

/** Keeps the last few thousand characters a process printed. */
class LogTail {
  #text = "";

  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#text = (this.#text + decoder.decode(chunk, { stream: true })).slice(-LOG_TAIL_CHARS);
    }
  }

  text(): string {
    return `--- postgres log (last ${LOG_TAIL_CHARS} characters) ---\n${this.#text}`;
  }
}

/** Runs a command to completion and returns its stdout; throws with its output if it fails. */
async function run(
  cmd: string,
  args: string[],
  { timeout, cwd }: { timeout: number; cwd?: string },
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const decoder = new TextDecoder();
    if (!out.success) {
      const what = controller.signal.aborted ? `timed out after ${timeout} ms` : `code ${out.code}`;
      const output = (decoder.decode(out.stdout) + decoder.decode(out.stderr)).slice(
        -LOG_TAIL_CHARS,
      );
      throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${what}\n${output}`);
    }
    return decoder.decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(promise, ms, "Timed out");
    return true;
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
