/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra structured fields on a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger: one JSON object per line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default "info" */
  level?: LogLevel;
  /** Where each finished line goes. @default writes to stderr */
  write?: (line: string) => void;
  /** Source of the `time` field. @default () => new Date() */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const encoder = new TextEncoder();

/**
 * Creates a logger that writes JSON lines: `{"time","level","msg",...fields}`.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "debug" });
 * log.info("Listening", { url: "http://127.0.0.1:8080" });
 * ```
 */
export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const {
    level = "info",
    write = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
    now = () => new Date(),
  } = options;
  const emit = (at: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (RANK[at] < RANK[level]) return;
    write(JSON.stringify({ time: now().toISOString(), level: at, msg, ...base, ...fields }));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** The parsable log levels, for config schemas. */
export const LOG_LEVELS = Object.keys(RANK) as [LogLevel, ...LogLevel[]];
