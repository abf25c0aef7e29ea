import postgres from "postgres";
import type { Logger } from "../../shared/logger.ts";

/** The postgres.js client every query goes through. */
export type Sql = postgres.Sql;

/** An open database: a postgres.js client and how to close whatever backs it. */
export interface Database {
  sql: Sql;
  /** "postgres" for `DATABASE_URL`, "pglite" for the embedded default. */
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

/** Options for {@linkcode openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL; without it the embedded PGlite in `dataDir` is used. */
  url?: string;
  /** Directory for the embedded database. */
  dataDir: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
  logger: Logger;
}

/**
 * Opens the database: real PostgreSQL when a URL is given, else the embedded PGlite,
 * persisted in `dataDir` and served on a loopback socket so both use one postgres.js path.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { url, dataDir, poolSize = 10, logger } = options;
  if (url) {
    const sql = connect(url, poolSize);
    logger.info("Using PostgreSQL", { database: redactUrl(url) });
    return { sql, kind: "postgres", close: () => sql.end({ timeout: 5 }) };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  await Deno.mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  // PGlite is one session. The socket server lets several connections share it, but the
  // messages of their queries can interleave there, and then one query gets another's
  // answer (seen as "portal does not exist", or a 404 for a task that exists, under 64
  // concurrent requests): one connection, whatever the pool size.
  const socket = new PGLiteSocketServer({
    db: pglite,
    host: "127.0.0.1",
    port: 0,
    maxConnections: 1,
  });
  await socket.start();
  const sql = connect(`postgres://postgres@${socket.getServerConn()}/postgres`, 1);
  logger.info("Using the embedded database (PGlite)", { data_dir: dataDir });
  return {
    sql,
    kind: "pglite",
    close: async () => {
      await sql.end({ timeout: 5 });
      await socket.stop();
      await pglite.close();
    },
  };
}

function connect(url: string, max: number): Sql {
  return postgres(url, { max, onnotice: () => {} });
}

/** The URL with any password replaced by `***`, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable url)";
  }
}
