/**
 * Helpers to run a real agent inside a test: its config, a log that can be read back, and
 * waiting on its events with a failure guard instead of sleeping.
 *
 * @module
 */
import { type Agent, type AgentTuning, createAgent } from "../../agent/agent.ts";
import { type AgentConfig, parseAgentConfig } from "../../agent/config.ts";
import type { AgentEventMap, AgentEventName } from "../../agent/events.ts";
import { createLogger, type Logger } from "../../shared/logger.ts";

/** Reconnects, flushes and gives up on acks fast enough for tests. */
export const TEST_TUNING: AgentTuning = {
  backoffBaseMs: 50,
  backoffCapMs: 250,
  flushIntervalMs: 50,
  ackWaitMs: 500,
};

/**
 * An agent config pointing at `serverUrl` with its state in `stateDir`, parsed the way the
 * agent parses its environment.
 *
 * @example
 * ```ts
 * const config = testConfig(hub.url, dir, { TASKSCHEDULER_LABELS: "zone=test" });
 * ```
 */
export function testConfig(
  serverUrl: string,
  stateDir: string,
  env: Record<string, string> = {},
): AgentConfig {
  return parseAgentConfig({
    env: {
      TASKSCHEDULER_SERVER_URL: serverUrl,
      TASKSCHEDULER_STATE_DIR: stateDir,
      TASKSCHEDULER_KILL_GRACE_SECONDS: "0.5",
      TASKSCHEDULER_SHUTDOWN_GRACE_SECONDS: "5",
      ...env,
    },
    hostname: "test-host",
  });
}

/** A logger whose lines are kept, parsed, for assertions. */
export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
}

/**
 * Creates a logger that keeps its lines instead of writing them.
 *
 * @example
 * ```ts
 * const log = captureLog();
 * log.logger.info("Connected");
 * log.lines[0].msg; // "Connected"
 * ```
 */
export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Options for {@linkcode nextEvent}. */
export interface NextEventOptions<D> {
  /** Only an event whose detail passes counts. @default every event */
  where?: (detail: D) => boolean;
  /** Failure guard against hanging, not a timing assertion. @default 15000 */
  timeoutMs?: number;
}

/**
 * Resolves with the detail of the next `name` event that passes `where`; rejects after the
 * guard timeout.
 *
 * @example
 * ```ts
 * const finished = nextEvent(agent, "execution:finished");
 * await agent.start();
 * const result = await finished;
 * ```
 */
export function nextEvent<K extends AgentEventName>(
  agent: Agent,
  name: K,
  options: NextEventOptions<AgentEventMap[K]> = {},
): Promise<AgentEventMap[K]> {
  const { where = () => true, timeoutMs = 15_000 } = options;
  const { promise, resolve, reject } = Promise.withResolvers<AgentEventMap[K]>();
  const timer = setTimeout(() => {
    off();
    reject(new Error(`Timed out after ${timeoutMs} ms waiting for the agent's '${name}' event`));
  }, timeoutMs);
  const off = agent.on(name, (detail) => {
    if (!where(detail)) return;
    off();
    clearTimeout(timer);
    resolve(detail);
  });
  return promise;
}

/**
 * Collects the details of the next `count` `name` events.
 *
 * @example
 * ```ts
 * const [first, second] = await nextEvents(agent, "execution:finished", { count: 2 });
 * ```
 */
export function nextEvents<K extends AgentEventName>(
  agent: Agent,
  name: K,
  options: { count: number; timeoutMs?: number },
): Promise<AgentEventMap[K][]> {
  const seen: AgentEventMap[K][] = [];
  const where = (detail: AgentEventMap[K]) => seen.push(detail) >= options.count;
  return nextEvent(agent, name, { where, timeoutMs: options.timeoutMs }).then(() => seen);
}

/**
 * The ids of the results in a spool directory.
 *
 * @example
 * ```ts
 * await spooledIds(spoolDirIn(dir)); // ["7b0c6a2e-..."]
 * ```
 */
export async function spooledIds(spoolDir: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const entry of Deno.readDir(spoolDir)) {
      if (entry.isFile && entry.name.endsWith(".json") && !entry.name.startsWith(".")) {
        ids.push(entry.name.slice(0, -".json".length));
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return ids.sort();
}

/** What {@linkcode withAgent} hands the test. */
export interface AgentContext {
  agent: Agent;
  config: AgentConfig;
  log: CapturedLog;
  stateDir: string;
}

/** Options for {@linkcode withAgent}. */
export interface WithAgentOptions {
  /** Extra environment for {@linkcode testConfig}. */
  env?: Record<string, string>;
  /** Reuse this state directory (not removed afterwards) instead of a fresh temp dir. */
  stateDir?: string;
  /** @default TEST_TUNING */
  tuning?: AgentTuning;
}

/**
 * Runs `fn` with an agent for `serverUrl` (not started: `fn` starts it once it listens to the
 * events it needs), then stops it and removes its temp state dir, whatever happens.
 *
 * @example
 * ```ts
 * await withAgent(hub.url, async ({ agent }) => {
 *   const synced = nextEvent(agent, "synced");
 *   await agent.start();
 *   await synced;
 * });
 * ```
 */
export async function withAgent(
  serverUrl: string,
  fn: (context: AgentContext) => Promise<void>,
  options: WithAgentOptions = {},
): Promise<void> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "agent-test-" });
  const log = captureLog();
  const config = testConfig(serverUrl, stateDir, options.env);
  const agent = createAgent({ config, logger: log.logger, tuning: options.tuning ?? TEST_TUNING });
  try {
    await fn({ agent, config, log, stateDir });
  } finally {
    await agent.stop();
    if (!options.stateDir) await Deno.remove(stateDir, { recursive: true });
  }
}
