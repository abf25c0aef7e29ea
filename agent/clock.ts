/**
 * The agent's source of the current time.
 *
 * @module
 */

/** Tells the time; injected so that every timestamp the agent writes comes from one place. */
export interface Clock {
  now(): Date;
}

/**
 * The wall clock.
 *
 * @example
 * ```ts
 * systemClock.now().toISOString();
 * ```
 */
export const systemClock: Clock = { now: () => new Date() };
