/**
 * A bare protocol client for hub tests: it sends exactly the frames a test writes, including
 * broken ones, which a real agent never would.
 */
import { PROTOCOL_VERSION, type ServerMessage } from "../../shared/protocol.ts";
import { waitFor } from "./wait.ts";

/** A raw WebSocket connection to the hub that records what it receives. */
export interface WsClient {
  received: ServerMessage[];
  /** Set once the server closed the connection. */
  closed?: { code: number; reason: string };
  send(message: unknown): void;
  sendRaw(frame: string | Uint8Array): void;
  /** Waits for a message of `type` (matching `where`) not yet taken, and takes it. */
  next<T extends ServerMessage["type"]>(
    type: T,
    where?: (m: Extract<ServerMessage, { type: T }>) => boolean,
  ): Promise<Extract<ServerMessage, { type: T }>>;
  waitClosed(): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode connectWs}. */
export interface ConnectWsOptions {
  /** Sent as `Authorization: Bearer <token>` on the upgrade; absent, no credentials. */
  token?: string;
}

/**
 * Opens a connection to the hub of the server at `baseUrl`; rejects when the upgrade is
 * refused, with the status in the message (e.g. "Invalid status code: 401").
 */
export async function connectWs(
  baseUrl: string,
  options: ConnectWsOptions = {},
): Promise<WsClient> {
  const headers: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : {};
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/api/v1/agents/connect", {
    headers,
  });
  const received: ServerMessage[] = [];
  const taken = new Set<ServerMessage>();
  const client: WsClient = {
    received,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (frame) => ws.send(frame),
    async next(type, where = () => true) {
      // deno-lint-ignore no-explicit-any
      const match = (m: any) => !taken.has(m) && m.type === type && where(m);
      const message = await waitFor(() => received.find(match), { what: `a ${type} message` });
      taken.add(message);
      // deno-lint-ignore no-explicit-any
      return message as any;
    },
    waitClosed: () => waitFor(() => client.closed, { what: "the connection to close" }),
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        ws.close();
        await waitFor(() => client.closed, { what: "the connection to close" });
      }
    },
    [Symbol.asyncDispose]: () => client.close(),
  };
  ws.onmessage = (event) => received.push(JSON.parse(event.data));
  ws.onclose = (event) => client.closed = { code: event.code, reason: event.reason };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (event) =>
      reject(new Error(`WebSocket connection failed: ${(event as ErrorEvent).message}`));
  });
  return client;
}

/** A valid hello for `serverId`. */
export function hello(serverId: string, extra: Record<string, unknown> = {}) {
  return {
    type: "hello",
    protocol: PROTOCOL_VERSION,
    server_id: serverId,
    hostname: `${serverId}.example`,
    labels: { env: "test" },
    version: "test",
    running: [],
    ...extra,
  };
}
