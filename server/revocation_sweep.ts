import type { Logger } from "../shared/logger.ts";
import type { Hub } from "./hub.ts";
import type { Store } from "./store.ts";

/** Options for {@linkcode startRevocationSweep}. */
export interface RevocationSweepOptions {
  store: Pick<Store, "activeTokenIds">;
  hub: Pick<Hub, "connectedTokenIds" | "closeToken">;
  logger: Logger;
  /** How often the open connections' tokens are checked, in ms. @default 10_000 */
  intervalMs?: number;
}

/**
 * Periodically closes hub connections whose token was revoked where this instance did not
 * see it: by another instance sharing the database, or in the database directly. A revoke
 * through this instance's API closes them at once.
 *
 * @example
 * ```ts
 * const sweep = startRevocationSweep({ store, hub, logger });
 * // ... at shutdown:
 * sweep.stop();
 * ```
 */
export function startRevocationSweep(options: RevocationSweepOptions): { stop(): void } {
  const { store, hub, logger, intervalMs = 10_000 } = options;
  let running = false;
  const sweep = async () => {
    const ids = hub.connectedTokenIds();
    if (ids.length === 0) return;
    const active = new Set(await store.activeTokenIds(ids));
    for (const id of ids) {
      if (!active.has(id)) hub.closeToken(id, "The token was revoked");
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((err) => logger.error("Checking agent tokens failed", { error: String(err) }))
      .finally(() => running = false);
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}
