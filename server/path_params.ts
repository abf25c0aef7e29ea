import { isUuid, SERVER_ID_PATTERN } from "../shared/ids.ts";
import { ApiError } from "./http_errors.ts";

/**
 * A UUID path parameter, lower-cased; anything else answers 400 naming what it should be.
 *
 * @example
 * ```ts
 * const taskId = uuidParam(c.req.param("task_id"), "task");
 * ```
 */
export function uuidParam(value: string, what: "task" | "execution"): string {
  if (!isUuid(value)) throw new ApiError(400, `Malformed ${what} id: '${value}' is not a UUID`);
  return value.toLowerCase();
}

/**
 * A `server_id` path parameter; one that no host could have answers 400.
 *
 * @example
 * ```ts
 * const serverId = serverIdParam(c.req.param("server_id"));
 * ```
 */
export function serverIdParam(value: string): string {
  if (!SERVER_ID_PATTERN.test(value)) {
    throw new ApiError(400, `Malformed server id: '${value.slice(0, 200)}'`);
  }
  return value;
}
