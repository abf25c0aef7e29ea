/**
 * A fake hub for the agent tests. It stands in for the server's WebSocket hub, speaking the
 * protocol from `shared/protocol.ts`, so that the agent's reconnect, delivery and spool logic
 * can be driven deterministically: the test decides when to sync, ack, ping, drop the
 * connection or go away entirely.
 *
 * @module
 */
import {
  type AgentMessage,
  parseAgentMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type TaskSpec,
} from "../../shared/protocol.ts";

/** How an agent's connection to the hub ended, as the hub saw it. */
export interface HubClose {
  code: number;
  reason: string;
}

/** Options for {@linkcode startFakeHub}. */
export interface FakeHubOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Sent as `sync` after every hello. @default [] */
  tasks?: TaskSpec[];
  /** Answer every `execution.finished` with `execution.ack`. @default true */
  autoAck?: boolean;
  /** Close every connection right after its hello with this code and reason. */
  refuseHello?: HubClose;
}

/** Options for {@linkcode FakeHub.waitFor}. */
export interface WaitOptions<M> {
  /** Only a message for which this holds counts. */
  where?: (message: M) => boolean;
  /** Only messages received at or after this index (see `mark`) count. @default 0 */
  since?: number;
  /** Failure guard. @default 15000 */
  timeoutMs?: number;
}

type MessageOf<T extends AgentMessage["type"]> = Extract<AgentMessage, { type: T }>;

/** A running fake hub. */
export interface FakeHub {
  /** The base URL to give the agent, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Tasks sent in the `sync` after each hello. */
  tasks: TaskSpec[];
  /** Whether results are acked as they arrive. */
  autoAck: boolean;
  /** Every valid message received, in order. */
  readonly messages: AgentMessage[];
  /** Frames that did not parse, with the error. */
  readonly invalid: string[];
  /** How each agent connection ended. */
  readonly closes: HubClose[];
  /** The `Authorization` header of each upgrade request, in order. */
  readonly authorizations: (string | null)[];
  /** The index the next message will get; pass it as `since`. */
  mark(): number;
  /** Resolves with the first matching message, waiting for it if needed. */
  waitFor<T extends AgentMessage["type"]>(
    type: T,
    options?: WaitOptions<MessageOf<T>>,
  ): Promise<MessageOf<T>>;
  /** Resolves once `count` connection closes have been seen. */
  waitForCloses(count: number, timeoutMs?: number): Promise<HubClose[]>;
  /** Sends a message to every open agent connection. */
  send(message: ServerMessage): void;
  /** Sends a raw text frame to every open agent connection. */
  sendRaw(frame: string): void;
  /** Closes every agent connection but keeps listening. */
  disconnect(code?: number, reason?: string): Promise<void>;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

interface Waiter {
  test: () => boolean;
  resolve: () => void;
}

/**
 * Starts a fake hub on 127.0.0.1 that accepts agents at `/api/v1/agents/connect`.
 *
 * @example
 * ```ts
 * const hub = await startFakeHub({ tasks: [task] });
 * try {
 *   const hello = await hub.waitFor("hello");
 * } finally {
 *   await hub.close();
 * }
 * ```
 */
export function startFakeHub(options: FakeHubOptions = {}): Promise<FakeHub> {
  const sockets = new Set<WebSocket>();
  const closed = new Map<WebSocket, Promise<void>>();
  const waiters = new Set<Waiter>();
  const notify = () => {
    for (const waiter of waiters) {
      if (waiter.test()) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => listening.resolve() },
    (request) => {
      if (new URL(request.url).pathname !== "/api/v1/agents/connect") {
        return new Response("Not found", { status: 404 });
      }
      hub.authorizations.push(request.headers.get("authorization"));
      const { socket, response } = Deno.upgradeWebSocket(request);
      accept(socket);
      return response;
    },
  );

  function accept(socket: WebSocket): void {
    sockets.add(socket);
    const done = Promise.withResolvers<void>();
    closed.set(socket, done.promise);
    socket.onmessage = (event) => receive(socket, String(event.data));
    socket.onclose = (event) => {
      sockets.delete(socket);
      hub.closes.push({ code: event.code, reason: event.reason });
      done.resolve();
      notify();
    };
  }

  function receive(socket: WebSocket, frame: string): void {
    const parsed = parseAgentMessage(frame);
    if (!parsed.ok) {
      hub.invalid.push(`${parsed.error}: ${frame}`);
      sendTo(socket, { type: "error", error: parsed.error });
      return;
    }
    const message = parsed.message;
    hub.messages.push(message);
    if (message.type === "hello") {
      if (options.refuseHello) socket.close(options.refuseHello.code, options.refuseHello.reason);
      else if (message.protocol !== PROTOCOL_VERSION) socket.close(4000, "Protocol mismatch");
      else sendTo(socket, { type: "sync", tasks: hub.tasks });
    } else if (message.type === "execution.finished" && hub.autoAck) {
      sendTo(socket, { type: "execution.ack", execution_id: message.execution_id });
    }
    notify();
  }

  function sendTo(socket: WebSocket, message: ServerMessage | string): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  function waitUntil<T>(test: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const found = test();
    if (found !== undefined) return Promise.resolve(found);
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    let value: T | undefined;
    const waiter: Waiter = {
      test: () => (value = test()) !== undefined,
      resolve: () => {
        clearTimeout(timer);
        resolve(value as T);
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`Fake hub timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    waiters.add(waiter);
    return promise;
  }

  async function closeSockets(code: number, reason: string): Promise<void> {
    const pending = [...sockets].map((socket) => {
      socket.close(code, reason);
      return closed.get(socket);
    });
    await Promise.all(pending);
  }

  const hub: FakeHub = {
    get url() {
      return `http://127.0.0.1:${server.addr.port}`;
    },
    get port() {
      return server.addr.port;
    },
    tasks: options.tasks ?? [],
    autoAck: options.autoAck ?? true,
    messages: [],
    invalid: [],
    closes: [],
    authorizations: [],
    mark: () => hub.messages.length,
    waitFor(type, { where = () => true, since = 0, timeoutMs = 15_000 } = {}) {
      type M = MessageOf<typeof type>;
      const test = () =>
        hub.messages.slice(since).find((message): message is M =>
          message.type === type && where(message as M)
        );
      return waitUntil(test, `a '${type}' message`, timeoutMs);
    },
    waitForCloses(count, timeoutMs = 15_000) {
      const test = () => hub.closes.length >= count ? hub.closes.slice() : undefined;
      return waitUntil(test, `${count} closed connection(s)`, timeoutMs);
    },
    send(message) {
      for (const socket of sockets) sendTo(socket, message);
    },
    sendRaw(frame) {
      for (const socket of sockets) sendTo(socket, frame);
    },
    disconnect: (code = 1012, reason = "Hub restarting") => closeSockets(code, reason),
    async close() {
      await closeSockets(1001, "Hub going away");
      await server.shutdown();
    },
  };
  return listening.promise.then(() => hub);
}
