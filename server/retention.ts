/**
 * Retention: a background loop that deletes old history in batches, so no statement holds
 * locks for long and the table never has to be scanned in one go.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import type { Store } from "./store.ts";

const DAY_MS = 24 * 3600 * 1000;

/** Options for {@linkcode createRetention}. */
export interface RetentionOptions {
  store: Pick<
    Store,
    | "pruneExecutionsFinishedBefore"
    | "pruneExecutionsBeyondNewest"
    | "pruneDeletedTasks"
    | "pruneTickClaims"
  >;
  /** Executions that finished longer ago than this are deleted; undefined keeps them. */
  days?: number;
  /** Only the newest this many completed executions per task and host are kept. */
  perTaskHost?: number;
  /** Rows deleted per statement. @default 1000 */
  batchSize?: number;
  /** Time between two runs of the loop. @default 60_000 */
  intervalMs?: number;
  /**
   * A deleted task with no execution left is removed this long after its deletion, so that
   * results still in a host's spool can land in its history first. @default one day
   */
  deletedTaskGraceMs?: number;
  /** Tick claims are kept this long after their tick. @default one day */
  tickClaimTtlMs?: number;
  /** @default the system clock */
  clock?: { now(): Date };
  /** @default createLogger() */
  logger?: Logger;
}

/** How many rows one run deleted. */
export interface PruneCounts {
  expired: number;
  beyondCount: number;
  deletedTasks: number;
  tickClaims: number;
}

/** The retention loop. */
export interface Retention {
  /** Prunes everything due now, batch after batch; resolves with what it deleted. */
  runOnce(): Promise<PruneCounts>;
  /** Runs at once, then every `intervalMs`, until stopped. */
  start(): void;
  /** Stops the loop and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Creates the retention loop. Running executions are never deleted; a task deleted through
 * the API disappears once its history is gone.
 *
 * @example
 * ```ts
 * const retention = createRetention({ store, days: 30, perTaskHost: 1000 });
 * retention.start();
 * await retention.stop();
 * ```
 */
export function createRetention(options: RetentionOptions): Retention {
  const {
    store,
    days,
    perTaskHost,
    batchSize = 1000,
    intervalMs = 60_000,
    deletedTaskGraceMs = DAY_MS,
    tickClaimTtlMs = DAY_MS,
    clock = { now: () => new Date() },
    logger = createLogger(),
  } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  /** Calls `prune` until a batch comes back short; returns the rows deleted in all. */
  async function drain(prune: () => Promise<number>): Promise<number> {
    let total = 0;
    while (!stopped) {
      const count = await prune();
      total += count;
      if (count < batchSize) break;
    }
    return total;
  }

  async function runOnce(): Promise<PruneCounts> {
    const now = clock.now().getTime();
    const counts: PruneCounts = {
      expired: days === undefined
        ? 0
        : await drain(() =>
          store.pruneExecutionsFinishedBefore(new Date(now - days * DAY_MS), batchSize)
        ),
      beyondCount: perTaskHost === undefined
        ? 0
        : await drain(() => store.pruneExecutionsBeyondNewest(perTaskHost, batchSize)),
      deletedTasks: await drain(() =>
        store.pruneDeletedTasks(new Date(now - deletedTaskGraceMs), batchSize)
      ),
      tickClaims: await drain(() =>
        store.pruneTickClaims(new Date(now - tickClaimTtlMs), batchSize)
      ),
    };
    if (Object.values(counts).some((count) => count > 0)) {
      logger.info("Retention pruned history", { ...counts });
    }
    return counts;
  }

  function loop(): void {
    timer = undefined;
    if (stopped) return;
    running = runOnce()
      .catch((err) => logger.error("Retention failed", { error: String(err) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  }

  return {
    runOnce,
    start() {
      if (stopped || timer !== undefined) return;
      logger.info("Retention started", {
        days: days ?? null,
        per_task_host: perTaskHost ?? null,
        interval_ms: intervalMs,
      });
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
