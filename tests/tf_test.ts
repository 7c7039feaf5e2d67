import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { tensorflowVersion, tf } from "../lib/tf.ts";

Deno.test("the backend is TensorFlow's native C library", () => {
  assertEquals(tf.getBackend(), "tensorflow");
  assertMatch(tensorflowVersion(), /^\d+\.\d+\.\d+/);
  console.log(`TensorFlow ${tensorflowVersion()}, tfjs ${tf.version.tfjs}`);
});
