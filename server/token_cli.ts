/**
 * `deno task token create|list|revoke`: token management through the server's admin API,
 * so it works with either database while the server runs, closes a revoked agent's
 * connection at once, and leaves an audit entry like any admin call.
 *
 * It talks to `TASKSCHEDULER_URL` (default `http://127.0.0.1:8080`) with the admin token
 * from `TASKSCHEDULER_API_TOKEN`, else from `<TASKSCHEDULER_DATA_DIR>/admin-token`, the file
 * the server writes at first start. A server with a custom CA: run with `DENO_CERT=ca.pem`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ADMIN_TOKEN_FILE } from "./first_admin_token.ts";

/** How to call the command; printed for `--help` and after a usage error. */
export const TOKEN_USAGE = `Usage: deno task token <command>

Commands:
  create --name NAME --role admin|read|agent [--server-id ID]
                  create a token; prints it on stdout (it is shown only this once)
  list            list tokens (never the tokens themselves)
  revoke ID       revoke a token; an agent using it is disconnected

Environment:
  TASKSCHEDULER_URL         the server (default http://127.0.0.1:8080)
  TASKSCHEDULER_API_TOKEN   an admin token (default: read from the data directory)
  TASKSCHEDULER_DATA_DIR    where the server wrote admin-token at first start (default ./data)
  DENO_CERT                 a CA file to trust, for a server with a private CA`;

/** What the command needs from its surroundings. */
export interface TokenCliDeps {
  env: Record<string, string | undefined>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
  /** Prints a result line (stdout). */
  out: (line: string) => void;
  /** Prints a message for a person (stderr). */
  err: (line: string) => void;
}

const CliConfigSchema = z.object({
  TASKSCHEDULER_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8080"),
  TASKSCHEDULER_API_TOKEN: z.string().min(1).optional(),
  TASKSCHEDULER_DATA_DIR: z.string().min(1).default("./data"),
});

/** The command's settings, from the environment. */
interface CliConfig {
  url: string;
  apiToken?: string;
  dataDir: string;
}

/** What every subcommand is given. */
interface Cli extends TokenCliDeps {
  config: CliConfig;
}

/** A failure the command reports in one line and exits 1 for. */
class CliError extends Error {
  override name = "CliError";
}

/** A usage or configuration mistake: exit 2. */
class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs the command and returns its exit code: 0 done, 1 failed, 2 usage error.
 *
 * @example
 * ```ts
 * const code = await runTokenCli(["list"], {
 *   env: Deno.env.toObject(),
 *   out: console.log,
 *   err: console.error,
 * });
 * ```
 */
export async function runTokenCli(args: string[], deps: TokenCliDeps): Promise<number> {
  try {
    const { values, positionals } = parseCliArgs(args);
    if (values.help) {
      deps.out(TOKEN_USAGE);
      return 0;
    }
    const cli: Cli = { ...deps, config: parseCliConfig(deps.env) };
    const [command, ...rest] = positionals;
    switch (command) {
      case "create": {
        const { name, role, "server-id": server_id } = values;
        if (!name || !role) throw new UsageError("create needs --name and --role");
        await create(cli, { name, role, server_id });
        return 0;
      }
      case "list":
        await list(cli);
        return 0;
      case "revoke":
        if (rest.length !== 1) throw new UsageError("revoke needs exactly one token id");
        await revoke(cli, rest[0]);
        return 0;
      default:
        throw new UsageError(command ? `Unknown command: '${command}'` : "Missing command");
    }
  } catch (err) {
    if (err instanceof UsageError) {
      deps.err(`${err.message}\n\n${TOKEN_USAGE}`);
      return 2;
    }
    if (!(err instanceof CliError)) throw err;
    deps.err(err.message);
    return 1;
  }
}

function parseCliArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        role: { type: "string" },
        "server-id": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Parses the environment, naming the first bad variable (never showing a token). */
function parseCliConfig(env: Record<string, string | undefined>): CliConfig {
  const present = Object.fromEntries(
    Object.keys(CliConfigSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]),
  );
  const result = CliConfigSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0]);
    const value = name === "TASKSCHEDULER_API_TOKEN" ? "(hidden)" : JSON.stringify(env[name]);
    throw new UsageError(`Invalid value for ${name}: ${value} (${issue.message})`);
  }
  return {
    url: result.data.TASKSCHEDULER_URL,
    apiToken: result.data.TASKSCHEDULER_API_TOKEN,
    dataDir: result.data.TASKSCHEDULER_DATA_DIR,
  };
}

interface TokenJson {
  id: string;
  name: string;
  role: string;
  server_id: string | null;
  created_at: string;
  created_by: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

async function create(cli: Cli, body: Record<string, string | undefined>) {
  const created = await callApi<TokenJson & { token: string }>(cli, "POST", "/api/v1/tokens", body);
  const host = created.server_id ? ` for host '${created.server_id}'` : "";
  cli.err(
    `Created ${created.role} token '${created.name}'${host} (id ${created.id}); ` +
      "it is shown only this once:",
  );
  cli.out(created.token);
}

async function list(cli: Cli) {
  const { tokens } = await callApi<{ tokens: TokenJson[] }>(cli, "GET", "/api/v1/tokens");
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.role,
    t.server_id ?? "-",
    t.created_at,
    t.last_used_at ?? "never",
    t.revoked_at ? `revoked ${t.revoked_at}` : "active",
  ]);
  const header = ["ID", "NAME", "ROLE", "SERVER_ID", "CREATED", "LAST USED", "STATE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    cli.out(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  }
}

async function revoke(cli: Cli, id: string) {
  const token = await callApi<TokenJson>(cli, "DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`);
  cli.err(`Revoked ${token.role} token '${token.name}' (id ${token.id})`);
}

async function callApi<T>(cli: Cli, method: string, path: string, body?: unknown): Promise<T> {
  const base = cli.config.url;
  const token = cli.config.apiToken ?? await readAdminToken(cli);
  const url = new URL(path, base);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await (cli.fetch ?? fetch)(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`Cannot reach the server at ${base}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`The server answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const error = (json as { error?: unknown }).error;
    throw new CliError(`The server answered ${res.status}: ${String(error ?? text)}`);
  }
  return json as T;
}

async function readAdminToken(cli: Cli): Promise<string> {
  const file = join(cli.config.dataDir, ADMIN_TOKEN_FILE);
  try {
    return (await (cli.readTextFile ?? Deno.readTextFile)(file)).trim();
  } catch (err) {
    throw new CliError(
      `No admin token: set TASKSCHEDULER_API_TOKEN, or run where ${file} is readable ` +
        `(${(err as Error).message})`,
    );
  }
}

if (import.meta.main) {
  const code = await runTokenCli(Deno.args, {
    env: Deno.env.toObject(),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
  Deno.exit(code);
}
