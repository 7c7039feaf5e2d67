/**
 * `metadata.json` (lib/tasks/metadata.ts): the checks on reading — the format's version first, with what to
 * do about an unknown one — and the round trips through `writeMetadata` and `saveClassifier`.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import {
  METADATA_VERSION,
  metadataJson,
  readMetadata,
  SUPPORTED_METADATA_VERSIONS,
  writeMetadata,
} from "../../lib/tasks/metadata.ts";
import type { ClassifierMetadata } from "../../lib/tasks/metadata.ts";
import { saveClassifier } from "../../lib/tasks/save_classifier.ts";
import { tinyBase, tinyMetadata } from "../../lib/testing/tiny.ts";
import type { History } from "../../lib/train/fit.ts";

/** Runs `fn` with a new empty folder, removed afterwards. */
function inTempDir(prefix: string, fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync({ prefix });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("readMetadata names the file and the problem", () => {
  inTempDir("tl-meta-", (dir) => {
    const file = path.join(dir, "metadata.json");
    assertThrows(() => readMetadata(dir), Error, `${file} does not exist`);
    fs.writeFileSync(file, "{oops");
    assertThrows(() => readMetadata(dir), Error, `${file}: not valid JSON`);
    const write = (o: Parameters<typeof tinyMetadata>[0]) =>
      fs.writeFileSync(file, JSON.stringify(tinyMetadata(o)));
    write({ format: "x" });
    assertThrows(() => readMetadata(dir), Error, 'format must be "transfer-learning-ts/classifier"');
    write({ numClasses: 2 });
    assertThrows(() => readMetadata(dir), Error, "numClasses 2 differs from the 3 classNames");
    write({ imageSize: [16] });
    assertThrows(() => readMetadata(dir), Error, "imageSize must be [height, width]");
    write({ output: "sigmoid" });
    assertThrows(() => readMetadata(dir), Error, 'output "sigmoid" does not fit 3 classes');
    write({ channels: 1 });
    assertThrows(() => readMetadata(dir), Error, "channels must be 3 (RGB), got 1");
    write({ alpha: "wide" });
    assertThrows(() => readMetadata(dir), Error, 'alpha must be a positive width multiplier, got "wide"');
    write({ metrics: [0.9] });
    assertThrows(() => readMetadata(dir), Error, "metrics must be an object when present, got [0.9]");
    fs.writeFileSync(file, "[]");
    assertThrows(() => readMetadata(dir), Error, `${file}: expected a JSON object, got []`);
    write({});
    assertEquals(readMetadata(dir).classNames, ["a", "b", "c"]);
  });
});

Deno.test("readMetadata: an unknown formatVersion names the file, the version found, the versions read and what to do", () => {
  inTempDir("tl-meta-version-", (dir) => {
    const file = path.join(dir, "metadata.json");
    assertEquals([METADATA_VERSION, SUPPORTED_METADATA_VERSIONS], [1, [1]]);
    fs.writeFileSync(file, JSON.stringify(tinyMetadata({ formatVersion: 2 })));
    assertThrows(
      () => readMetadata(dir),
      Error,
      `${file}: formatVersion 2 is not supported: this version of the project reads formatVersion 1; the ` +
        "classifier was saved by a newer version of this project: update the project, or train it again with " +
        "this one (`deno task train`)",
    );
    fs.writeFileSync(file, JSON.stringify(tinyMetadata({ formatVersion: 0 })));
    assertThrows(
      () => readMetadata(dir),
      Error,
      `${file}: formatVersion 0 is not supported: this version of the project reads formatVersion 1; train ` +
        "the classifier again (`deno task train`, or save it again from the notebook)",
    );
    const { formatVersion: _, ...unversioned } = tinyMetadata();
    fs.writeFileSync(file, JSON.stringify(unversioned));
    assertThrows(() => readMetadata(dir), Error, `${file}: formatVersion undefined is not supported`);
    // The version is checked before the rest: a future file's other fields are not judged by today's rules.
    fs.writeFileSync(file, JSON.stringify(tinyMetadata({ formatVersion: 7, imageSize: "any" })));
    assertThrows(() => readMetadata(dir), Error, "formatVersion 7 is not supported");
  });
});

Deno.test("readMetadata: a decoding other than the project's is refused (it would give wrong predictions)", () => {
  inTempDir("tl-meta-pre-", (dir) => {
    const meta = tinyMetadata();
    fs.writeFileSync(
      path.join(dir, "metadata.json"),
      JSON.stringify({ ...meta, preprocessing: { ...meta.preprocessing, resize: "nearest" } }),
    );
    assertThrows(() => readMetadata(dir), Error, "preprocessing must be");
  });
});

Deno.test("writeMetadata → readMetadata: the same metadata back, written atomically (no temporary file left)", async () => {
  await withTempDir("tl-meta-trip-", async (dir) => {
    const metadata: ClassifierMetadata = {
      ...tinyMetadata(),
      created: "2026-12-01T10:00:00.000Z",
      note: "round trip",
      training: { epochs: 2, fineTuneAt: 100, stages: { frozen: { wallSeconds: 1.5, cpuSeconds: 2.5 } } },
      metrics: {
        final: { val_loss: 0.25, val_accuracy: null },
        confusionMatrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
      },
    };
    await writeMetadata(dir, metadata);
    assertEquals(listTree(dir), ["metadata.json"]);
    assertEquals(readMetadata(dir), metadata);
    // A save never writes what cannot be read back.
    assertThrows(
      () => metadataJson({ ...metadata, numClasses: 4 }),
      Error,
      "metadata.json to write: numClasses 4",
    );
    await assertRejects(() => writeMetadata(dir, { ...metadata, imageSize: [0, 16] }), Error, "imageSize");
    assertEquals(readMetadata(dir), metadata, "the previous file is unchanged");
  });
});

/** A `History` as `fit` returns it, for `epochs` epochs from `initialEpoch`. */
function history(initialEpoch: number, accuracy: number[]): History {
  return {
    epoch: accuracy.map((_, i) => initialEpoch + i),
    history: {
      loss: accuracy.map((a) => 1 - a),
      accuracy,
      val_loss: accuracy.map((a) => 1.1 - a),
      val_accuracy: accuracy.map((a) => a - 0.05),
    },
    params: { epochs: initialEpoch + accuracy.length, initialEpoch },
  };
}

Deno.test("saveClassifier in one call: the model's size and output read from it, the parts given recorded, the folder written at once", async () => {
  await withTempDir("tl-save-", async (dir) => {
    const { model } = buildClassifier({ base: tinyBase([16, 16, 3]), numClasses: 3, augmentation: null });
    try {
      const out = path.join(dir, "pets");
      const metadata = await saveClassifier(model, out, {
        classNames: ["cat", "dog", "fish"],
        alpha: 0.35,
        histories: { frozen: history(0, [0.5, 0.7]), fineTuning: history(2, [0.8, 0.9]) },
        training: { fineTuneAt: 100 },
      });
      assertEquals(listTree(out), [
        ".tl-manifest.json",
        "metadata.json",
        "model.json",
        "report.html",
        "weights.bin",
      ]);
      assertEquals(readMetadata(out), JSON.parse(JSON.stringify(metadata)));
      assertEquals([metadata.imageSize, metadata.output, metadata.numClasses], [[16, 16], "softmax", 3]);
      assertEquals(metadata.metrics, {
        frozen: { val_loss: 1.1 - 0.7, val_accuracy: 0.7 - 0.05 },
        fineTuning: { val_loss: 1.1 - 0.9, val_accuracy: 0.9 - 0.05 },
        final: { val_loss: 1.1 - 0.9, val_accuracy: 0.9 - 0.05 },
      });
      assertEquals(metadata.data, undefined, "no data folder given, none recorded");
      const report = fs.readFileSync(path.join(out, "report.html"), "utf8");
      assert(
        report.includes("Learning curves") && report.includes("2. fine-tuning from layer 100 (2 epochs)"),
      );
      assert(!report.includes("Confusion matrix"), "no interpretation given: no error analysis");

      // The head must fit the class names; nothing is written otherwise.
      await assertRejects(
        () => saveClassifier(model, path.join(dir, "two"), { classNames: ["cat", "dog"], alpha: 0.35 }),
        Error,
        "saveClassifier: the model has 3 logit(s), 2 classNames need 1",
      );
      assert(!fs.existsSync(path.join(dir, "two")));

      // The former form (metadata built beforehand) still saves.
      const again = await saveClassifier(
        model,
        path.join(dir, "old"),
        tinyMetadata({ classNames: ["x", "y", "z"] }),
      );
      assertEquals(readMetadata(path.join(dir, "old")).classNames, again.classNames);
    } finally {
      model.dispose();
    }
  });
});
