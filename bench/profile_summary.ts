/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`, or `deno task bench --profile`):
 * the functions with the most time spent in themselves, and those with the most time spent
 * in them and what they call.
 *
 * ```sh
 * deno run --allow-read bench/profile_summary.ts /tmp/taskscheduler-bench-*\/profiles/lag-agent/*.cpuprofile
 * ```
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Time per function, in milliseconds. */
export interface ProfileSummary {
  totalMs: number;
  self: [string, number][];
  inclusive: [string, number][];
}

/**
 * Attributes each sample's time to the function it was in (self) and, once, to every
 * function on its stack (inclusive).
 *
 * @example
 * ```ts
 * const summary = summariseProfile(JSON.parse(await Deno.readTextFile(path)));
 * ```
 */
export function summariseProfile(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const leaf = label(byId.get(id)!);
    self.set(leaf, (self.get(leaf) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  });
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs, self: top(self), inclusive: top(inclusive) };
}

function label({ callFrame: { functionName, url, lineNumber } }: ProfileNode): string {
  const file = url.replace(/^.*\/(npm\/registry\.npmjs\.org|wt-[a-z]+|ext)\//, "");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

if (import.meta.main) {
  const rows = 25;
  for (const path of Deno.args) {
    const summary = summariseProfile(JSON.parse(await Deno.readTextFile(path)));
    const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)} %`;
    console.log(`${path}: ${(summary.totalMs / 1000).toFixed(1)} s sampled`);
    console.log("\nself time:");
    for (const [name, ms] of summary.self.slice(0, rows)) console.log(`  ${pct(ms)}  ${name}`);
    console.log("\ninclusive time:");
    for (const [name, ms] of summary.inclusive.slice(0, rows)) console.log(`  ${pct(ms)}  ${name}`);
  }
}
