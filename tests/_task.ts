/**
 * Runs a `deno task` as a subprocess, the way a user would (`deno task -q NAME -- ARGS`), for the
 * end-to-end tests of the command-line tasks.
 */
import { PROJECT_ROOT } from "../lib/runtime/config.ts";

/** The exit code and the decoded output of `deno task -q NAME -- ARGS`, run in the project root. */
export async function task(
  name: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, "--", ...args],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
