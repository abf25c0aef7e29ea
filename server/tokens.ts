/**
 * API tokens: how they are made, hashed and compared. A token is shown once when it is
 * created; the server keeps only its SHA-256 hash. Tokens carry 256 random bits, so a fast
 * hash is enough: there is nothing to brute-force that a slow one would protect.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";

/** What a token may do. */
export type Role = "admin" | "read" | "agent";

/** Every role, for schemas. */
export const ROLES = ["admin", "read", "agent"] as const satisfies readonly Role[];

/** The prefix of generated tokens, so a leaked one is easy to recognise and scan for. */
export const TOKEN_PREFIX = "tsk_";

/** Bytes of randomness in a generated token. */
const TOKEN_BYTES = 32;

/** The least length of a token given through `TASKSCHEDULER_API_TOKEN`. */
export const MIN_TOKEN_LENGTH = 32;

/** Longer credentials are refused unread. */
export const MAX_TOKEN_LENGTH = 512;

/** The characters RFC 6750 allows in a bearer token (token68). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Generates a new token: `tsk_` and 32 random bytes in base64url.
 *
 * @example
 * ```ts
 * generateToken(); // "tsk_Qk3v...", 47 characters
 * ```
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return TOKEN_PREFIX + Buffer.from(bytes).toString("base64url");
}

/**
 * The SHA-256 hash under which a token is stored and looked up.
 *
 * @example
 * ```ts
 * const hash = hashToken(token); // 32 bytes
 * ```
 */
export function hashToken(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token, "utf8").digest());
}

/**
 * Compares two token hashes in constant time.
 *
 * @example
 * ```ts
 * sameHash(hashToken(presented), expected);
 * ```
 */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Tells whether `value` has the form of a bearer token (token68, at most 512 characters);
 * says nothing about whether it is valid.
 */
export function isTokenShaped(value: string): boolean {
  return value.length <= MAX_TOKEN_LENGTH && TOKEN68.test(value);
}
