/**
 * PGlite, the in-process PostgreSQL, exposed on a loopback socket.
 *
 * @module
 */
import { STOP_GRACE_MS, withTimeout } from "./_process_utils.ts";
import type { TestDatabase } from "./_types.ts";

/** Starts an empty PGlite database and serves it on a free loopback port. */
export async function startPglite(timeout: number): Promise<TestDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await withTimeout(PGlite.create(), timeout, "PGlite did not start");
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 20 });
  try {
    await withTimeout(server.start(), timeout, "the PGlite socket server did not start");
  } catch (error) {
    await db.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await withTimeout(server.stop(), STOP_GRACE_MS, "the PGlite socket server did not stop");
      } finally {
        await db.close();
      }
    })();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    kind: "pglite",
    close,
    [Symbol.asyncDispose]: close,
  };
}
