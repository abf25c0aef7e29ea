/** Small builders for the operations API tests. */
import assert from "node:assert/strict";
import type { z } from "zod";
import type { TestApp } from "./app.ts";

/** Creates a task (defaults: `true`, daily at 03:00) and returns its id. */
export async function createTask(
  app: TestApp,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const reply = await app.request("POST", "/api/v1/tasks/create", {
    command: "true",
    frequency: "0 3 * * *",
    ...fields,
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.command_id;
}

/** Reports a completed run over HTTP; `at` sets both its start and its end. */
export async function report(
  app: TestApp,
  taskId: string,
  fields: Record<string, unknown> & { server_id: string },
): Promise<void> {
  const reply = await app.request("PUT", `/api/v1/tasks/${taskId}/status`, {
    stdout: "",
    stderr: "",
    ...fields,
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

/** Asserts that `body` matches `schema` as the OpenAPI document describes it, no field more. */
export function assertShape(schema: z.ZodType, body: unknown): void {
  const result = schema.safeParse(body);
  assert.ok(result.success, `Body does not match its schema: ${result.error?.message}`);
}
