import type { Config } from "./config.ts";
import { ConfigError } from "./config.ts";

/** A PEM certificate chain and its private key, as `Deno.serve` takes them. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * Reads the TLS certificate and key named by `TLS_CERT_FILE` and `TLS_KEY_FILE`, or
 * returns undefined when TLS is not configured.
 *
 * @example
 * ```ts
 * const tls = await readTlsFiles(config);
 * Deno.serve({ port, ...tls }, app.fetch);
 * ```
 * @throws {ConfigError} naming the variable whose file cannot be read
 */
export async function readTlsFiles(
  config: Pick<Config, "tlsCertFile" | "tlsKeyFile">,
): Promise<TlsFiles | undefined> {
  if (!config.tlsCertFile || !config.tlsKeyFile) return undefined;
  return {
    cert: await readPem("TLS_CERT_FILE", config.tlsCertFile),
    key: await readPem("TLS_KEY_FILE", config.tlsKeyFile),
  };
}

async function readPem(variable: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`Cannot read ${variable}: "${path}" (${(err as Error).message})`);
  }
}

/**
 * Tells whether `host` is a loopback address, where plain HTTP stays on the machine.
 *
 * @example
 * ```ts
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0"); // false
 * ```
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
