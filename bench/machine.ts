/**
 * The machine a run measured, as the results record it.
 *
 * @module
 */
import { findPostgresBinaries } from "../tests/helpers/postgres.ts";

/** What the figures of a run depend on. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryMiB: number;
  kernel: string;
  deno: string;
  postgres: string | null;
  wrk: string | null;
  /** `/proc/loadavg` when the run started: other work on a shared machine skews the figures. */
  loadAverage: string;
}

/**
 * Describes this machine from `/proc` and the tools' versions.
 *
 * @example
 * ```ts
 * const machine = await describeMachine("wrk 4.1.0");
 * ```
 */
export async function describeMachine(wrk: string | null): Promise<Machine> {
  const cpuinfo = await readOr("/proc/cpuinfo");
  const meminfo = await readOr("/proc/meminfo");
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown",
    memoryMiB: Math.round(Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? 0) / 1024),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    postgres: (await findPostgresBinaries())?.version ?? null,
    wrk,
    loadAverage: (await readOr("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
  };
}

/**
 * The soft limit on open files of this process, from `/proc/self/limits`.
 *
 * @returns the limit, or Infinity when unlimited or unknown
 */
export async function openFilesLimit(): Promise<number> {
  const limits = await readOr("/proc/self/limits");
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft && /^\d+$/.test(soft) ? Number(soft) : Infinity;
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}
