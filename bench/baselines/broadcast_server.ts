/**
 * Baseline of benchmark 4: a bare WebSocket server. `GET /connect` upgrades; `POST /broadcast`
 * sends its body to every open socket, then answers 204. No API framework, no database.
 *
 * ```sh
 * PORT=8090 deno run --allow-net --allow-env bench/baselines/broadcast_server.ts
 * ```
 *
 * @module
 */
const sockets = new Set<WebSocket>();

Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")) }, async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/connect") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    return response;
  }
  if (path === "/broadcast" && req.method === "POST") {
    const message = await req.text();
    for (const socket of sockets) socket.send(message);
    return new Response(null, { status: 204 });
  }
  if (path === "/healthz") return Response.json({ status: "ok" });
  return new Response("Not found", { status: 404 });
});
