/**
 * Small tools for the test database helpers: running commands, keeping their output, timeouts.
 *
 * @module
 */

/** How long a server may take to stop before it is killed, in milliseconds. */
export const STOP_GRACE_MS = 10_000;

const LOG_TAIL_CHARS = 4_000;

/** Keeps the last few thousand characters a process printed. */
export class LogTail {
  #text = "";

  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#text = (this.#text + decoder.decode(chunk, { stream: true })).slice(-LOG_TAIL_CHARS);
    }
  }

  text(): string {
    return `--- postgres log (last ${LOG_TAIL_CHARS} characters) ---\n${this.#text}`;
  }
}

/** Runs a command to completion and returns its stdout; throws with its output if it fails. */
export async function run(
  cmd: string,
  args: string[],
  { timeout, cwd }: { timeout: number; cwd?: string },
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const decoder = new TextDecoder();
    if (!out.success) {
      const what = controller.signal.aborted ? `timed out after ${timeout} ms` : `code ${out.code}`;
      const output = (decoder.decode(out.stdout) + decoder.decode(out.stderr)).slice(
        -LOG_TAIL_CHARS,
      );
      throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${what}\n${output}`);
    }
    return decoder.decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves as `promise` does, or rejects with "`what` within `ms` ms" when it takes longer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `promise` settles (either way) within `ms` milliseconds. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(promise, ms, "Timed out");
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a regular file; `false` when it is missing or cannot be read. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The message of an `Error`, or anything else as a string. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
