import { Hono } from "hono";
import { ApiError } from "../http_errors.ts";
import type { Store } from "../store.ts";

/** The most entries one page of the audit log holds. */
export const MAX_AUDIT_PAGE = 500;
const DEFAULT_AUDIT_PAGE = 50;

/**
 * The audit log, for admins: `GET /api/v1/audit?limit=50&before=<cursor>`, newest first;
 * `next_cursor` is the `before` of the next (older) page, null on the last one.
 *
 * @example
 * ```ts
 * api.route("/audit", auditRoutes({ store }));
 * ```
 */
export function auditRoutes({ store }: { store: Store }): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const limit = integerParam("limit", c.req.query("limit"), MAX_AUDIT_PAGE) ??
      DEFAULT_AUDIT_PAGE;
    const before = integerParam("before", c.req.query("before"), Number.MAX_SAFE_INTEGER);
    const entries = await store.auditPage({ limit, before: before?.toString() ?? null });
    const next_cursor = entries.length === limit ? entries[entries.length - 1].id : null;
    return c.json({ entries, next_cursor });
  });
  return app;
}

/** A positive integer query parameter, or undefined when absent. */
function integerParam(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new ApiError(
      400,
      `Invalid query parameter '${name}': expected an integer from 1 to ${max}`,
      {
        field: name,
      },
    );
  }
  return n;
}
