import type { Context } from "hono";
import type { z } from "zod";
import { isUuid } from "../shared/ids.ts";
import { ApiError } from "./http_errors.ts";

/**
 * Reads the query string and validates it against `schema`, refusing with 400 naming the
 * parameter when one is unknown, repeated or has a bad value.
 *
 * @example
 * ```ts
 * const { limit, cursor } = readQuery(c, ListTasksQuery);
 * ```
 */
export function readQuery<S extends z.ZodObject>(c: Context, schema: S): z.output<S> {
  const all = c.req.queries();
  const unknown = Object.keys(all).filter((key) => !(key in schema.shape));
  if (unknown.length > 0) {
    const names = unknown.map((key) => `'${key}'`).join(", ");
    throw new ApiError(400, `Unknown query parameter${unknown.length > 1 ? "s" : ""}: ${names}`, {
      fields: unknown,
    });
  }
  const repeated = Object.keys(all).find((key) => all[key].length > 1);
  if (repeated) {
    throw new ApiError(400, `Query parameter '${repeated}' is given more than once`, {
      field: repeated,
    });
  }
  const result = schema.safeParse(c.req.query());
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = String(issue.path[0]);
  throw new ApiError(400, `Invalid query parameter '${field}': ${issue.message}`, { field });
}

/**
 * Turns the position of a list's last item into an opaque cursor for the next page.
 *
 * @example
 * ```ts
 * const next = encodeCursor(["2026-12-03T10:00:00.123456Z", id]);
 * ```
 */
export function encodeCursor(parts: string[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(parts));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Reads a cursor made by {@linkcode encodeCursor} with `count` parts; a cursor that is not one
 * answers 400.
 *
 * @example
 * ```ts
 * const [at, id] = decodeCursor(query.cursor, 2);
 * ```
 */
export function decodeCursor(cursor: string, count: number): string[] {
  try {
    const base64 = cursor.replaceAll("-", "+").replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const parts = JSON.parse(new TextDecoder().decode(bytes));
    if (
      Array.isArray(parts) && parts.length === count &&
      parts.every((part) => typeof part === "string" && part.length <= 200)
    ) {
      return parts;
    }
  } catch {
    // Answered below.
  }
  throw new ApiError(400, "Invalid query parameter 'cursor': not a cursor this server made", {
    field: "cursor",
  });
}

/**
 * Reads a cursor holding a list position: a timestamp with microseconds and a UUID.
 *
 * @example
 * ```ts
 * const after = query.cursor ? decodePositionCursor(query.cursor) : null;
 * ```
 */
export function decodePositionCursor(cursor: string): [string, string] {
  const [at, id] = decodeCursor(cursor, 2);
  if (!POSITION.test(at) || !isUuid(id)) {
    throw new ApiError(400, "Invalid query parameter 'cursor': not a cursor this server made", {
      field: "cursor",
    });
  }
  return [at, id];
}

const POSITION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * Splits the rows of a keyset query that asked for `limit + 1` rows into the page to answer
 * and the cursor of the next one (null on the last page), made by `cursorOf` from the page's
 * last row.
 *
 * @example
 * ```ts
 * const { page, next_cursor } = pageOf(rows, 50, (row) => [row.position, row.id]);
 * ```
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string[],
): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null,
  };
}
