/**
 * The agent hub: one WebSocket per host. It pushes each host its tasks, stores what hosts
 * report, and acknowledges a result only once it is committed.
 *
 * @module
 */
import {
  type AgentMessage,
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_PROTOCOL_MISMATCH,
  CLOSE_REPLACED,
  CLOSE_UNAUTHORIZED,
  type ExecutionResult,
  type HelloMessage,
  parseAgentMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type TaskSpec,
  type TickClaimMessage,
} from "../shared/protocol.ts";
import type { Logger } from "../shared/logger.ts";
import type { Config } from "./config.ts";
import type { EventBus } from "./events.ts";
import { createHubPushes } from "./hub_pushes.ts";
import type { LiveOutputBroker } from "./live_output.ts";
import type { Metrics } from "./metrics.ts";
import { resultStatus, type Store } from "./store.ts";

/** The part of a WebSocket the hub uses. */
export interface AgentSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Options for {@linkcode createHub}. */
/**
 * The hub's limits and heartbeat timing from the server's configuration, so the server and
 * its tests build the hub alike.
 *
 * @example
 * ```ts
 * createHub({ store, events, logger, instanceId, ...hubLimits(config) });
 * ```
 */
export function hubLimits(
  config: Pick<Config, "maxMessageBytes" | "heartbeatSeconds" | "heartbeatTimeoutSeconds">,
): Pick<HubOptions, "maxMessageBytes" | "heartbeatMs" | "heartbeatTimeoutMs"> {
  return {
    maxMessageBytes: config.maxMessageBytes,
    heartbeatMs: config.heartbeatSeconds * 1000,
    heartbeatTimeoutMs: config.heartbeatTimeoutSeconds * 1000,
  };
}

export interface HubOptions {
  store: Store;
  events: EventBus;
  logger: Logger;
  /** Names this server instance in `servers.connected_to`. */
  instanceId: string;
  /** Largest message accepted from an agent, in bytes. */
  maxMessageBytes: number;
  /** How often each agent is pinged. @default 10_000 */
  heartbeatMs?: number;
  /** A connection silent for this long is closed. @default 30_000 */
  heartbeatTimeoutMs?: number;
  clock?: { now(): number };
  /** Where live output goes for `/api/v1/executions/{id}/stream`. */
  live?: LiveOutputBroker;
  /** Counts messages and stored results. */
  metrics?: Metrics;
}

/** The credentials a connection was opened with. */
export interface ConnectionIdentity {
  /** The token's id; null for a token not stored (the bootstrap admin token). */
  tokenId: string | null;
  /** The one `server_id` this connection may say hello as; undefined allows any. */
  boundServerId?: string;
}

/** One agent connection's state. */
interface Connection {
  socket: AgentSocket;
  identity: ConnectionIdentity;
  serverId?: string;
  /** The tasks this host was last sent, so it is told when one goes away. */
  tasks: Set<string>;
  lastSeen: number;
  lastPing: number;
  /** Messages are handled one after another, in the order they arrived. */
  queue: Promise<void>;
  /**
   * Results queued behind the message being handled, to be stored in one statement; a result
   * that arrives while this batch waits joins it, anything else closes it.
   */
  batch?: FinishedBatch;
}

/** Consecutive `execution.finished` messages of one connection, stored together. */
interface FinishedBatch {
  results: { result: ExecutionResult; arrived: number }[];
  /** Characters of their frames, so that a batch stays within one message's limit. */
  chars: number;
}

/** The most results stored in one statement. */
const MAX_BATCH_RESULTS = 1000;

/** The hub's public surface: what the WebSocket route and the server's lifecycle call. */
export interface Hub {
  /** Registers a freshly opened socket, opened with `identity`. */
  open(socket: AgentSocket, identity: ConnectionIdentity): Connection;
  /** Handles one text frame received on `connection`. */
  receive(connection: Connection, frame: string): void;
  /** Forgets a closed connection. */
  closed(connection: Connection): void;
  /** The ids of hosts connected to this instance. */
  connectedHosts(): string[];
  /** The ids of the tokens the open connections were made with. */
  connectedTokenIds(): string[];
  /** Closes every connection made with token `tokenId`; returns how many. */
  closeToken(tokenId: string, reason: string): number;
  close(): Promise<void>;
}

/**
 * Creates the hub. It subscribes to task events to push changes to connected hosts, and
 * runs one shared heartbeat timer for all connections.
 */
