import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** Options for {@linkcode securityHeaders}. */
export interface SecurityHeadersOptions {
  /** Responses under this path prefix must not be cached. @default "/api/" */
  noStorePrefix?: string;
  /** Content policies for HTML pages, by path prefix, instead of the one that allows nothing. */
  pagePolicies?: Record<string, string>;
}

/**
 * Sets the security headers on every response, errors included: `nosniff`, a content
 * policy that allows nothing and no framing (the server serves no HTML, so any HTML a
 * response carried would be inert), and `Cache-Control: no-store` on API responses, which
 * carry task output.
 *
 * @example
 * ```ts
 * app.use(securityHeaders());
 * ```
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): MiddlewareHandler {
  const { noStorePrefix = "/api/", pagePolicies = {} } = options;
  const secure = secureHeaders({
    xFrameOptions: "DENY",
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    // Sent over HTTPS only, where it means something; see below.
    strictTransportSecurity: false,
  });
  return async function securityHeaders(c, next) {
    await secure(c, async () => {
      await next();
      // Set on the response itself, as secureHeaders does: c.header() would rebuild it,
      // which a WebSocket upgrade's 101 response does not survive.
      const headers = c.res.headers;
      if (c.req.path.startsWith(noStorePrefix)) headers.set("Cache-Control", "no-store");
      if (new URL(c.req.url).protocol === "https:") {
        headers.set("Strict-Transport-Security", "max-age=15552000; includeSubDomains");
      }
    });
    // After secureHeaders, which sets its own policy once the handler is done.
    for (const [prefix, policy] of Object.entries(pagePolicies)) {
      if (c.req.path.startsWith(prefix)) c.res.headers.set("Content-Security-Policy", policy);
    }
  };
}
