/**
 * Reproducible runs: two processes started with determinismEnv() and enableDeterminism({ seed }) end with
 * bit-identical weights (the tutorial's classifier with unseeded augmentation, dropout and head,
 * fine-tuning a tiny base); another seed ends elsewhere; without the environment, enableDeterminism says
 * what to set.
 */
import path from "node:path";
import { assert, assertEquals, assertNotEquals, assertThrows } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { determinismEnv, determinismStatus, enableDeterminism } from "../../lib/train/determinism.ts";
import { randomSeed, setRandomSeed } from "../../lib/train/random_state.ts";

async function run(seed: number): Promise<{ sha256: string; loss: number[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(PROJECT_ROOT, "tests", "_deterministic_run.ts"), String(seed)],
    cwd: PROJECT_ROOT,
    env: determinismEnv({ threads: 2 }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `run failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

Deno.test("[subprocess, ~10 s] two deterministic runs (separate processes) end with bit-identical weights", async () => {
  const [a, b, other] = [await run(5), await run(5), await run(6)];
  assertEquals(a, b);
  assertNotEquals(a.sha256, other.sha256);
});

Deno.test("determinismEnv / determinismStatus / enableDeterminism: the variables, and a clear error without them", () => {
  assertEquals(determinismEnv({ threads: 3 }), {
    TF_DETERMINISTIC_OPS: "1",
    TF_NUM_INTRAOP_THREADS: "3",
    TF_NUM_INTEROP_THREADS: "3",
  });
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  const on = determinismStatus(env(determinismEnv({ threads: 2 })));
  assertEquals([on.deterministicOps, on.intraOpThreads, on.interOpThreads, on.missing], [true, 2, 2, []]);
  const off = determinismStatus(env({ TF_NUM_INTRAOP_THREADS: "4" }));
  assertEquals(off.missing.map((m) => m.split("=")[0]), ["TF_DETERMINISTIC_OPS", "TF_NUM_INTEROP_THREADS"]);
  if (determinismStatus().missing.length > 0) {
    assertThrows(
      () => enableDeterminism({ seed: 1 }),
      Error,
      "TensorFlow was started without TF_DETERMINISTIC_OPS=1",
    );
    assertEquals(randomSeed(), null, "nothing was seeded");
  }
  enableDeterminism({ seed: 1, requireEnvironment: false });
  assertEquals(randomSeed(), 1);
  setRandomSeed(null);
});
