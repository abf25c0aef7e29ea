/** Throwaway TLS certificates for tests, made with the `openssl` command. */

/** A CA and a server certificate it signed, valid for `localhost` and `127.0.0.1`. */
export interface TestCertificates extends AsyncDisposable {
  /** The CA certificate (PEM) clients must trust. */
  caFile: string;
  /** The server's certificate chain (PEM). */
  certFile: string;
  /** The server's private key (PEM). */
  keyFile: string;
  /** The CA certificate's text, for `Deno.createHttpClient({ caCerts })`. */
  caPem: string;
  close(): Promise<void>;
}

/**
 * Generates a self-signed CA and a server certificate signed by it, in a temp directory
 * removed on close.
 *
 * @example
 * ```ts
 * await using certs = await createTestCertificates();
 * Deno.serve({ cert: await Deno.readTextFile(certs.certFile), ... });
 * ```
 * @throws {Error} when `openssl` is missing or fails, with its output
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-tls-" });
  const path = (name: string) => `${dir}/${name}`;
  const close = () => Deno.remove(dir, { recursive: true });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      path("ca.key"),
      "-out",
      path("ca.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=taskscheduler test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl([
      "req",
      ...ec,
      "-keyout",
      path("server.key"),
      "-out",
      path("server.csr"),
      "-subj",
      "/CN=localhost",
    ]);
    await Deno.writeTextFile(
      path("server.ext"),
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
        "extendedKeyUsage=serverAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      path("server.csr"),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-out",
      path("server.pem"),
      "-days",
      "1",
      "-extfile",
      path("server.ext"),
    ]);
    return {
      caFile: path("ca.pem"),
      certFile: path("server.pem"),
      keyFile: path("server.key"),
      caPem: await Deno.readTextFile(path("ca.pem")),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function openssl(args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(`Cannot run openssl (apt-get install openssl): ${(err as Error).message}`);
  }
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr);
    throw new Error(`openssl ${args[0]} failed with code ${out.code}:\n${text}`);
  }
}
