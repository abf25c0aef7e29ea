/**
 * What the server and the agent share: the wire protocol, task statuses, cron checks, ids.
 *
 * @module
 */
export * from "./task_status.ts";
export * from "./cron.ts";
export * from "./ids.ts";
export * from "./protocol.ts";
export * from "./logger.ts";
