/**
 * The shape of a test database, whichever kind backs it.
 *
 * @module
 */

/** Where a test database lives. */
export type TestDatabaseKind = "postgres" | "pglite" | "external";

/** A database of its own for one test file; close it (or `await using` it) when done. */
export interface TestDatabase extends AsyncDisposable {
  /** A postgres.js-ready connection URL. */
  readonly url: string;
  /** `postgres`: a throwaway server; `pglite`: PGlite on a socket; `external`: `DATABASE_URL`. */
  readonly kind: TestDatabaseKind;
  /** The throwaway server's temp directory (data and socket); only for kind `postgres`. */
  readonly dir?: string;
  /** Stops the server or drops the database, and removes what it created. Idempotent. */
  close(): Promise<void>;
}
