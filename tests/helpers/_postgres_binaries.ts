/**
 * Finding the local PostgreSQL server binaries.
 *
 * @module
 */
import { isFile, run } from "./_process_utils.ts";

/** Local PostgreSQL server binaries. */
export interface PostgresBinaries {
  /** Directory holding `initdb` and `postgres`. */
  binDir: string;
  /** The server version, e.g. `15.18`. */
  version: string;
}

/** Searches already made, by `binDir`: the answer does not change while tests run. */
const searches = new Map<string, Promise<PostgresBinaries | undefined>>();

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
