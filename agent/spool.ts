/**
 * The on-disk spool of finished results the server has not acknowledged yet.
 *
 * @module
 */
import { join } from "node:path";
import { isUuid } from "../shared/ids.ts";
import { createLogger, type Logger } from "../shared/logger.ts";
import { describeIssues, ExecutionResult } from "../shared/protocol.ts";
import { isTemporaryFile, writeFileAtomic } from "./atomic_file.ts";

/** Options for {@linkcode createSpool}. */
export interface SpoolOptions {
  /** The spool directory; created when needed. */
  dir: string;
  /** Where problems with spool files are reported. @default createLogger() */
  logger?: Logger;
}

/** Finished results waiting for the server's `execution.ack`, one file per execution. */
export interface Spool {
  /** The spool directory. */
  readonly dir: string;
  /** Stores `result` durably (`<execution_id>.json`); resolves once it is on disk. */
  write(result: ExecutionResult): Promise<void>;
  /**
   * Every stored result, oldest `finished_at` first. A file that cannot be read as a result
   * is moved to `corrupt/` and logged.
   */
  list(): Promise<ExecutionResult[]>;
  /** Forgets a result once acknowledged; tells whether there was one. */
  delete(executionId: string): Promise<boolean>;
  /** Removes temporary files a crash left behind; call before anything writes. */
  sweep(): Promise<void>;
}

/** The name of the folder corrupt spool files are moved to. */
export const CORRUPT_DIR = "corrupt";

/**
 * The spool directory inside an agent state directory.
 *
 * @example
 * ```ts
 * spoolDirIn("/var/lib/taskscheduler-agent"); // "/var/lib/taskscheduler-agent/spool"
 * ```
 */
export function spoolDirIn(stateDir: string): string {
  return join(stateDir, "spool");
}

/**
 * Opens the spool in `dir`. Several spools on one directory see the same files, so a new
 * agent process finds what the previous one left.
 *
 * @example
 * ```ts
 * const spool = createSpool({ dir: spoolDirIn(config.stateDir) });
 * await spool.write(result);
 * for (const pending of await spool.list()) send(pending);
 * ```
 */
export function createSpool(options: SpoolOptions): Spool {
  const { dir, logger = createLogger() } = options;
  const pathOf = (executionId: string) => join(dir, `${executionId}.json`);
  const ensureDir = () => Deno.mkdir(dir, { recursive: true });

  async function read(name: string): Promise<ExecutionResult | null> {
    const path = join(dir, name);
    let problem: string;
    try {
      const parsed = ExecutionResult.safeParse(JSON.parse(await Deno.readTextFile(path)));
      if (parsed.success && `${parsed.data.execution_id}.json` === name) return parsed.data;
      problem = parsed.success
        ? "Execution id does not match the file name"
        : describeIssues(parsed.error);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null; // acknowledged meanwhile
      problem = (err as Error).message;
    }
    await moveAside(name, problem);
    return null;
  }

  async function moveAside(name: string, problem: string): Promise<void> {
    const target = join(dir, CORRUPT_DIR, name);
    try {
      await Deno.mkdir(join(dir, CORRUPT_DIR), { recursive: true });
      await Deno.rename(join(dir, name), target);
      logger.error("Moved a corrupt spool file aside", { file: name, moved_to: target, problem });
    } catch (err) {
      logger.error("Cannot move a corrupt spool file aside", {
        file: name,
        problem,
        error: (err as Error).message,
      });
    }
  }

  return {
    dir,
    async write(result) {
      await ensureDir();
      await writeFileAtomic(pathOf(result.execution_id), JSON.stringify(result));
    },
    async list() {
      await ensureDir();
      const results: ExecutionResult[] = [];
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || isTemporaryFile(entry.name)) continue;
        if (!isSpoolFileName(entry.name)) {
          await moveAside(entry.name, "Not a spool file name");
          continue;
        }
        const result = await read(entry.name);
        if (result) results.push(result);
      }
      return results.sort((a, b) =>
        a.finished_at.localeCompare(b.finished_at) ||
        a.execution_id.localeCompare(b.execution_id)
      );
    },
    async delete(executionId) {
      if (!isUuid(executionId)) return false;
      try {
        await Deno.remove(pathOf(executionId));
        return true;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return false;
        throw err;
      }
    },
    async sweep() {
      await ensureDir();
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && isTemporaryFile(entry.name)) {
          await Deno.remove(join(dir, entry.name)).catch(() => {});
        }
      }
    },
  };
}

function isSpoolFileName(name: string): boolean {
  return name.endsWith(".json") && isUuid(name.slice(0, -".json".length));
}
