/** Processes for the tests of what is left behind by a process that died (locks, half-written saves). */

/** A PID that surely does not run: a child that has exited. */
export async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}
