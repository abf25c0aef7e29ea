import { join } from "node:path";
import type { Logger } from "../shared/logger.ts";
import type { Store } from "./store.ts";
import { generateToken, hashToken } from "./tokens.ts";

/** The file in the data directory the first admin token is written to. */
export const ADMIN_TOKEN_FILE = "admin-token";

/** Options for {@linkcode ensureAdminToken}. */
export interface EnsureAdminTokenOptions {
  store: Pick<Store, "hasActiveAdminToken" | "insertFirstAdminToken">;
  /** The admin token from `TASKSCHEDULER_API_TOKEN`; when set, none is created. */
  apiToken?: string;
  /** Where the created token's file goes (mode 0600). */
  dataDir: string;
  logger: Logger;
}

/**
 * Makes sure an admin can get in without default credentials: unless
 * `TASKSCHEDULER_API_TOKEN` is set or an admin token is active, creates one, stores its
 * hash, shows it once in the log and writes it to `<dataDir>/admin-token` with mode 0600.
 *
 * @example
 * ```ts
 * await ensureAdminToken({ store, apiToken: config.apiToken, dataDir: config.dataDir, logger });
 * ```
 * @returns the token created, or undefined when none was needed
 */
export async function ensureAdminToken(
  options: EnsureAdminTokenOptions,
): Promise<string | undefined> {
  const { store, apiToken, dataDir, logger } = options;
  if (apiToken) {
    logger.info("Admin access through TASKSCHEDULER_API_TOKEN");
    return undefined;
  }
  if (await store.hasActiveAdminToken()) return undefined;
  const token = generateToken();
  const stored = await store.insertFirstAdminToken({
    id: crypto.randomUUID(),
    name: "first admin",
    role: "admin",
    server_id: null,
    token_hash: hashToken(token),
    created_by: "first start",
  });
  // Another instance starting at the same moment created it.
  if (!stored) return undefined;
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    await writePrivateFile(file, token + "\n");
  } catch (err) {
    logger.error("Cannot write the admin token file", { file, error: String(err) });
  }
  // The one log line that carries a token: nobody could get in otherwise.
  logger.warn("Created the first admin token; it is shown only this once", { token, file });
  return token;
}

/** Writes a file only its owner can read, replacing any file of that name. */
async function writePrivateFile(path: string, content: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  await Deno.writeTextFile(path, content, { createNew: true, mode: 0o600 });
}
