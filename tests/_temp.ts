/**
 * Temporary folders for the tests that write files: made fresh for each test and removed afterwards, also
 * when the test fails, so that no test sees another's leftovers.
 */
import fs from "node:fs";

/** Runs `fn` with a new empty folder (named `prefix…` in the system's temp folder), removed afterwards. */
export async function withTempDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Everything under `dir`, relative, sorted. */
export function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}
