/**
 * The Prometheus metrics of one server instance, with prom-client: tasks and hosts (read from
 * the database at each scrape), executions stored by final status, result ingestion latency,
 * schedule lag as agents measure it, WebSocket messages, and HTTP requests by route.
 *
 * @module
 */
import { prometheus } from "@hono/prometheus";
import type { MiddlewareHandler } from "hono";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { createLogger, type Logger } from "../shared/logger.ts";
import type { CompletedStatus } from "../shared/task_status.ts";
import type { Store } from "./store.ts";

/** Every metric name starts with this. */
export const METRIC_PREFIX = "taskscheduler_";

/** Options for {@linkcode createMetrics}. */
export interface MetricsOptions {
  /** Where the task and host counts come from at each scrape. */
  store: Pick<Store, "taskCounts" | "hostCounts">;
  /** @default createLogger() */
  logger?: Logger;
}

/** A stored execution, as the metrics count it. */
export interface StoredExecution {
  status: CompletedStatus;
  /** Milliseconds from the tick to the process start, as the agent measured it; null if unknown. */
  schedule_lag_ms: number | null;
}

/** The metrics of one server instance. */
export interface Metrics {
  /** The registry `/metrics` renders. */
  registry: Registry;
  /** Times every HTTP request, labelled by method, route pattern and status code. */
  http: MiddlewareHandler;
  /** Counts a WebSocket message received from (`in`) or sent to (`out`) an agent. */
  wsMessage(direction: "in" | "out", type: string): void;
  /** Counts executions stored for the first time, with their schedule lag. */
  executionsStored(executions: StoredExecution[]): void;
  /** Records how long a result took from arriving to being committed. */
  resultIngested(seconds: number): void;
  /** The metrics page in the Prometheus text format. */
  render(): Promise<string>;
}

const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const INGEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Creates the metrics in a registry of their own, so several apps can live in one process.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ store });
 * app.use(metrics.http);
 * app.get("/metrics", async (c) => c.text(await metrics.render()));
 * ```
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { store, logger = createLogger() } = options;
  const registry = new Registry();
  const registers = [registry];
  const name = (n: string) => `${METRIC_PREFIX}${n}`;

  new Gauge({
    name: name("tasks"),
    help: "Tasks by state: active, paused, deleted (history kept until retention removes it)",
    labelNames: ["state"],
    registers,
    async collect() {
      const counts = await store.taskCounts().catch((err) => {
        logger.warn("Cannot count tasks for the metrics", { error: String(err) });
        return null;
      });
      for (const [state, count] of Object.entries(counts ?? {})) this.set({ state }, count);
    },
  });
  new Gauge({
    name: name("hosts"),
    help: "Known hosts by state: connected, disconnected",
    labelNames: ["state"],
    registers,
    async collect() {
      const counts = await store.hostCounts().catch((err) => {
        logger.warn("Cannot count hosts for the metrics", { error: String(err) });
        return null;
      });
      for (const [state, count] of Object.entries(counts ?? {})) this.set({ state }, count);
    },
  });
  const executions = new Counter({
    name: name("executions_total"),
    help: "Executions stored with their final status",
    labelNames: ["status"],
    registers,
  });
  const lag = new Histogram({
    name: name("schedule_lag_seconds"),
    help: "Time from the scheduled tick to the process start, measured by agents",
    buckets: LAG_BUCKETS,
    registers,
  });
  const ingest = new Histogram({
    name: name("result_ingestion_seconds"),
    help: "Time from a result arriving from an agent to its row being committed",
    buckets: INGEST_BUCKETS,
    registers,
  });
  const messages = new Counter({
    name: name("websocket_messages_total"),
    help: "WebSocket messages exchanged with agents, by direction (in, out) and type",
    labelNames: ["direction", "type"],
    registers,
  });
  const { registerMetrics } = prometheus({ registry, prefix: METRIC_PREFIX });

  return {
    registry,
    http: registerMetrics,
    wsMessage: (direction, type) => messages.inc({ direction, type }),
    executionsStored(stored) {
      for (const execution of stored) {
        executions.inc({ status: execution.status });
        if (execution.schedule_lag_ms !== null) lag.observe(execution.schedule_lag_ms / 1000);
      }
    },
    resultIngested: (seconds) => ingest.observe(seconds),
    render: () => registry.metrics(),
  };
}
