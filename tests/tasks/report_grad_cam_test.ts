/**
 * The report's Grad-CAM section (`lib/tasks/report.ts`): heat overlays on the top losses and on the
 * correctly classified examples when the model is given, nothing without it.
 */
import { assert, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { interpret } from "../../lib/analysis/interpret.ts";
import { buildReport } from "../../lib/tasks/report.ts";
import { saveClassifier } from "../../lib/tasks/save_classifier.ts";
import { withTempDir } from "../_temp.ts";
import { tinyBase, tinyClassSet, tinyMetadata } from "../../lib/testing/tiny.ts";

const pngUrls = (html: string) => html.match(/data:image\/png;base64,[A-Za-z0-9+/=]+/g) ?? [];

Deno.test("buildReport with the model: Grad-CAM overlays of the top losses and the correct examples; no leaks", async () => {
  const set = tinyClassSet(24, 3, 16, 16, 3);
  const { model } = buildClassifier({ base: tinyBase(), numClasses: 3, seed: 1, augmentation: null });
  const it = await interpret(model, set.dataset, {
    classNames: ["a", "b", "c"],
    topK: 4,
    correctPerClass: 2,
  });
  assert(it.correct.length > 0);
  const metadata = tinyMetadata();
  const plain = await buildReport({ metadata, topLosses: it.topLosses });
  const before = tf.memory().numTensors;
  const html = await buildReport({
    metadata,
    topLosses: it.topLosses,
    explain: { model, correct: it.correct },
  });
  assertEquals(tf.memory().numTensors, before, "the overlays are freed");
  assertEquals(plain.includes("Where the model looked"), false);
  assert(html.includes("<h2>Where the model looked (Grad-CAM)</h2>"));
  const heat = html.slice(html.indexOf("Where the model looked"));
  const overlays = pngUrls(heat);
  const perImage = pngUrls(plain).length / it.topLosses.length; // the SVG may name an image more than once
  assert(perImage >= 1);
  assertEquals(overlays.length, perImage * (it.topLosses.length + it.correct.length));
  const photos = new Set(pngUrls(plain));
  assert(overlays.every((url) => !photos.has(url)), "the overlays are painted, not the photos again");
  it.dispose();
  model.dispose();
  set.dispose();
});

Deno.test("saveClassifier with an interpretation: report.html has the Grad-CAM section", async () => {
  await withTempDir("report_grad_cam_", async (tmp) => {
    const set = tinyClassSet(12, 3, 16, 16, 3);
    const { model } = buildClassifier({ base: tinyBase(), numClasses: 3, seed: 1, augmentation: null });
    const interpretation = await interpret(model, set.dataset, { classNames: ["a", "b", "c"], topK: 2 });
    const out = `${tmp}/model`;
    await saveClassifier(model, out, { classNames: ["a", "b", "c"], alpha: 0.35, interpretation });
    const html = await Deno.readTextFile(`${out}/report.html`);
    assert(html.includes("<h2>Where the model looked (Grad-CAM)</h2>"));
    interpretation.dispose();
    model.dispose();
    set.dispose();
  });
});
