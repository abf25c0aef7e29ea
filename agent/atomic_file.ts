/**
 * Durable file replacement: a reader sees the old content or the new, never a mix.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

const encoder = new TextEncoder();

/**
 * Writes `text` to `path` atomically and durably: into a temporary file in the same
 * directory, fsync'd, renamed over `path`, then the directory fsync'd so the rename survives a
 * crash. Temporary files are named `.<name>.<random>.tmp`.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/var/lib/agent/tasks.json", JSON.stringify({ tasks: [] }));
 * ```
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      await writeAll(file, encoder.encode(text));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

/**
 * Tells whether `name` is one of the temporary files {@linkcode writeFileAtomic} leaves on a
 * crash.
 *
 * @example
 * ```ts
 * isTemporaryFile(".tasks.json.1a2b3c4d.tmp"); // true
 * ```
 */
export function isTemporaryFile(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
