/**
 * Authentication of every `/api/v1` request by bearer token, and the role check of
 * {@linkcode permits}: 401 for missing or bad credentials, 403 for a valid token that may not
 * make the call, 429 for an address that failed too often.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import type { Logger } from "../shared/logger.ts";
import { permits } from "./access_policy.ts";
import { ApiError } from "./http_errors.ts";
import type { FailureLimiter } from "./rate_limit.ts";
import type { Store, TokenRecord } from "./store.ts";
import { hashToken, isTokenShaped, type Role, sameHash } from "./tokens.ts";

/** Who is calling: the token that authenticated the request. */
export interface Principal {
  /** The token's id; null for the bootstrap token from `TASKSCHEDULER_API_TOKEN`. */
  tokenId: string | null;
  name: string;
  role: Role;
  /** The host an agent token speaks for; null for other roles. */
  serverId: string | null;
}

declare module "hono" {
  interface ContextVariableMap {
    /** Set by {@linkcode authenticate} on every request it lets through. */
    principal: Principal;
    /** The caller's address, as the audit log and the rate limit see it. */
    clientAddress: string;
  }
}

/** Options for {@linkcode authenticate}. */
export interface AuthenticateOptions {
  store: Pick<Store, "tokenByHash" | "touchToken">;
  /** The bootstrap admin token from the environment; compared in memory, never stored. */
  apiToken?: string;
  limiter: FailureLimiter;
  logger: Logger;
  /** @default {@linkcode connectionAddress} */
  clientAddress?: (c: Context) => string;
  /** @default the system clock */
  clock?: { now(): Date };
  /** A token's `last_used_at` is written at most this often, in ms. @default 60_000 */
  touchEveryMs?: number;
}

/** The name the bootstrap token acts under in logs and the audit log. */
export const BOOTSTRAP_TOKEN_NAME = "TASKSCHEDULER_API_TOKEN";

const REALM = 'Bearer realm="taskscheduler"';
const BEARER = /^Bearer +(\S+)$/i;

type Identified =
  | { ok: true; principal: Principal }
  | { ok: false; reason: "missing" | "malformed" | "unknown" | "revoked" };

/**
 * Creates the middleware that authenticates a request and checks its role, setting
 * `principal` and `clientAddress` on the context.
 *
 * @example
 * ```ts
 * api.use(authenticate({ store, limiter: createFailureLimiter(), logger }));
 * ```
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler {
  const { store, limiter, logger, touchEveryMs = 60_000 } = options;
  const { clientAddress = connectionAddress, clock = { now: () => new Date() } } = options;
  const bootstrapHash = options.apiToken ? hashToken(options.apiToken) : undefined;

  async function identify(header: string | undefined): Promise<Identified> {
    if (!header) return { ok: false, reason: "missing" };
    const token = BEARER.exec(header)?.[1];
    if (!token || !isTokenShaped(token)) return { ok: false, reason: "malformed" };
    const hash = hashToken(token);
    if (bootstrapHash && sameHash(hash, bootstrapHash)) {
      return {
        ok: true,
        principal: { tokenId: null, name: BOOTSTRAP_TOKEN_NAME, role: "admin", serverId: null },
      };
    }
    // Looked up by its hash: what an index lookup's timing could reveal is the hash, which
    // tells nothing about the token.
    const row = await store.tokenByHash(hash);
    if (!row) return { ok: false, reason: "unknown" };
    if (row.revoked_at) return { ok: false, reason: "revoked" };
    await touch(row);
    return {
      ok: true,
      principal: { tokenId: row.id, name: row.name, role: row.role, serverId: row.server_id },
    };
  }

  async function touch(row: TokenRecord) {
    const now = clock.now().getTime();
    if (row.last_used_at && now - row.last_used_at.getTime() < touchEveryMs) return;
    await store.touchToken(row.id);
  }

  return async function authenticate(c, next) {
    const address = clientAddress(c);
    c.set("clientAddress", address);
    const wait = limiter.retryAfter(address);
    if (wait > 0) {
      c.header("Retry-After", String(wait));
      throw new ApiError(
        429,
        `Too many failed authentications from this address: retry in ${wait} s`,
      );
    }
    const identified = await identify(c.req.header("authorization"));
    if (!identified.ok) {
      const { reason } = identified;
      if (reason !== "missing") limiter.fail(address);
      logger.warn("Authentication failed", {
        reason,
        client_address: address,
        method: c.req.method,
        path: c.req.path,
      });
      throw unauthorized(c, reason);
    }
    const { principal } = identified;
    if (!permits(principal.role, c.req.method, c.req.path)) {
      const article = principal.role === "read" ? "A" : "An";
      throw new ApiError(
        403,
        `${article} ${principal.role} token may not call ${c.req.method} ${c.req.path}`,
      );
    }
    c.set("principal", principal);
    await next();
  };
}

function unauthorized(c: Context, reason: Exclude<Identified, { ok: true }>["reason"]) {
  switch (reason) {
    case "missing":
      c.header("WWW-Authenticate", REALM);
      return new ApiError(401, "Missing credentials: send 'Authorization: Bearer <token>'");
    case "malformed":
      c.header("WWW-Authenticate", `${REALM}, error="invalid_request"`);
      return new ApiError(401, "Malformed Authorization header: expected 'Bearer <token>'");
    case "unknown":
    case "revoked":
      c.header("WWW-Authenticate", `${REALM}, error="invalid_token"`);
      return new ApiError(401, "Invalid or revoked token");
  }
}

/**
 * Refuses (403) a result reported by an agent token for another host than its own; other
 * roles allowed to report may name any host.
 *
 * @example
 * ```ts
 * assertReportsForItself(c, body.server_id);
 * ```
 */
export function assertReportsForItself(c: Context, serverId: string): void {
  const principal = c.get("principal");
  if (principal?.role === "agent" && principal.serverId !== serverId) {
    throw new ApiError(
      403,
      `This token reports for server_id '${principal.serverId}', not '${serverId}'`,
      { field: "server_id" },
    );
  }
}

/**
 * The peer address of the connection, from `Deno.serve`'s connection info; `unknown` when
 * there is none (e.g. `app.request()` in tests).
 */
export function connectionAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
