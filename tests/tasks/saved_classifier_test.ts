import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { loadClassifier, readMetadata } from "../../lib/tasks/saved_classifier.ts";
import { tinyBase, tinyMetadata as metadata } from "../../lib/testing/tiny.ts";

Deno.test("readMetadata names the file and the problem", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h13-meta-"));
  try {
    const file = path.join(dir, "metadata.json");
    assertThrows(() => readMetadata(dir), Error, `${file} does not exist`);
    fs.writeFileSync(file, "{oops");
    assertThrows(() => readMetadata(dir), Error, `${file}: not valid JSON`);
    const write = (o: Record<string, unknown>) => fs.writeFileSync(file, JSON.stringify(metadata(o)));
    write({ format: "x" });
    assertThrows(() => readMetadata(dir), Error, 'format must be "transfer-learning-ts/classifier"');
    write({ numClasses: 2 });
    assertThrows(() => readMetadata(dir), Error, "numClasses 2 differs from the 3 classNames");
    write({ imageSize: [16] });
    assertThrows(() => readMetadata(dir), Error, "imageSize must be [height, width]");
    write({ output: "sigmoid" });
    assertThrows(() => readMetadata(dir), Error, 'output "sigmoid" does not fit 3 classes');
    write({});
    assertEquals(readMetadata(dir).classNames, ["a", "b", "c"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("loadClassifier: a model that does not match its metadata is an error", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h13-load-"));
  try {
    const { model } = buildClassifier({ base: tinyBase(), numClasses: 4, augmentation: null });
    await saveModel(model, dir, { files: { "metadata.json": JSON.stringify(metadata()) } });
    model.dispose();
    await assertRejects(
      () => loadClassifier(dir),
      Error,
      "the model (input 16×16×3, 4 logits) does not match metadata.json (imageSize 16×16×3, 3 classes → 3 logits)",
    );
    fs.writeFileSync(
      path.join(dir, "metadata.json"),
      JSON.stringify(metadata({ classNames: ["a", "b", "c", "d"], numClasses: 4 })),
    );
    const saved = await loadClassifier(dir);
    assertEquals(saved.metadata.numClasses, 4);
    saved.model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
