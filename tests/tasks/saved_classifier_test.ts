import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertEquals, assertRejects } from "../_assert.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { loadClassifier } from "../../lib/tasks/saved_classifier.ts";
import { tinyBase, tinyMetadata as metadata } from "../../lib/testing/tiny.ts";

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
