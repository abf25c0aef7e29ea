/**
 * The OpenAPI 3.1 document, generated from the route table: each operation names the zod
 * schemas its handler validates with (path, query, body) and answers with, and
 * `z.toJSONSchema` turns them into the document's schemas.
 *
 * @module
 */
import { z } from "zod";

/** A response an operation may give. */
export interface ResponseSpec {
  description: string;
  /** The body's schema; none for an empty body. */
  schema?: z.ZodType;
  /** @default "application/json" */
  contentType?: string;
}

/** One operation of the API, as the route table lists it. */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** The path in OpenAPI form, e.g. `/api/v1/tasks/{task_id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, ResponseSpec>;
  /** Whether the call needs `Authorization: Bearer <token>`. @default false */
  authenticated?: boolean;
}

/** Options for {@linkcode openApiDocument}. */
export interface OpenApiOptions {
  title: string;
  version: string;
  description?: string;
}

type JsonObject = Record<string, unknown>;

/**
 * Builds the OpenAPI 3.1 document of `operations`.
 *
 * @example
 * ```ts
 * const document = openApiDocument(apiOperations(limits), { title: "taskscheduler", version });
 * ```
 */
export function openApiDocument(operations: Operation[], options: OpenApiOptions): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const operation of operations) {
    const item = paths[operation.path] ??= {};
    if (item[operation.method]) {
      throw new TypeError(`Cannot document ${operation.method} ${operation.path} twice`);
    }
    item[operation.method] = operationObject(operation);
  }
  const tags = [...new Set(operations.map((operation) => operation.tag))].map((name) => ({ name }));
  return {
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    tags,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API or agent token" },
      },
    },
  };
}

function operationObject(operation: Operation): JsonObject {
  const parameters = [
    ...parametersOf(operation.params, "path"),
    ...parametersOf(operation.query, "query"),
  ];
  const responses = Object.fromEntries(
    Object.entries(operation.responses).map(([code, response]) => [code, responseObject(response)]),
  );
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: jsonSchema(operation.body, "input") } },
        },
      }
      : {}),
    responses,
    ...(operation.authenticated ? { security: [{ bearer: [] }] } : {}),
  };
}

function parametersOf(schema: z.ZodObject | undefined, location: "path" | "query"): JsonObject[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...fieldSchema } = jsonSchema(field as z.ZodType, "input");
    return {
      name,
      in: location,
      required: location === "path" || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: fieldSchema,
    };
  });
}

function responseObject(response: ResponseSpec): JsonObject {
  if (!response.schema) return { description: response.description };
  const contentType = response.contentType ?? "application/json";
  return {
    description: response.description,
    content: { [contentType]: { schema: jsonSchema(response.schema, "output") } },
  };
}

/** The JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of `schema`. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonObject;
  return rest;
}
