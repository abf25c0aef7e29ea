/** Matches a canonical UUID (any version), case-insensitive. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Tells whether `value` is a canonical UUID string.
 *
 * @example
 * ```ts
 * isUuid("7b0c6a2e-8f7e-4a47-9a55-3b1f0b2a9f10"); // true
 * isUuid("42"); // false
 * ```
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * The form of a host's `server_id`: 1 to 128 characters, letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit.
 */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
