import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { Hub } from "../hub.ts";

/**
 * The WebSocket endpoint agents connect to: `GET /api/v1/agents/connect`. The request was
 * authenticated before the upgrade; an agent token binds the connection to its host.
 *
 * @example
 * ```ts
 * api.route("/agents", agentRoutes(hub));
 * ```
 */
export function agentRoutes(hub: Hub): Hono {
  const app = new Hono();
  app.get(
    "/connect",
    upgradeWebSocket((c) => {
      const { tokenId, role, serverId } = c.get("principal");
      let connection: ReturnType<Hub["open"]> | undefined;
      return {
        onOpen(_event, ws) {
          connection = hub.open({
            send: (data) => ws.send(data),
            close: (code, reason) => ws.close(code, reason),
          }, { tokenId, boundServerId: role === "agent" ? serverId ?? "" : undefined });
        },
        onMessage(event, ws) {
          if (!connection) return;
          if (typeof event.data !== "string") {
            ws.send(JSON.stringify({ type: "error", error: "Messages must be JSON text frames" }));
            return;
          }
          hub.receive(connection, event.data);
        },
        onClose() {
          if (connection) hub.closed(connection);
        },
      };
    }),
  );
  return app;
}
