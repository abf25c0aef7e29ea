/**
 * The agent's outgoing WebSocket to the hub: hello on open, pong to every ping, reconnects
 * with capped exponential backoff and full jitter, and a silence watchdog.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import {
  type AgentMessage,
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_PROTOCOL_MISMATCH,
  CLOSE_REPLACED,
  CLOSE_UNAUTHORIZED,
  type HelloMessage,
  parseServerMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../shared/protocol.ts";
import { settlesWithin } from "./timing.ts";

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Options for {@linkcode createConnection}. */
export interface ConnectionOptions {
  /** The hub endpoint, `ws://` or `wss://`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` on the upgrade when set. @default null */
  token?: string | null;
  /** Builds the `hello` sent first on every connection. */
  hello: () => HelloMessage;
  /** Called once `hello` is sent on a new connection. */
  onOpen?: () => void;
  /** Called with every valid message from the server except `ping`, answered here. */
  onMessage: (message: ServerMessage) => void;
  /** Called when an open connection ends. */
  onClose?: (info: CloseInfo) => void;
  /** @default createLogger() */
  logger?: Logger;
  /** Source of jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** First reconnect delay ceiling. @default 500 */
  backoffBaseMs?: number;
  /** Largest reconnect delay. @default 30000 */
  backoffCapMs?: number;
  /** A connection that brings nothing at all for this long is dropped. @default 45000 */
  silenceTimeoutMs?: number;
  /** Best-effort messages are dropped while more than this is waiting to be sent. @default 1048576 */
  maxBufferedBytes?: number;
}

/** A self-healing connection to the hub. */
export interface Connection {
  /** Starts connecting; reconnects on its own until stopped. */
  start(): void;
  /** Closes the connection for good (code 1000 unless told otherwise). */
  stop(code?: number, reason?: string): Promise<void>;
  /** Sends `message` if a connection is open; tells whether it was sent. */
  send(message: AgentMessage): boolean;
  /** Like `send`, but also drops the message while the socket is backed up. */
  sendBestEffort(message: AgentMessage): boolean;
  /** Whether a connection is open and `hello` was sent on it. */
  readonly isOpen: boolean;
}

/** Options for {@linkcode backoffDelay}. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random: () => number;
}

/**
 * The delay before reconnect attempt `attempt` (0-based): exponential backoff with full
 * jitter, a random value in `[0, min(cap, base * 2^attempt))`.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseMs: 500, capMs: 30_000, random: () => 0.5 }); // 2000
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(options.random() * ceiling);
}

interface Attempt {
  ws: WebSocket;
  opened: boolean;
  error: string | null;
}

/**
 * Creates the connection. Backoff restarts from the base once the server answers `hello`
 * with `sync`; until then every failed attempt doubles the ceiling, up to the cap. A close
 * with {@linkcode CLOSE_PROTOCOL_MISMATCH} is logged as an error and retried the same way.
 *
 * @example
 * ```ts
 * const connection = createConnection({
 *   url: config.serverUrl,
 *   hello: () => ({ type: "hello", protocol: PROTOCOL_VERSION, ...identity, running: [] }),
 *   onMessage: (message) => console.log(message.type),
 * });
 * connection.start();
 * ```
 */
