/**
 * Baseline of benchmark 7: an empty script. The one timer only keeps the process alive while
 * the bench reads its memory; the bench stops it.
 *
 * @module
 */
setTimeout(() => {}, 600_000);