export function createHub(options: HubOptions): Hub {
  const { store, events, logger, instanceId, maxMessageBytes } = options;
  const { heartbeatMs = 10_000, heartbeatTimeoutMs = 30_000 } = options;
  const clock = options.clock ?? { now: () => Date.now() };
  const connections = new Set<Connection>();
  const byHost = new Map<string, Connection>();

  const send = (connection: Connection, message: ServerMessage) => {
    try {
      connection.socket.send(JSON.stringify(message));
      options.metrics?.wsMessage("out", message.type);
    } catch (err) {
      logger.debug("Send failed", { server_id: connection.serverId, error: String(err) });
    }
  };

  const handlers = createHandlers({ ...options, send, register });

  function register(connection: Connection, hello: HelloMessage) {
    const previous = byHost.get(hello.server_id);
    if (previous && previous !== connection) {
      previous.serverId = undefined;
      previous.socket.close(CLOSE_REPLACED, "Replaced by a newer connection from the same host");
    }
    connection.serverId = hello.server_id;
    byHost.set(hello.server_id, connection);
  }

  const pushes = createHubPushes({ store, logger, hosts: byHost, send });
  const unsubscribe = events.subscribe((event) => {
    pushes.handle(event).catch((err) =>
      logger.error("Pushing a task change failed", { ...event, error: String(err) })
    );
  });

  // One timer for all connections. It sweeps often enough that a silent connection is
  // dropped within a second of its timeout, and pings each connection at the last sweep
  // before its ping is due, so that a ping always goes out well before the timeout.
  const sweepMs = Math.min(heartbeatMs, 1000);
  const heartbeat = setInterval(() => {
    const now = clock.now();
    for (const c of connections) {
      if (now - c.lastSeen > heartbeatTimeoutMs) {
        logger.warn("Agent stopped answering", { server_id: c.serverId });
        c.socket.close(CLOSE_HEARTBEAT_TIMEOUT, "No message within the heartbeat timeout");
        closed(c);
      } else if (now - c.lastPing + sweepMs > heartbeatMs) {
        c.lastPing = now;
        send(c, { type: "ping", nonce: String(now) });
      }
    }
  }, sweepMs);

  function closed(connection: Connection) {
    if (!connections.delete(connection)) return;
    const serverId = connection.serverId;
    if (!serverId || byHost.get(serverId) !== connection) return;
    byHost.delete(serverId);
    logger.info("Agent disconnected", { server_id: serverId });
    connection.queue = connection.queue.then(() =>
      store.recordDisconnect(serverId, instanceId).catch((err) =>
        logger.error("Recording a disconnect failed", { server_id: serverId, error: String(err) })
      )
    );
  }

  /** Runs `handle` once every message before it on `connection` is handled. */
  function enqueue(connection: Connection, type: string, handle: () => Promise<void>) {
    connection.queue = connection.queue.then(handle).catch((err) => {
      logger.error("Handling an agent message failed", {
        server_id: connection.serverId,
        type,
        error: String(err),
      });
      send(connection, { type: "error", error: "The server failed to handle the message" });
    });
  }

  return {
    open(socket, identity) {
      const now = clock.now();
      const connection: Connection = {
        socket,
        identity,
        tasks: new Set(),
        lastSeen: now,
        lastPing: now,
        queue: Promise.resolve(),
      };
      connections.add(connection);
      return connection;
    },
    receive(connection, frame) {
      connection.lastSeen = clock.now();
      if (byteLength(frame) > maxMessageBytes) {
        logger.warn("Agent message too large", { server_id: connection.serverId });
        send(connection, {
          type: "error",
          error: `Message is larger than ${maxMessageBytes} bytes`,
        });
        return;
      }
      const parsed = parseAgentMessage(frame);
      if (!parsed.ok) {
        logger.warn("Unparsable agent message", {
          server_id: connection.serverId,
          error: parsed.error,
        });
        send(connection, { type: "error", error: parsed.error });
        return;
      }
      const message = parsed.message;
      options.metrics?.wsMessage("in", message.type);
      const arrived = performance.now();
      if (message.type === "execution.finished") {
        const { type: _, ...result } = message;
        const open = connection.batch;
        if (
          open && open.results.length < MAX_BATCH_RESULTS &&
          open.chars + frame.length <= maxMessageBytes
        ) {
          open.results.push({ result, arrived });
          open.chars += frame.length;
          return;
        }
        const batch: FinishedBatch = { results: [{ result, arrived }], chars: frame.length };
        connection.batch = batch;
        enqueue(connection, message.type, () => {
          if (connection.batch === batch) connection.batch = undefined;
          return handlers.finished(connection, batch.results);
        });
        return;
      }
      connection.batch = undefined;
      enqueue(connection, message.type, () => handlers.handle(connection, message, arrived));
    },
    closed,
    connectedHosts: () => [...byHost.keys()],
    connectedTokenIds: () => [
      ...new Set([...connections].flatMap((c) => c.identity.tokenId ?? [])),
    ],
    closeToken(tokenId, reason) {
      const matching = [...connections].filter((c) => c.identity.tokenId === tokenId);
      for (const c of matching) {
        logger.warn("Closing an agent connection", { server_id: c.serverId, reason });
        c.socket.close(CLOSE_UNAUTHORIZED, reason);
        closed(c);
      }
      return matching.length;
    },
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const c of connections) c.socket.close(1001, "Server shutting down");
      await Promise.all([...connections].map((c) => c.queue));
      connections.clear();
      byHost.clear();
    },
  };
}

