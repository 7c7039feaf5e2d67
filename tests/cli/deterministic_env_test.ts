import { assertEquals } from "../_assert.ts";
import { deterministicEnv, wantsDeterminism } from "../../lib/cli/mod.ts";
import { determinismEnv } from "../../lib/train/determinism.ts";

Deno.test("the launcher's deterministicEnv (lib/cli) and lib/train's determinismEnv give the same variables", () => {
  assertEquals(deterministicEnv(), determinismEnv());
  assertEquals(deterministicEnv(3), determinismEnv({ threads: 3 }));
});

Deno.test("wantsDeterminism: --deterministic among the options, not after --", () => {
  assertEquals(wantsDeterminism(["d", "--deterministic", "--epochs", "2"]), true);
  assertEquals(wantsDeterminism(["d", "--epochs", "2"]), false);
  assertEquals(wantsDeterminism(["--", "--deterministic"]), false);
});
