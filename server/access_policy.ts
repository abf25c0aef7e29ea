/**
 * Which role may call which route, in one table. New routes fall under the defaults: an admin
 * may do everything, a read token may read (GET) outside the admin-only areas, and an agent
 * token may only connect to the hub and report results. Anything not listed is refused.
 *
 * @module
 */
import type { Role } from "./tokens.ts";

/** Routes only admins may read: token management and the audit log. */
const ADMIN_ONLY = /^\/api\/v1\/(tokens|audit)(\/|$)/;

/** The hub; a read token must not connect, or it could speak for any host. */
const AGENT_CONNECT = /^\/api\/v1\/agents\/connect$/;

/** What an agent token may call besides the hub: reporting a result over HTTP. */
const AGENT_REPORT = /^\/api\/v1\/tasks\/[^/]+\/status$/;

/**
 * Tells whether a token of `role` may call `method path`. Deciding here whether the call is
 * made on the caller's own behalf (an agent's `server_id`) is left to the route.
 *
 * @example
 * ```ts
 * permits("read", "GET", "/api/v1/tasks/7b0c.../status"); // true
 * permits("read", "POST", "/api/v1/tasks/create"); // false
 * ```
 */
export function permits(role: Role, method: string, path: string): boolean {
  switch (role) {
    case "admin":
      return true;
    case "read":
      return (method === "GET" || method === "HEAD") && !ADMIN_ONLY.test(path) &&
        !AGENT_CONNECT.test(path);
    case "agent":
      return (method === "GET" && AGENT_CONNECT.test(path)) ||
        (method === "PUT" && AGENT_REPORT.test(path));
  }
}