const encoder = new TextEncoder();

/** UTF-8 length of `s`, encoding it only when its length leaves doubt. */
function byteLength(s: string): number {
  return s.length * 3 <= 1024 ? s.length : encoder.encode(s).length;
}

/** A server_id cut short enough for a close reason (at most 123 bytes in all). */
function clip(serverId: string): string {
  return serverId.length > 32 ? serverId.slice(0, 31) + "…" : serverId;
}

interface HandlerDeps extends HubOptions {
  send: (connection: Connection, message: ServerMessage) => void;
  register: (connection: Connection, hello: HelloMessage) => void;
}

/** What the hub does with each kind of agent message. */
function createHandlers(deps: HandlerDeps) {
  const { store, logger, instanceId, send, register, live, metrics } = deps;

  async function hello(connection: Connection, message: HelloMessage) {
    if (message.protocol !== PROTOCOL_VERSION) {
      logger.warn("Agent speaks another protocol version", {
        server_id: message.server_id,
        protocol: message.protocol,
      });
      connection.socket.close(
        CLOSE_PROTOCOL_MISMATCH,
        `Protocol version ${message.protocol} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    const bound = connection.identity.boundServerId;
    if (bound !== undefined && bound !== message.server_id) {
      logger.warn("Agent said hello as another host than its token's", {
        server_id: message.server_id,
        token_server_id: bound,
      });
      connection.socket.close(
        CLOSE_UNAUTHORIZED,
        `This token speaks for server_id '${clip(bound)}', not '${clip(message.server_id)}'`,
      );
      return;
    }
    register(connection, message);
    await store.recordHello(message, instanceId);
    const abandoned = await store.abandonExecutions(
      message.server_id,
      message.running.map((r) => r.execution_id),
      "The host restarted or lost this execution before reporting its result",
    );
    await store.forgetUntargetedTasks(message.server_id);
    const tasks: TaskSpec[] = await store.tasksForServer(message.server_id);
    await store.recordTasksSent(message.server_id, tasks);
    connection.tasks = new Set(tasks.map((task) => task.id));
    send(connection, { type: "sync", tasks });
    logger.info("Agent connected", {
      server_id: message.server_id,
      version: message.version,
      tasks: tasks.length,
      abandoned,
    });
  }

  /** Stores consecutive results of one host in one statement, then acks each. */
  async function finished(
    connection: Connection,
    batch: { result: ExecutionResult; arrived: number }[],
  ) {
    const serverId = connection.serverId;
    if (!serverId) {
      for (const _ of batch) {
        send(connection, { type: "error", error: "The first message must be a hello" });
      }
      return;
    }
    // A result sent twice in one batch would make the upsert touch its row twice.
    const unique = [...new Map(batch.map(({ result }) => [result.execution_id, result])).values()];
    const stored = new Set(await store.recordExecutionsFinished(serverId, unique));
    for (const { result, arrived } of batch) {
      send(connection, { type: "execution.ack", execution_id: result.execution_id });
      if (!stored.delete(result.execution_id.toLowerCase())) continue;
      const status = resultStatus(result);
      metrics?.resultIngested((performance.now() - arrived) / 1000);
      metrics?.executionsStored([{ status, schedule_lag_ms: result.schedule_lag_ms }]);
      live?.finish({
        execution_id: result.execution_id,
        status,
        exit_code: result.exit_code,
        error: result.error,
        finished_at: result.finished_at,
      });
    }
  }

  async function claim(connection: Connection, serverId: string, claim: TickClaimMessage) {
    const { task_id, scheduled_for } = claim;
    const granted = await store.claimTick(task_id, new Date(scheduled_for), serverId);
    send(connection, { type: "tick.claimed", task_id, scheduled_for, granted });
  }

  return {
    finished,
    async handle(connection: Connection, message: AgentMessage, arrived: number): Promise<void> {
      if (message.type === "hello") return await hello(connection, message);
      const serverId = connection.serverId;
      if (!serverId) {
        send(connection, { type: "error", error: "The first message must be a hello" });
        return;
      }
      switch (message.type) {
        case "task.accepted":
        case "task.rejected":
          return await store.recordTaskAnswer({
            task_id: message.task_id,
            server_id: serverId,
            revision: message.revision,
            state: message.type === "task.accepted" ? "accepted" : "rejected",
            reason: message.type === "task.rejected" ? message.reason : null,
          });
        case "execution.started":
          return await store.recordExecutionStarted(serverId, message);
        case "execution.finished": {
          // The hub batches these before they are queued; one alone is a batch of one.
          const { type: _, ...result } = message;
          return await finished(connection, [{ result, arrived }]);
        }
        case "execution.output":
          return live?.publish(message.execution_id, message.chunks);
        case "tick.claim":
          return await claim(connection, serverId, message);
        case "pong":
          return;
      }
    },
  };
}
