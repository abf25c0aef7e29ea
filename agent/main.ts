/**
 * The agent's entry point: reads the environment and flags, starts the agent, and shuts it
 * down gracefully on SIGINT or SIGTERM.
 *
 * ```sh
 * TASKSCHEDULER_SERVER_URL=http://127.0.0.1:8080 deno task agent
 * ```
 *
 * @module
 */
import { createLogger } from "../shared/logger.ts";
import { createAgent } from "./agent.ts";
import { AGENT_USAGE, ConfigError, parseAgentConfig, wantsHelp } from "./config.ts";

/**
 * Runs the agent until SIGINT or SIGTERM stops it; resolves with the process exit code
 * (0 after a graceful stop, 1 when it cannot start, 2 for a bad configuration).
 *
 * @example
 * ```ts
 * Deno.exit(await main(["--server-url", "http://127.0.0.1:8080"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(AGENT_USAGE);
    return 0;
  }
  let config;
  try {
    config = parseAgentConfig({ env: Deno.env.toObject(), args, hostname: Deno.hostname() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`taskscheduler-agent: ${err.message}`);
    return 2;
  }
  // Commands run by the agent inherit its environment; the token is not theirs to see.
  Deno.env.delete("TASKSCHEDULER_AGENT_TOKEN");
  const logger = createLogger({ level: config.logLevel });
  const agent = createAgent({ config, logger });
  const stopped = Promise.withResolvers<void>();
  let signals = 0;
  const onSignal = (signal: Deno.Signal) => () => {
    signals++;
    if (signals > 1) {
      logger.warn("Second signal: exiting without waiting", { signal });
      Deno.exit(1);
    }
    logger.info("Shutting down", { signal });
    agent.stop().then(stopped.resolve, stopped.reject);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = onSignal(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    try {
      await agent.start();
    } catch (err) {
      logger.error("Cannot start the agent", { error: (err as Error).message });
      await agent.stop();
      return 1;
    }
    await stopped.promise;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
