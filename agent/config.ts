/**
 * The agent's one typed configuration, parsed from environment variables and command-line
 * flags (a flag overrides its variable).
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SERVER_ID_PATTERN } from "../shared/ids.ts";
import { LOG_LEVELS, type LogLevel } from "../shared/logger.ts";

/** Everything the agent needs to know about its surroundings, resolved once at start-up. */
export interface AgentConfig {
  /** WebSocket endpoint of the hub, e.g. `ws://127.0.0.1:8080/api/v1/agents/connect`. */
  serverUrl: string;
  /** This host's identity towards the server. */
  serverId: string;
  /** The machine's hostname, reported in `hello`. */
  hostname: string;
  /** Free-form `key=value` labels reported in `hello`. */
  labels: Record<string, string>;
  /** Where the spool and the persisted task set live. */
  stateDir: string;
  /** Cap on the bytes kept per output stream of one execution. */
  maxOutputBytes: number;
  /** Seconds between SIGTERM and SIGKILL when an execution is stopped. */
  killGraceSeconds: number;
  /** Seconds running executions get to finish when the agent shuts down. */
  shutdownGraceSeconds: number;
  /** Lowest level that is logged. */
  logLevel: LogLevel;
  /** Bearer token sent on the WebSocket upgrade, or null to send none. */
  agentToken: string | null;
}

/** Where {@linkcode parseAgentConfig} reads its raw values from. */
export interface ConfigSources {
  /** Environment variables, e.g. `Deno.env.toObject()`. */
  env: Record<string, string | undefined>;
  /** Command-line arguments, e.g. `Deno.args`. @default [] */
  args?: string[];
  /** The machine's hostname, the default `server_id`. */
  hostname: string;
}

/** A start-up setting that is missing or malformed; its message names the setting and value. */
export class ConfigError extends Error {
  /** Creates a config error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Name of the state directory under `$XDG_STATE_HOME` or `~/.local/state`. */
const STATE_DIR_NAME = "taskscheduler-agent";
const CONNECT_PATH = "/api/v1/agents/connect";
const TOKEN_VARIABLE = "TASKSCHEDULER_AGENT_TOKEN";

/** The settings that come from a variable or a flag, each with its own schema. */
const SETTINGS = {
  serverUrl: { env: "TASKSCHEDULER_SERVER_URL", flag: "server-url" },
  serverId: { env: "TASKSCHEDULER_SERVER_ID", flag: "server-id" },
  labels: { env: "TASKSCHEDULER_LABELS", flag: "labels" },
  stateDir: { env: "TASKSCHEDULER_STATE_DIR", flag: "state-dir" },
  maxOutputBytes: { env: "TASKSCHEDULER_MAX_OUTPUT_BYTES", flag: "max-output-bytes" },
  killGraceSeconds: { env: "TASKSCHEDULER_KILL_GRACE_SECONDS", flag: "kill-grace-seconds" },
  shutdownGraceSeconds: {
    env: "TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS",
    flag: "shutdown-grace-seconds",
  },
  logLevel: { env: "TASKSCHEDULER_LOG_LEVEL", flag: "log-level" },
} as const;

type SettingName = keyof typeof SETTINGS;

/** How to start the agent; printed for `--help`. */
export const AGENT_USAGE = `Usage: taskscheduler-agent [flags]

Flags (each overrides its environment variable):
  --server-url URL              TASKSCHEDULER_SERVER_URL (required), e.g. http://127.0.0.1:8080
  --server-id ID                TASKSCHEDULER_SERVER_ID (default: the hostname)
  --labels k=v,k=v              TASKSCHEDULER_LABELS
  --state-dir DIR               TASKSCHEDULER_STATE_DIR
                                (default: $XDG_STATE_HOME/${STATE_DIR_NAME} or
                                 ~/.local/state/${STATE_DIR_NAME})
  --max-output-bytes N          TASKSCHEDULER_MAX_OUTPUT_BYTES (default: 1048576, per stream)
  --kill-grace-seconds S        TASKSCHEDULER_KILL_GRACE_SECONDS (default: 5)
  --shutdown-grace-seconds S    TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS (default: 30)
  --log-level LEVEL             TASKSCHEDULER_LOG_LEVEL: ${LOG_LEVELS.join(", ")} (default: info)
  --help                        print this text

Environment only:
  ${TOKEN_VARIABLE}     bearer token sent when connecting (optional)`;

const positiveInteger = z.string().trim().regex(/^\d+$/, "must be a positive integer")
  .transform(Number).pipe(z.number().int().min(1, "must be a positive integer").max(2 ** 31));

const seconds = z.string().trim().regex(/^\d+(\.\d+)?$/, "must be a non-negative number of seconds")
  .transform(Number).pipe(z.number().max(86_400, "must be at most 86400 seconds"));

const SCHEMAS = {
  serverUrl: z.string().transform(toWebSocketUrl),
  serverId: z.string().trim().regex(
    SERVER_ID_PATTERN,
    "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit",
  ),
  labels: z.string().transform(parseLabels),
  stateDir: z.string().trim().min(1, "must not be empty"),
  maxOutputBytes: positiveInteger,
  killGraceSeconds: seconds,
  shutdownGraceSeconds: seconds,
  logLevel: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
} satisfies Record<SettingName, z.ZodType>;

/**
 * Resolves the agent's configuration from `sources`, or throws a {@linkcode ConfigError}
 * that names the offending variable (or flag) and its value.
 *
 * @example
 * ```ts
 * const config = parseAgentConfig({
 *   env: { TASKSCHEDULER_SERVER_URL: "http://127.0.0.1:8080", HOME: "/home/ops" },
 *   args: ["--labels", "zone=eu,role=db"],
 *   hostname: "db-1",
 * });
 * config.serverUrl; // "ws://127.0.0.1:8080/api/v1/agents/connect"
 * ```
 */
export function parseAgentConfig(sources: ConfigSources): AgentConfig {
  const { env, args = [], hostname } = sources;
  const flags = parseFlags(args);
  const read = <K extends SettingName>(
    name: K,
    fallback?: string,
    missing = "it is required",
  ): z.output<typeof SCHEMAS[K]> => {
    const { env: variable, flag } = SETTINGS[name];
    const raw = flags[flag] ?? env[variable] ?? fallback;
    if (raw === undefined) throw new ConfigError(`Missing ${variable} (or --${flag}): ${missing}`);
    const source = flags[flag] !== undefined
      ? `--${flag}`
      : env[variable] !== undefined
      ? variable
      : `${variable} (default)`;
    const parsed = SCHEMAS[name].safeParse(raw);
    if (parsed.success) return parsed.data as z.output<typeof SCHEMAS[K]>;
    const reason = parsed.error.issues[0]?.message ?? "is invalid";
    throw new ConfigError(`Invalid ${source}: ${reason}: current value is '${raw}'`);
  };
  const token = env[TOKEN_VARIABLE]?.trim();
  return {
    serverUrl: read("serverUrl"),
    serverId: read("serverId", hostname),
    hostname,
    labels: read("labels", ""),
    stateDir: read("stateDir", defaultStateDir(env), "neither XDG_STATE_HOME nor HOME is set"),
    maxOutputBytes: read("maxOutputBytes", "1048576"),
    killGraceSeconds: read("killGraceSeconds", "5"),
    shutdownGraceSeconds: read("shutdownGraceSeconds", "30"),
    logLevel: read("logLevel", "info"),
    agentToken: token ? token : null,
  };
}

/**
 * Tells whether `args` ask for the usage text.
 *
 * @example
 * ```ts
 * if (wantsHelp(Deno.args)) console.log(AGENT_USAGE);
 * ```
 */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

function parseFlags(args: string[]): Partial<Record<string, string>> {
  const options = Object.fromEntries(
    Object.values(SETTINGS).map(({ flag }) => [flag, { type: "string" as const }]),
  );
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`Invalid command line: ${(err as Error).message}`);
  }
}

