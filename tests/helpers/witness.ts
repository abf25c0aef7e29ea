/**
 * The lines of a witness file that commands append their `$TASKSCHEDULER_EXECUTION_ID` to,
 * sorted; none when the file does not exist yet.
 */
export async function witnessed(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}
