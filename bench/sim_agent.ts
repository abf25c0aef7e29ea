/**
 * A simulated agent: the real protocol over a real WebSocket, without scheduling or running
 * anything. Many of them fit in one process, which is what fan-out, ingest and memory need.
 *
 * @module
 */
import {
  type AgentMessage,
  type ExecutionResult,
  PROTOCOL_VERSION,
  type ServerMessage,
  type TaskSpec,
} from "../shared/protocol.ts";
import { withTimeout } from "./timing.ts";

/** Options for {@linkcode connectSimAgent}. */
export interface SimAgentOptions {
  /** The hub endpoint, `ws://.../api/v1/agents/connect`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` on the upgrade. */
  token: string;
  serverId: string;
  /** Called with the arrival time (`performance.now()`) of every `task.upsert`. */
  onUpsert?: (taskId: string, at: number) => void;
}

/** A connected simulated agent. */
export interface SimAgent extends AsyncDisposable {
  readonly serverId: string;
  /** Resolves with the task set of the first `sync`. */
  readonly synced: Promise<TaskSpec[]>;
  /**
   * Sends `results` as `execution.finished`, keeping at most `window` unacknowledged, and
   * resolves once every one is acknowledged.
   */
  deliver(results: readonly ExecutionResult[], window: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a connection and says hello. Like a real agent it answers `sync` and `task.upsert`
 * with `task.accepted` and every `ping` with `pong`. Server frames are read with `JSON.parse`
 * alone: the arrival times it records must not include a schema check per frame.
 *
 * @example
 * ```ts
 * await using agent = await connectSimAgent({ url: server.wsUrl, token, serverId: "sim-1" });
 * await agent.synced;
 * ```
 */
export async function connectSimAgent(options: SimAgentOptions): Promise<SimAgent> {
  const { url, token, serverId, onUpsert } = options;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const synced = Promise.withResolvers<TaskSpec[]>();
  synced.promise.catch(() => {});
  let onAck: (() => void) | null = null;
  let closed: { code: number; reason: string } | null = null;
  let failDelivery: ((err: Error) => void) | null = null;

  const send = (message: AgentMessage) => ws.send(JSON.stringify(message));
  const accept = (task: TaskSpec) =>
    send({ type: "task.accepted", task_id: task.id, revision: task.revision });

  ws.onmessage = (event) => {
    const at = performance.now();
    const message = JSON.parse(event.data) as ServerMessage;
    switch (message.type) {
      case "task.upsert":
        onUpsert?.(message.task.id, at);
        accept(message.task);
        return;
      case "sync":
        message.tasks.forEach(accept);
        synced.resolve(message.tasks);
        return;
      case "execution.ack":
        onAck?.();
        return;
      case "ping":
        send({ type: "pong", nonce: message.nonce });
        return;
    }
  };
  ws.onclose = (event) => {
    closed = { code: event.code, reason: event.reason };
    const err = new Error(`Agent ${serverId} was disconnected: ${event.code} ${event.reason}`);
    synced.reject(err);
    failDelivery?.(err);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (event) =>
      reject(new Error(`Cannot connect agent ${serverId}: ${(event as ErrorEvent).message}`));
  });
  send({
    type: "hello",
    protocol: PROTOCOL_VERSION,
    server_id: serverId,
    hostname: `${serverId}.bench`,
    labels: { bench: "true" },
    version: "bench",
    running: [],
  });

  async function close(): Promise<void> {
    if (closed) return;
    const done = new Promise((resolve) => ws.addEventListener("close", resolve));
    ws.close(1000, "Bench done");
    await withTimeout(done, 10_000, `agent ${serverId} to close`);
  }

  return {
    serverId,
    synced: synced.promise,
    deliver(results, window) {
      const done = Promise.withResolvers<void>();
      let sent = 0;
      let acked = 0;
      const pump = () => {
        while (sent < results.length && sent - acked < window) {
          send({ type: "execution.finished", ...results[sent++] });
        }
        if (acked >= results.length) done.resolve();
      };
      onAck = () => {
        acked++;
        pump();
      };
      failDelivery = done.reject;
      pump();
      return done.promise.finally(() => {
        onAck = null;
        failDelivery = null;
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Connects `count` simulated agents named `<prefix>-<n>`, `concurrency` at a time, and waits
 * for each one's `sync` when `waitForSync` is set.
 *
 * @example
 * ```ts
 * const agents = await connectSimAgents(100, { url, token, prefix: "fanout" });
 * ```
 */
export async function connectSimAgents(
  count: number,
  options: Omit<SimAgentOptions, "serverId"> & {
    prefix: string;
    /** @default true */
    waitForSync?: boolean;
    /** @default 50 */
    concurrency?: number;
    /** The first agent's number. @default 1 */
    first?: number;
  },
): Promise<SimAgent[]> {
  const { prefix, waitForSync = true, concurrency = 50, first = 1 } = options;
  const agents: SimAgent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = first + next++;
      const agent = await connectSimAgent({ ...options, serverId: `${prefix}-${n}` });
      agents.push(agent);
      if (waitForSync) await agent.synced;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } catch (err) {
    await closeAll(agents);
    throw err;
  }
  return agents;
}

/** Closes every agent; the first failure is thrown once all are closed. */
export async function closeAll(agents: readonly SimAgent[]): Promise<void> {
  const outcomes = await Promise.allSettled(agents.map((agent) => agent.close()));
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