function defaultStateDir(env: Record<string, string | undefined>): string | undefined {
  const xdg = env.XDG_STATE_HOME?.trim();
  if (xdg && xdg.startsWith("/")) return join(xdg, STATE_DIR_NAME);
  const home = env.HOME?.trim();
  if (home) return join(home, ".local", "state", STATE_DIR_NAME);
  return undefined;
}

/** Maps a server base URL to its agent endpoint: `http` → `ws`, `https` → `wss`. */
function toWebSocketUrl(value: string, ctx: z.RefinementCtx): string {
  const message = "must be an http(s):// or ws(s):// URL, e.g. http://127.0.0.1:8080";
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  }
  const schemes: Record<string, string> = { "http:": "ws:", "https:": "wss:" };
  if (url.protocol in schemes) {
    url.protocol = schemes[url.protocol];
    url.pathname = url.pathname.replace(/\/+$/, "") + CONNECT_PATH;
  } else if (url.protocol === "ws:" || url.protocol === "wss:") {
    if (url.pathname === "/") url.pathname = CONNECT_PATH;
  } else {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  }
  url.hash = "";
  return url.href;
}

/** Parses `k=v,k=v` into an object; keys up to 63 and values up to 255 characters. */
function parseLabels(value: string, ctx: z.RefinementCtx): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of value.split(",").map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._\/-]{0,62})=(.{0,255})$/.exec(pair);
    if (!match) {
      ctx.addIssue({
        code: "custom",
        message: `must be comma-separated key=value pairs (key: up to 63 letters, digits, ` +
          `'.', '_', '/', '-'; value: up to 255 characters), not '${pair}'`,
      });
      return z.NEVER;
    }
    labels[match[1]] = match[2].trim();
  }
  return labels;
}
