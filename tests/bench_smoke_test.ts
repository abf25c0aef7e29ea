import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Figures each benchmark reports in a quick run (fan-out: p50 and p99 at two sizes). */
const EXPECTED_FIGURES: Record<number, number> = { 1: 3, 2: 1, 3: 1, 4: 4, 5: 2, 6: 1, 7: 4, 8: 3 };

Deno.test("deno task bench --quick produces every figure with its baseline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "taskscheduler-bench-smoke-" });
  try {
    const out = `${dir}/results.json`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "bench/main.ts", "--quick", "--out", out],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const output = decoder.decode(run.stdout) + decoder.decode(run.stderr);
    assert.equal(run.code, 0, output);

    const results = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(results.errors, []);
    const counts: Record<number, number> = {};
    for (const f of results.figures) {
      counts[f.bench] = (counts[f.bench] ?? 0) + 1;
      assert.ok(Number.isFinite(f.value), `${f.name}: value ${f.value}`);
      if (f.baseline !== null) {
        assert.ok(Number.isFinite(f.baseline), `${f.name}: baseline ${f.baseline}`);
        assert.ok(Number.isFinite(f.ratio), `${f.name}: ratio ${f.ratio}`);
      }
    }
    assert.deepEqual(counts, EXPECTED_FIGURES);
    assert.match(output, /\| # \| figure/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
