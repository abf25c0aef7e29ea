/**
 * A database of its own inside an existing server, the one `DATABASE_URL` points at.
 *
 * @module
 */
import postgres from "postgres";
import type { TestDatabase } from "./_types.ts";

/** Creates a database with a random name through `adminUrl`; closing drops it. */
export async function createExternalDatabase(
  adminUrl: string,
  timeout: number,
): Promise<TestDatabase> {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const name = `ts_test_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const connectTimeout = Math.ceil(timeout / 1000);
  const admin = () =>
    postgres(adminUrl, { max: 1, connect_timeout: connectTimeout, onnotice() {} });
  const sql = admin();
  try {
    await sql`create database ${sql(name)}`;
  } finally {
    await sql.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const sql = admin();
      try {
        await sql`drop database if exists ${sql(name)} with (force)`;
      } finally {
        await sql.end();
      }
    })();
  return { url: url.href, kind: "external", close, [Symbol.asyncDispose]: close };
}
