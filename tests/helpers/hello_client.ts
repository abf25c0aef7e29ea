/**
 * A minimal agent stand-in, run as its own process: it connects to the hub the way the agent
 * does (`TASKSCHEDULER_SERVER_URL`, `TASKSCHEDULER_AGENT_TOKEN`, `TASKSCHEDULER_SERVER_ID`),
 * says hello, prints the sync it gets as one JSON line and exits 0; on any failure it prints
 * the reason and exits 1. TLS trust comes from Deno itself (`DENO_CERT`), as for the agent.
 *
 * @module
 */
import { parseServerMessage } from "../../shared/protocol.ts";
import { hello } from "./ws_client.ts";

const url = Deno.env.get("TASKSCHEDULER_SERVER_URL")!;
const token = Deno.env.get("TASKSCHEDULER_AGENT_TOKEN");
const serverId = Deno.env.get("TASKSCHEDULER_SERVER_ID")!;

const ws = new WebSocket(url, {
  headers: token ? { authorization: `Bearer ${token}` } : {},
});
const timer = setTimeout(() => fail("No sync within 20 s"), 20_000);

function fail(reason: string): never {
  console.log(JSON.stringify({ error: reason }));
  Deno.exit(1);
}

ws.onopen = () => ws.send(JSON.stringify(hello(serverId)));
ws.onerror = (event) => fail((event as ErrorEvent).message);
ws.onclose = (event) => fail(`Closed with ${event.code}: ${event.reason}`);
ws.onmessage = (event) => {
  const parsed = parseServerMessage(String(event.data));
  if (!parsed.ok) fail(parsed.error);
  if (parsed.message.type !== "sync") return;
  clearTimeout(timer);
  console.log(JSON.stringify({ sync: parsed.message.tasks.length }));
  ws.onclose = () => Deno.exit(0);
  ws.close();
};
