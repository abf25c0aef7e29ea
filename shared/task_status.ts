/**
 * The states a task can be in, as the public API reports them.
 *
 * @example
 * ```ts
 * import { TaskStatus } from "./task_status.ts";
 * if (status === TaskStatus.CompletedSuccess) console.log("done");
 * ```
 */
export const TaskStatus = {
  Invalid: "TASK_INVALID",
  Received: "TASK_RECEIVED",
  Scheduled: "TASK_SCHEDULED",
  Executing: "TASK_EXECUTING",
  CompletedSuccess: "TASK_COMPLETED_SUCCESS",
  CompletedError: "TASK_COMPLETED_ERROR",
} as const;

/** One of the values of {@linkcode TaskStatus}. */
export type TaskStatus = typeof TaskStatus[keyof typeof TaskStatus];

/** Every {@linkcode TaskStatus} value, in lifecycle order. */
export const TASK_STATUSES = Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]];

/** The statuses an execution can end in. */
export const COMPLETED_STATUSES = [TaskStatus.CompletedSuccess, TaskStatus.CompletedError] as const;

/** A status an execution ends in. */
export type CompletedStatus = typeof COMPLETED_STATUSES[number];
