/**
 * The taskscheduler agent: connects out to the server, schedules the tasks it is given with
 * croner, runs them with `/bin/sh -c`, and delivers every result through an on-disk spool.
 *
 * @module
 */
export { type Agent, type AgentOptions, type AgentTuning, createAgent } from "./agent.ts";
export { type AgentEventMap, type AgentEventName, AgentEvents } from "./events.ts";
export { type AgentConfig, ConfigError, parseAgentConfig } from "./config.ts";
export { type Clock, systemClock } from "./clock.ts";
export { type Spawn, spawnProcessGroup } from "./spawn.ts";
export { AGENT_VERSION } from "./version.ts";
