import { z } from "zod";
import { LOG_LEVELS } from "../shared/logger.ts";
import { isTokenShaped, MIN_TOKEN_LENGTH } from "./tokens.ts";

const MiB = 1024 * 1024;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting of the server, with its environment variable and default. */
const ConfigSchema = z.object({
  PORT: integer(0, 65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  TASKSCHEDULER_DATA_DIR: z.string().min(1).default("./data"),
  TASKSCHEDULER_MAX_BODY_BYTES: integer(1024, 1024 * MiB).default(4 * MiB),
  TASKSCHEDULER_MAX_COMMAND_BYTES: integer(1, MiB).default(64 * 1024),
  TASKSCHEDULER_MAX_OUTPUT_BYTES: integer(1024, 256 * MiB).default(MiB),
  TASKSCHEDULER_MAX_MESSAGE_BYTES: integer(1024, 1024 * MiB).default(16 * MiB),
  TASKSCHEDULER_HEARTBEAT_SECONDS: integer(1, 3600).default(10),
  TASKSCHEDULER_HEARTBEAT_TIMEOUT_SECONDS: integer(2, 3600).default(30),
  TASKSCHEDULER_DB_POOL_SIZE: integer(1, 1000).default(10),
  TASKSCHEDULER_LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  TASKSCHEDULER_API_TOKEN: z.string()
    .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)
    .refine(isTokenShaped, "must be letters, digits and - . _ ~ + / only")
    .optional(),
  TASKSCHEDULER_AUTH_FAILURE_LIMIT: integer(1, 100_000).default(10),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  TASKSCHEDULER_RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional(),
  TASKSCHEDULER_RETENTION_PER_TASK_HOST: integer(1, 10_000_000).optional(),
  TASKSCHEDULER_RETENTION_INTERVAL_SECONDS: integer(1, 86_400).default(60),
}).superRefine((c, ctx) => {
  if (Boolean(c.TLS_CERT_FILE) === Boolean(c.TLS_KEY_FILE)) return;
  const [given, missing] = c.TLS_CERT_FILE
    ? ["TLS_CERT_FILE", "TLS_KEY_FILE"]
    : ["TLS_KEY_FILE", "TLS_CERT_FILE"];
  ctx.addIssue({ code: "custom", path: [missing], message: `required when ${given} is set` });
});

/** Variables whose value an error message must not repeat. */
const SECRETS = new Set(["TASKSCHEDULER_API_TOKEN"]);

/** The server's resolved configuration. */
export interface Config {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Address to listen on. */
  host: string;
  /** PostgreSQL URL; undefined means the embedded database in {@linkcode Config.dataDir}. */
  databaseUrl?: string;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Largest task command accepted, in UTF-8 bytes. */
  maxCommandBytes: number;
  /** Largest stdout or stderr accepted per execution, in UTF-8 bytes. */
  maxOutputBytes: number;
  /** Largest WebSocket message accepted from an agent, in bytes. */
  maxMessageBytes: number;
  /** How often agents are pinged, in seconds. */
  heartbeatSeconds: number;
  /** An agent silent for this many seconds is disconnected. */
  heartbeatTimeoutSeconds: number;
  /** Connections in the database pool. */
  dbPoolSize: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** A bootstrap admin token from the environment; kept in memory only, never stored. */
  apiToken?: string;
  /** Failed authentications per client address per minute before it must wait. */
  authFailureLimit: number;
  /** PEM certificate chain and key files; both set means HTTPS and WSS. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Executions that finished longer ago than this many days are deleted; unset keeps all. */
  retentionDays?: number;
  /** Only the newest this many completed executions per task and host are kept; unset keeps all. */
  retentionPerTaskHost?: number;
  /** How often retention runs, in seconds. */
  retentionIntervalSeconds: number;
}

/** A setting with a bad value; the message names the variable and the value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the server's configuration from environment variables.
 *
 * @example
 * ```ts
 * const config = parseConfig(Deno.env.toObject());
 * ```
 * @throws {ConfigError} naming the first variable whose value is bad
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.keys(ConfigSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]),
  );
  const result = ConfigSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0]);
    const value = env[name] === undefined
      ? "unset"
      : SECRETS.has(name)
      ? "(hidden)"
      : JSON.stringify(env[name]);
    throw new ConfigError(`Invalid value for ${name}: ${value} (${issue.message})`);
  }
  const c = result.data;
  return {
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    dataDir: c.TASKSCHEDULER_DATA_DIR,
    maxBodyBytes: c.TASKSCHEDULER_MAX_BODY_BYTES,
    maxCommandBytes: c.TASKSCHEDULER_MAX_COMMAND_BYTES,
    maxOutputBytes: c.TASKSCHEDULER_MAX_OUTPUT_BYTES,
    maxMessageBytes: c.TASKSCHEDULER_MAX_MESSAGE_BYTES,
    heartbeatSeconds: c.TASKSCHEDULER_HEARTBEAT_SECONDS,
    heartbeatTimeoutSeconds: c.TASKSCHEDULER_HEARTBEAT_TIMEOUT_SECONDS,
    dbPoolSize: c.TASKSCHEDULER_DB_POOL_SIZE,
    logLevel: c.TASKSCHEDULER_LOG_LEVEL,
    apiToken: c.TASKSCHEDULER_API_TOKEN,
    authFailureLimit: c.TASKSCHEDULER_AUTH_FAILURE_LIMIT,
    tlsCertFile: c.TLS_CERT_FILE,
    tlsKeyFile: c.TLS_KEY_FILE,
    retentionDays: c.TASKSCHEDULER_RETENTION_DAYS,
    retentionPerTaskHost: c.TASKSCHEDULER_RETENTION_PER_TASK_HOST,
    retentionIntervalSeconds: c.TASKSCHEDULER_RETENTION_INTERVAL_SECONDS,
  };
}
