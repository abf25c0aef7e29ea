/**
 * What one benchmark hands back to the run.
 *
 * @module
 */
import type { Figure } from "./figures.ts";

/** The figures of one benchmark, what else it measured, and what a reader must know. */
export interface BenchOutcome {
  figures: Figure[];
  /** Everything measured besides the figures, written to the results file. */
  details: Record<string, unknown>;
  /** Sentences printed under the table, e.g. how many ticks were skipped. */
  notes: string[];
}
