/**
 * The server's entry point: reads the configuration, opens and migrates the database, and
 * serves the app until SIGINT or SIGTERM.
 *
 * @module
 */
import { createLogger } from "../shared/logger.ts";
import { createApp } from "./app.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { migrate, readMigrations } from "./db/migrate.ts";
import { createLocalEventBus, createPgEventBus } from "./events.ts";
import { ensureAdminToken } from "./first_admin_token.ts";
import { createHub, hubLimits } from "./hub.ts";
import { startRevocationSweep } from "./revocation_sweep.ts";
import { createLiveOutputBroker } from "./live_output.ts";
import { createMetrics } from "./metrics.ts";
import { createRetention } from "./retention.ts";
import { createStore } from "./store.ts";
import { isLoopback, readTlsFiles } from "./tls.ts";

async function main(): Promise<void> {
  let config, tls;
  try {
    config = parseConfig(Deno.env.toObject());
    tls = await readTlsFiles(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
  const logger = createLogger({ level: config.logLevel });
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    logger,
  });
  await migrate(db.sql, await readMigrations(), logger);
  const store = createStore(db.sql);
  await ensureAdminToken({ store, apiToken: config.apiToken, dataDir: config.dataDir, logger });
  // The embedded database's socket does not carry LISTEN/NOTIFY: one instance, one process.
  const events = db.kind === "postgres"
    ? await createPgEventBus(db.sql, logger)
    : createLocalEventBus();
  const live = createLiveOutputBroker();
  const metrics = createMetrics({ store, logger });
  const hub = createHub({
    live,
    metrics,
    store,
    events,
    logger,
    instanceId: `${Deno.hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`,
    ...hubLimits(config),
  });
  const sweep = startRevocationSweep({
    store,
    hub,
    logger,
    intervalMs: config.heartbeatSeconds * 1000,
  });
  const app = createApp({ config, store, events, logger, hub, live, metrics });
  const retention = createRetention({
    store,
    days: config.retentionDays,
    perTaskHost: config.retentionPerTaskHost,
    intervalMs: config.retentionIntervalSeconds * 1000,
    logger,
  });
  retention.start();

  if (!tls && !isLoopback(config.host)) {
    logger.warn("Serving beyond loopback without TLS: tokens travel in clear", {
      host: config.host,
      hint: "set TLS_CERT_FILE and TLS_KEY_FILE, or put a TLS proxy in front",
    });
  }
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    ...tls,
    onListen: ({ hostname, port }) => {
      logger.info("Listening", { url: `${tls ? "https" : "http"}://${hostname}:${port}` });
    },
  }, app.fetch);

  const shutdown = async (signal: string) => {
    logger.info("Shutting down", { signal });
    sweep.stop();
    await retention.stop();
    await hub.close();
    await server.shutdown();
    await events.close();
    await db.close();
    logger.info("Stopped");
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void shutdown(signal));
  }
}

if (import.meta.main) await main();
