/**
 * One small deterministic training run, for tests/train/determinism_test.ts to start twice as separate
 * processes: `enableDeterminism({ seed })` (the process must have `determinismEnv()`'s variables), the
 * tutorial's classifier on the tiny base (unseeded augmentation, dropout and head), 2 epochs; prints one
 * JSON line: the SHA-256 of every weight's bytes and the losses.
 */
import { createHash } from "node:crypto";
import { tf } from "../lib/runtime/tf.ts";
import { tinyBase, tinySet } from "../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier, unfreezeForFineTuning } from "../lib/model/classifier.ts";
import { fit } from "../lib/train/fit.ts";
import { enableDeterminism } from "../lib/train/determinism.ts";

enableDeterminism({ seed: Number(Deno.args[0] ?? 5) });
const set = tinySet(64, 16, 16, 1);
const { model, base } = buildClassifier({ base: tinyBase() });
unfreezeForFineTuning(base, 4);
compileClassifier(model, tf.train.adam(0.01));
const h = await fit(model, set.dataset, { epochs: 2, verbose: 0 });
const hash = createHash("sha256");
for (const w of model.weights) hash.update(new Uint8Array(w.read().dataSync().slice().buffer));
console.log(JSON.stringify({ sha256: hash.digest("hex"), loss: h.history.loss }));
