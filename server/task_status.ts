import { TaskStatus } from "../shared/task_status.ts";
import type { TaskStatusRow } from "./store.ts";

/** The body of `GET /api/v1/tasks/{task_id}/status`. */
export interface TaskStatusBody {
  status: TaskStatus;
  command: string;
  frequency: string;
  latest_complete_execution_timestamp: string | null;
  stdout: string | null;
  stderr: string | null;
}

/**
 * Derives a task's public status from its latest execution over all hosts, or, before any
 * execution, from what the hosts that received it answered.
 *
 * @example
 * ```ts
 * statusBody(await store.taskStatus(id)); // { status: "TASK_RECEIVED", ... }
 * ```
 */
export function statusBody(row: TaskStatusRow): TaskStatusBody {
  const status = row.latest_status ?? statusBeforeFirstRun(row);
  return {
    status,
    command: row.command,
    frequency: row.frequency,
    latest_complete_execution_timestamp: row.latest_complete_at?.toISOString() ?? null,
    stdout: status === TaskStatus.CompletedSuccess ? row.latest_stdout : null,
    stderr: status === TaskStatus.CompletedError ? row.latest_stderr : null,
  };
}

function statusBeforeFirstRun(row: TaskStatusRow): TaskStatus {
  if (row.accepted > 0) return TaskStatus.Scheduled;
  if (row.received > 0 && row.rejected === row.received) return TaskStatus.Invalid;
  return TaskStatus.Received;
}
