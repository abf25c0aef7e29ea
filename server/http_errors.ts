import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * A request failure with a JSON body `{error, ...extra}`; the app's error handler turns it
 * into the response.
 *
 * @example
 * ```ts
 * throw new ApiError(404, "Task not found", { task_id: id });
 * ```
 */
export class ApiError extends HTTPException {
  override name = "ApiError";
  readonly extra: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, message: string, extra: Record<string, unknown> = {}) {
    super(status, { message });
    this.extra = extra;
  }

  /** The JSON body this error answers with. */
  body(): Record<string, unknown> {
    return { error: this.message, ...this.extra };
  }
}
