import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { parseTrainArgs } from "../../tools/cli/train.ts";
import { UsageError } from "../../lib/cli/mod.ts";

Deno.test("train --no-review turns the review after training off; without it the library's default stays", () => {
  const off = parseTrainArgs(["photos", "--no-review"]);
  assert(off !== "help");
  assertEquals(off.options.review, false);
  const on = parseTrainArgs(["photos"]);
  assert(on !== "help");
  assert(!("review" in on.options), "no --no-review: trainFolder's default (review) applies");
  assertThrows(() => parseTrainArgs(["photos", "--no-review=yes"]), UsageError, "--no-review takes no value");
});
