import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./http_errors.ts";

/** Options for {@linkcode readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** Extra fields on a 422 answer, e.g. `{status: "TASK_INVALID"}`. @default {} */
  invalidExtra?: Record<string, unknown>;
}

/**
 * Reads a JSON object body and validates it against `schema`, refusing with a clear error:
 * 415 when it is not `application/json`, 400 when it does not parse, is not an object or has
 * unknown fields, 422 when a field is missing or has a bad value (naming the field).
 */
export async function readJsonBody<S extends z.ZodObject>(
  c: Context,
  schema: S,
  options: ReadJsonBodyOptions = {},
): Promise<z.infer<S>> {
  const { invalidExtra = {} } = options;
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, "Content-Type must be application/json");
  }
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `Malformed JSON: ${(err as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "Body must be a JSON object");
  }
  const unknown = Object.keys(body).filter((key) => !(key in schema.shape));
  if (unknown.length > 0) {
    const names = unknown.map((key) => `'${key}'`).join(", ");
    throw new ApiError(400, `Unknown field${unknown.length > 1 ? "s" : ""}: ${names}`, {
      fields: unknown,
    });
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join(".");
  const message = issue.path.length === 1 && !(field in body)
    ? `Missing field '${field}'`
    : `Invalid field '${field}': ${issue.message}`;
  throw new ApiError(422, message, { ...invalidExtra, field });
}
