/**
 * Tick claims: before running a tick of a mode `one` task the agent asks the server, which
 * grants each tick to exactly one host. Without an answer the tick is not run.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import type { AgentMessage, ServerMessage } from "../shared/protocol.ts";

/** How a claim ended: only `granted` runs the tick. */
export type ClaimOutcome = "granted" | "refused" | "disconnected" | "timeout";

type TickClaimed = Extract<ServerMessage, { type: "tick.claimed" }>;

/** Options for {@linkcode createTickClaims}. */
export interface TickClaimsOptions {
  /** Sends a message if connected; tells whether it was sent. */
  send: (message: AgentMessage) => boolean;
  /** How long to wait for the answer; a tick that waits longer is not run. @default 5000 */
  timeoutMs?: number;
  /** @default createLogger() */
  logger?: Logger;
}

/** The claims in flight. */
export interface TickClaims {
  /** Asks for the tick `scheduledFor` of `taskId`; settles with the outcome, never rejects. */
  claim(taskId: string, scheduledFor: Date): Promise<ClaimOutcome>;
  /** Handles the server's `tick.claimed`. */
  answer(message: TickClaimed): void;
  /** Settles every claim in flight as `disconnected`: the answer cannot come any more. */
  disconnected(): void;
}

/**
 * Creates the claims.
 *
 * @example
 * ```ts
 * const claims = createTickClaims({ send: (message) => connection.send(message) });
 * if (await claims.claim(task.id, scheduledFor) === "granted") run();
 * ```
 */
export function createTickClaims(options: TickClaimsOptions): TickClaims {
  const { send, timeoutMs = 5_000, logger = createLogger() } = options;
  const pending = new Map<string, (outcome: ClaimOutcome) => void>();
  const keyOf = (taskId: string, scheduledFor: string) => `${taskId} ${scheduledFor}`;

  return {
    claim(taskId, scheduledFor) {
      const scheduled_for = scheduledFor.toISOString();
      const key = keyOf(taskId, scheduled_for);
      const { promise, resolve } = Promise.withResolvers<ClaimOutcome>();
      const timer = setTimeout(() => settle("timeout"), timeoutMs);
      function settle(outcome: ClaimOutcome) {
        clearTimeout(timer);
        if (pending.get(key) === settle) pending.delete(key);
        resolve(outcome);
      }
      pending.get(key)?.("refused");
      pending.set(key, settle);
      if (!send({ type: "tick.claim", task_id: taskId, scheduled_for })) settle("disconnected");
      return promise;
    },
    answer(message) {
      const settle = pending.get(keyOf(message.task_id, message.scheduled_for));
      if (!settle) {
        logger.debug("Answer to a tick claim no longer waited for", { ...message });
        return;
      }
      settle(message.granted ? "granted" : "refused");
    },
    disconnected() {
      for (const settle of [...pending.values()]) settle("disconnected");
    },
  };
}