export function createConnection(options: ConnectionOptions): Connection {
  const {
    url,
    token = null,
    logger = createLogger(),
    random = Math.random,
    backoffBaseMs = 500,
    backoffCapMs = 30_000,
    silenceTimeoutMs = 45_000,
    maxBufferedBytes = 1_048_576,
  } = options;
  let current: Attempt | null = null;
  let failures = 0;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let silenceTimer: ReturnType<typeof setTimeout> | undefined;

  function connect(): void {
    retryTimer = undefined;
    if (stopped) return;
    const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, headers ? { headers } : undefined);
    } catch (err) {
      logger.error("Cannot open a WebSocket", { url, error: (err as Error).message });
      scheduleRetry();
      return;
    }
    const attempt: Attempt = { ws, opened: false, error: null };
    current = attempt;
    watchSilence(attempt);
    ws.onopen = () => current === attempt && opened(attempt);
    ws.onmessage = (event) => {
      if (current !== attempt) return;
      watchSilence(attempt);
      receive(event.data);
    };
    ws.onerror = (event) => {
      attempt.error = (event as ErrorEvent).message ?? "WebSocket error";
    };
    ws.onclose = (event) => {
      if (current === attempt) dropped(attempt, { code: event.code, reason: event.reason });
    };
  }

  function opened(attempt: Attempt): void {
    attempt.opened = true;
    logger.info("Connected", { url });
    if (!write(attempt.ws, options.hello(), logger)) return;
    callSafely(logger, "onOpen", () => options.onOpen?.());
  }

  function receive(data: unknown): void {
    const message = readFrame(data, logger);
    if (message?.type === "ping") {
      if (current) write(current.ws, { type: "pong", nonce: message.nonce }, logger);
    } else if (message) {
      if (message.type === "sync") failures = 0;
      callSafely(logger, "onMessage", () => options.onMessage(message));
    }
  }

  function dropped(attempt: Attempt, info: CloseInfo): void {
    current = null;
    clearTimeout(silenceTimer);
    if (attempt.opened) {
      logger.info("Disconnected", { ...info });
      callSafely(logger, "onClose", () => options.onClose?.(info));
    }
    logClose(logger, info, { url, opened: attempt.opened, error: attempt.error, failures });
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (stopped) return;
    const delay = backoffDelay(failures, {
      baseMs: backoffBaseMs,
      capMs: backoffCapMs,
      random,
    });
    failures++;
    logger.debug("Reconnecting", { in_ms: delay, attempt: failures });
    retryTimer = setTimeout(connect, delay);
  }

  /** Drops a connection (or an attempt) that has brought nothing for too long. */
  function watchSilence(attempt: Attempt): void {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      if (current !== attempt) return;
      const reason = `No message from the server for ${silenceTimeoutMs / 1000} s`;
      logger.warn("Dropping a silent connection", { reason });
      // A dead peer may never finish the closing handshake: move on without waiting for it.
      try {
        attempt.ws.close(CLOSE_HEARTBEAT_TIMEOUT, reason);
      } catch { /* already closing */ }
      dropped(attempt, { code: CLOSE_HEARTBEAT_TIMEOUT, reason });
    }, silenceTimeoutMs);
  }

  return {
    start() {
      if (stopped || current || retryTimer !== undefined) return;
      connect();
    },
    async stop(code = 1000, reason = "Agent shutting down") {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      const attempt = current;
      current = null;
      if (!attempt || attempt.ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => attempt.ws.addEventListener("close", resolve));
      try {
        attempt.ws.close(code, reason);
      } catch { /* already closing */ }
      await settlesWithin(closed, 2_000);
      if (attempt.opened) {
        logger.info("Disconnected", { code, reason });
        callSafely(logger, "onClose", () => options.onClose?.({ code, reason }));
      }
    },
    send(message) {
      return current?.opened ? write(current.ws, message, logger) : false;
    },
    sendBestEffort(message) {
      if (!current?.opened || current.ws.bufferedAmount > maxBufferedBytes) return false;
      return write(current.ws, message, logger);
    },
    get isOpen() {
      return current?.opened === true && current.ws.readyState === WebSocket.OPEN;
    },
  };
}

/** Parses one frame from the server; logs and returns null when it is not a valid message. */
function readFrame(data: unknown, logger: Logger): ServerMessage | null {
  if (typeof data !== "string") {
    logger.warn("Ignored a binary frame from the server");
    return null;
  }
  const parsed = parseServerMessage(data);
  if (parsed.ok) return parsed.message;
  logger.warn("Ignored an invalid message from the server", {
    error: parsed.error,
    frame: data.slice(0, 500),
  });
  return null;
}

/** What is known about a connection attempt when it ends. */
interface AttemptOutcome {
  url: string;
  opened: boolean;
  error: string | null;
  /** Failed attempts in a row before this one. */
  failures: number;
}

/** Says why a connection ended, loudest for what an operator must fix. */
function logClose(logger: Logger, info: CloseInfo, outcome: AttemptOutcome): void {
  const fields = { code: info.code, reason: info.reason };
  if (info.code === CLOSE_PROTOCOL_MISMATCH) {
    logger.error("The server refused this agent's protocol version", {
      ...fields,
      protocol: PROTOCOL_VERSION,
    });
  } else if (info.code === CLOSE_UNAUTHORIZED) {
    logger.error("The server refused this agent's credentials", fields);
  } else if (info.code === CLOSE_REPLACED) {
    logger.warn("Another connection with this server_id replaced this one", fields);
  } else if (!outcome.opened) {
    // Said once per outage; the attempts that follow are only worth a debug line.
    const level = outcome.failures === 0 ? "warn" : "debug";
    logger[level]("Cannot reach the server", { url: outcome.url, error: outcome.error });
  }
}

function write(ws: WebSocket, message: AgentMessage, logger: Logger): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  try {
    ws.send(JSON.stringify(message));
    return true;
  } catch (err) {
    logger.warn("Cannot send a message", { type: message.type, error: (err as Error).message });
    return false;
  }
}

function callSafely(logger: Logger, name: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.error(`Connection ${name} handler failed`, { error: String(err) });
  }
}
