/**
 * Figures: one measured value next to its same-run baseline, the ratio between them, and the
 * target issue 6 sets; printed as a table and written as JSON.
 *
 * @module
 */

/** The unit a figure is measured in. */
export type Unit = "ms" | "/s" | "KiB" | "MiB";

/** A target a figure is held to: on its value, or on its ratio to the baseline. */
export interface Target {
  /** As the issue words it, e.g. `p99 < 20 ms` or `≥ 0.5× baseline`. */
  text: string;
  /** Whether the figure meets it. */
  check(value: number, ratio: number | null): boolean;
}

/** One row of the results. */
export interface Figure {
  /** The benchmark's number in issue 6. */
  bench: number;
  /** What is measured, e.g. `schedule start lag p99`. */
  name: string;
  unit: Unit;
  value: number;
  /** What the baseline is, e.g. `croner alone`; null without a baseline. */
  baselineName: string | null;
  /** The baseline measured in the same run, in the same unit; null without one. */
  baseline: number | null;
  /** `value / baseline`; null without a baseline. */
  ratio: number | null;
  /** The targets' wording, joined; null when the figure is only reported. */
  target: string | null;
  /** Whether every target is met; null when there is none. */
  met: boolean | null;
}

/** What {@linkcode figure} needs; `baseline` and `targets` are optional. */
export interface FigureInit {
  bench: number;
  name: string;
  unit: Unit;
  value: number;
  baseline?: { name: string; value: number };
  targets?: Target[];
}

/**
 * Builds a figure, computing its ratio and checking its targets.
 *
 * @example
 * ```ts
 * figure({
 *   bench: 1,
 *   name: "schedule start lag p99",
 *   unit: "ms",
 *   value: 12,
 *   baseline: { name: "croner alone", value: 2 },
 *   targets: [below(20)],
 * }); // ratio 6, met true
 * ```
 */
export function figure(init: FigureInit): Figure {
  const { bench, name, unit, value, baseline, targets = [] } = init;
  const ratio = baseline && baseline.value > 0 ? value / baseline.value : null;
  return {
    bench,
    name,
    unit,
    value,
    baselineName: baseline?.name ?? null,
    baseline: baseline?.value ?? null,
    ratio,
    target: targets.length ? targets.map((t) => t.text).join(", ") : null,
    met: targets.length ? targets.every((t) => t.check(value, ratio)) : null,
  };
}

/** The value must stay under `limit`, in the figure's unit. */
export function below(limit: number, unit: Unit): Target {
  return { text: `< ${limit} ${unit}`, check: (value) => value < limit };
}

/** The value must be at most `limit`, in the figure's unit. */
export function atMost(limit: number, unit: Unit): Target {
  return { text: `≤ ${limit} ${unit}`, check: (value) => value <= limit };
}

/** The value must be at least `limit`, in the figure's unit. */
export function atLeast(limit: number, unit: Unit): Target {
  return { text: `≥ ${formatNumber(limit, unit)} ${unit}`, check: (value) => value >= limit };
}

/** The ratio to the baseline must be at least `limit`. */
export function ratioAtLeast(limit: number): Target {
  return { text: `≥ ${limit}× baseline`, check: (_, ratio) => ratio !== null && ratio >= limit };
}

/** The ratio to the baseline must be at most `limit`. */
export function ratioAtMost(limit: number): Target {
  return { text: `≤ ${limit}× baseline`, check: (_, ratio) => ratio !== null && ratio <= limit };
}

/**
 * Formats a value for the table: thousands grouped for rates, one decimal for sizes, and for
 * durations as many decimals as a short duration needs.
 *
 * @example
 * ```ts
 * formatNumber(12345.6, "/s"); // "12,346"
 * formatNumber(0.42, "ms"); // "0.42"
 * ```
 */
export function formatNumber(value: number, unit: Unit): string {
  if (unit === "/s") return Math.round(value).toLocaleString("en-US");
  if (unit === "ms") return value.toFixed(value < 10 ? 2 : 1);
  return value.toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

/**
 * Renders figures as a Markdown table (readable in a terminal, pasteable into the docs).
 *
 * @example
 * ```ts
 * console.log(formatTable(figures));
 * ```
 */
export function formatTable(figures: readonly Figure[]): string {
  const header = ["#", "figure", "value", "baseline (same run)", "ratio", "target", "met"];
  const rows = figures.map((f) => [
    String(f.bench),
    f.name,
    `${formatNumber(f.value, f.unit)} ${f.unit}`,
    f.baseline === null ? "—" : `${formatNumber(f.baseline, f.unit)} ${f.unit} (${f.baselineName})`,
    f.ratio === null ? "—" : `${f.ratio.toFixed(f.ratio < 10 ? 2 : 1)}×`,
    f.target ?? "reported",
    f.met === null ? "—" : f.met ? "yes" : "no",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
