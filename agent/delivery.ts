/**
 * At-least-once delivery of finished results: spooled before sending, kept until acked,
 * resent on every connection.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import type { AgentMessage, ExecutionResult } from "../shared/protocol.ts";
import type { Spool } from "./spool.ts";
import { settlesWithin } from "./timing.ts";

/** Options for {@linkcode createDelivery}. */
export interface DeliveryOptions {
  spool: Spool;
  /** Sends a message if connected; tells whether it was sent. */
  send: (message: AgentMessage) => boolean;
  /** Told about every acknowledged result once it has left the spool. */
  onAcked?: (executionId: string) => void;
  /** @default createLogger() */
  logger?: Logger;
}

/** Moves finished results from this host to the server. */
export interface Delivery {
  /** Writes `result` to the spool; resolves once it is on disk (or the write failed, logged). */
  keep(result: ExecutionResult): Promise<void>;
  /** Sends a kept result as `execution.finished`, if connected. */
  send(result: ExecutionResult): void;
  /** Sends every spooled result, oldest first; returns how many went out. */
  resend(): Promise<number>;
  /** Handles `execution.ack`: the result leaves the spool. */
  ack(executionId: string): Promise<void>;
  /** Forgets what was sent on a connection that is gone; it will be resent. */
  disconnected(): void;
  /** Waits up to `ms` for every result sent on this connection to be acked; tells if all were. */
  waitForAcks(ms: number): Promise<boolean>;
}

/**
 * Creates the delivery. The spool write comes before the send, and only an ack deletes the
 * file, so a result survives disconnects, crashes and restarts; the server's insert is
 * idempotent on the execution id, so a result sent twice is stored once.
 *
 * @example
 * ```ts
 * const delivery = createDelivery({ spool, send: (message) => connection.send(message) });
 * await delivery.keep(result);
 * delivery.send(result);
 * ```
 */
export function createDelivery(options: DeliveryOptions): Delivery {
  const { spool, onAcked, logger = createLogger() } = options;
  const awaitingAck = new Set<string>();
  let allAcked = Promise.withResolvers<void>();

  function settleIfDone(): void {
    if (awaitingAck.size === 0) allAcked.resolve();
  }

  function send(result: ExecutionResult): boolean {
    const sent = options.send({ type: "execution.finished", ...result });
    if (sent) {
      if (awaitingAck.size === 0) allAcked = Promise.withResolvers<void>();
      awaitingAck.add(result.execution_id);
    }
    return sent;
  }

  return {
    async keep(result) {
      try {
        await spool.write(result);
      } catch (err) {
        logger.error("Cannot write a result to the spool", {
          execution_id: result.execution_id,
          error: (err as Error).message,
        });
      }
    },
    send(result) {
      send(result);
    },
    async resend() {
      const results = await spool.list();
      let sent = 0;
      for (const result of results) {
        if (!send(result)) break;
        sent++;
      }
      if (results.length > 0) {
        logger.info("Resent spooled results", { count: sent, spooled: results.length });
      }
      return sent;
    },
    async ack(executionId) {
      const removed = await spool.delete(executionId);
      awaitingAck.delete(executionId);
      settleIfDone();
      if (removed) onAcked?.(executionId);
      else logger.debug("Ack for a result not in the spool", { execution_id: executionId });
    },
    disconnected() {
      awaitingAck.clear();
      settleIfDone();
    },
    async waitForAcks(ms) {
      if (awaitingAck.size === 0) return true;
      return await settlesWithin(allAcked.promise, ms);
    },
  };
}
