/**
 * The agent: schedules the tasks the server sends, runs them, and delivers their results.
 *
 * @module
 */
import { createLogger, type Logger } from "../shared/logger.ts";
import {
  type HelloMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type TaskSpec,
} from "../shared/protocol.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { AgentConfig } from "./config.ts";
import { createConnection } from "./connection.ts";
import { createDelivery } from "./delivery.ts";
import { AgentEvents } from "./events.ts";
import { createExecutions } from "./executions.ts";
import { createLiveOutput } from "./live_output.ts";
import { createRunner } from "./runner.ts";
import { createScheduler, type Trigger } from "./scheduler.ts";
import { type Spawn, spawnProcessGroup } from "./spawn.ts";
import { createSpool, spoolDirIn } from "./spool.ts";
import { createTaskStore, taskFileIn } from "./task_store.ts";
import { createTickClaims } from "./tick_claims.ts";
import { AGENT_VERSION } from "./version.ts";

/** Timings that are fixed in production but worth shortening in tests. */
export interface AgentTuning {
  /** First reconnect delay ceiling. @default 500 */
  backoffBaseMs?: number;
  /** Largest reconnect delay. @default 30000 */
  backoffCapMs?: number;
  /** A connection that brings nothing for this long is dropped. @default 45000 */
  silenceTimeoutMs?: number;
  /** How long shutdown waits for acks of results in flight. @default 2000 */
  ackWaitMs?: number;
  /** How long live output waits to be batched. @default 200 */
  flushIntervalMs?: number;
  /** How long a mode `one` tick waits for the server to grant it. @default 5000 */
  claimTimeoutMs?: number;
}

/** What {@linkcode createAgent} needs. */
export interface AgentOptions {
  config: AgentConfig;
  /** Starts task processes. @default spawnProcessGroup */
  spawn?: Spawn;
  /** Source of execution timestamps. @default systemClock */
  clock?: Clock;
  /** @default createLogger({ level: config.logLevel }) */
  logger?: Logger;
  /** Source of reconnect jitter, in [0, 1). @default Math.random */
  random?: () => number;
  tuning?: AgentTuning;
}

/** A running agent; listen to its events with `on` (see `AgentEventMap` in `events.ts`). */
export interface Agent extends AgentEvents {
  /** Loads the saved task set, starts its jobs and connects to the server. */
  start(): Promise<void>;
  /**
   * Shuts down: no new runs, running executions get the shutdown grace and are then killed,
   * results in flight get up to 2 s to be acked, the socket closes with 1000. Idempotent.
   */
  stop(): Promise<void>;
  /** Whether a connection to the server is open. */
  isConnected(): boolean;
}

/**
 * Creates an agent from its config and injected dependencies. Nothing happens until `start`.
 *
 * @example
 * ```ts
 * const agent = createAgent({ config, logger });
 * agent.on("execution:finished", (result) => console.log(result.exit_code));
 * await agent.start();
 * Deno.addSignalListener("SIGTERM", () => agent.stop());
 * ```
 */
export function createAgent(options: AgentOptions): Agent {
  const { config, clock = systemClock, tuning = {} } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const events = new AgentEvents();
  let inbox: Promise<void> = Promise.resolve();
  let resending: Promise<unknown> = Promise.resolve();
  let started = false;
  let stopping: Promise<void> | null = null;

  const spool = createSpool({ dir: spoolDirIn(config.stateDir), logger });
  const delivery = createDelivery({
    spool,
    send: (message) => connection.send(message),
    onAcked: (execution_id) => events.emit("acked", { execution_id }),
    logger,
  });
  const live = createLiveOutput({
    send: (message) => connection.sendBestEffort(message),
    canSend: () => connection.isOpen,
    flushIntervalMs: tuning.flushIntervalMs,
  });
  const runner = createRunner({
    serverId: config.serverId,
    spawn: options.spawn ?? spawnProcessGroup,
    clock,
    maxOutputBytes: config.maxOutputBytes,
    killGraceMs: config.killGraceSeconds * 1000,
    onStarted: (start) => {
      connection.send({ type: "execution.started", ...start });
      events.emit("execution:started", start);
    },
    onOutput: (ref, stream, chunk) => live.push(ref, stream, chunk),
  });
  const executions = createExecutions({
    runner,
    delivery,
    live,
    onFinished: (result) => events.emit("execution:finished", result),
    logger,
  });
  const claims = createTickClaims({
    send: (message) => connection.send(message),
    timeoutMs: tuning.claimTimeoutMs,
    logger,
  });
  const scheduler = createScheduler({
    store: createTaskStore({ path: taskFileIn(config.stateDir), logger }),
    onTick: run,
    onAnswer: (answer) => {
      connection.send(answer);
      events.emit(answer.type === "task.accepted" ? "task:accepted" : "task:rejected", answer);
    },
    onSkip: (skip) => events.emit("tick:skipped", skip),
    logger,
  });
  const connection = createConnection({
    url: config.serverUrl,
    token: config.agentToken,
    hello,
    onOpen: () => {
      events.emit("connected", { url: config.serverUrl });
      resending = resending.then(() => delivery.resend()).catch((err) =>
        logger.error("Cannot resend the spool", { error: String(err) })
      );
    },
    onMessage: (message) => {
      inbox = inbox.then(() => handle(message)).catch((err) =>
        logger.error("Cannot handle a server message", { type: message.type, error: String(err) })
      );
    },
    onClose: (info) => {
      delivery.disconnected();
      claims.disconnected();
      events.emit("disconnected", info);
    },
    logger,
    random: options.random,
    backoffBaseMs: tuning.backoffBaseMs,
    backoffCapMs: tuning.backoffCapMs,
    silenceTimeoutMs: tuning.silenceTimeoutMs,
  });

  function hello(): HelloMessage {
    return {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      server_id: config.serverId,
      hostname: config.hostname.slice(0, 255),
      labels: config.labels,
      version: AGENT_VERSION,
      running: executions.running(),
    };
  }

  /** Runs a tick, or a run asked for now; a mode `one` tick only once the server grants it. */
  async function run(task: TaskSpec, scheduledFor: Date, trigger: Trigger): Promise<void> {
    if (trigger === "schedule" && task.mode === "one") {
      const outcome = await claims.claim(task.id, scheduledFor);
      const claim = { task_id: task.id, scheduled_for: scheduledFor.toISOString(), outcome };
      events.emit("tick:claimed", claim);
      if (outcome !== "granted") {
        logger.info("Not running a mode-one tick", claim);
        return;
      }
    }
    await executions.run(task, scheduledFor);
  }

  async function handle(message: ServerMessage): Promise<void> {
    switch (message.type) {
      case "sync":
        await scheduler.sync(message.tasks);
        events.emit("synced", { count: message.tasks.length });
        return;
      case "task.upsert":
        return await scheduler.upsert(message.task);
      case "task.delete":
        return await scheduler.remove(message.task_id);
      case "execution.ack":
        return await delivery.ack(message.execution_id);
      case "tick.claimed":
        return claims.answer(message);
      case "task.run": {
        const started = scheduler.runNow(message.task, clock.now());
        logger.info("Asked to run a task now", { task_id: message.task.id, started });
        events.emit("run:requested", { task_id: message.task.id, started });
        return;
      }
      case "execution.kill": {
        const found = executions.kill(message.execution_id, "Killed on request");
        logger.info("Asked to kill an execution", { execution_id: message.execution_id, found });
        events.emit("kill:requested", { execution_id: message.execution_id, found });
        return;
      }
      case "error":
        logger.warn("The server reported an error", { error: message.error });
        return;
    }
  }

  async function shutdown(): Promise<void> {
    scheduler.stop();
    logger.info("Stopping", { running: executions.running().length });
    const grace = config.shutdownGraceSeconds;
    await executions.drain(grace * 1000, `Stopped at agent shutdown after ${grace} s grace`);
    await resending;
    await inbox;
    if (connection.isOpen) await delivery.waitForAcks(tuning.ackWaitMs ?? 2_000);
    await connection.stop(1000, "Agent shutting down");
    live.close();
    await Promise.all([resending, inbox]);
    logger.info("Stopped");
    events.emit("stopped", {});
  }

  return Object.assign(events, {
    async start() {
      if (started) return;
      started = true;
      await Deno.mkdir(config.stateDir, { recursive: true });
      await spool.sweep();
      await scheduler.load();
      connection.start();
      logger.info("Agent started", {
        server_id: config.serverId,
        server_url: config.serverUrl,
        state_dir: config.stateDir,
        version: AGENT_VERSION,
      });
    },
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
    isConnected: () => connection.isOpen,
  });
}
