/**
 * `trainFolder` puts the photos to fix and the map of the data into `report.html`: on generated scenes
 * (a tiny MobileNetV2, alpha 0.35 at 96 × 96, one epoch) with a planted exact copy inside a class and a
 * copy moved into validation, the report lists the duplicate and the leak with linked thumbnails, the
 * command that writes the script, and the map as inline SVG with its interactive version (a point shows
 * its photo on hover in Chromium); `reviewFolder` leaves no tensor behind. With `test/`, the test set's
 * score in the report and as `metrics.test` in `metadata.json`.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { tf } from "../../lib/runtime/mod.ts";
import type { Tensor3D } from "../../lib/runtime/mod.ts";
import { mobileNetV2 } from "../../lib/model/mod.ts";
import { trainFolder, type TrainFolderOptions } from "../../lib/tasks/train_folder.ts";
import { reviewFolder } from "../../lib/tasks/review.ts";
import { readMetadata } from "../../lib/tasks/metadata.ts";
import { resolveDataFolder } from "../../lib/tasks/data_folder.ts";
import { CHROMIUM } from "../../tools/browser/chromium.ts";
import { checkReportPage, hoverMapPoint } from "../_report_page.ts";
import { assert, assertEquals } from "../_assert.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";
import { withTempDir } from "../_temp.ts";
import { scene } from "../_generated_scenes.ts";

async function writePng(file: string, image: Tensor3D): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await tf.node.encodePng(image));
}

/**
 * train/{a,b}: 6 scenes each, validation/{a,b}: 8 each (enough for UMAP), test/{a,b} 2 each when asked; an
 * exact copy in train/a and one in validation/a.
 */
export async function writePlantedFolder(root: string, options: { test?: boolean } = {}): Promise<void> {
  let seed = 300;
  const parts = options.test ? ["train", "validation", "test"] : ["train", "validation"];
  for (const part of parts) {
    for (const c of ["a", "b"]) {
      for (let i = 0; i < ({ train: 6, validation: 8 }[part] ?? 2); i++) {
        const image = scene(seed++);
        await writePng(path.join(root, part, c, `${i}.png`), image);
        image.dispose();
      }
    }
  }
  fs.copyFileSync(path.join(root, "train/a/0.png"), path.join(root, "train/a/copy & more.png"));
  fs.copyFileSync(path.join(root, "train/a/2.png"), path.join(root, "validation/a/moved.png"));
}

/** The tiny base: MobileNetV2 alpha 0.35 with the mirror's ImageNet weights. */
export const tinyMobileNet = (inputShape: [number, number, number]) =>
  mobileNetV2({ inputShape, alpha: 0.35, includeTop: false, weights: SHARED_WEIGHTS_035 });

/** One quiet frozen epoch of the alpha-0.35 base at 96×96: the training these tests need. */
const TINY_RUN = {
  epochs: 1,
  fineTuneEpochs: 0,
  imageSize: [96, 96],
  batchSize: 8,
  makeBase: tinyMobileNet,
  verbose: 0,
  datasetMessages: false,
} satisfies Partial<TrainFolderOptions>;

Deno.test({
  name: "trainFolder: report.html lists the planted duplicate and leak, and shows the map of the data",
  ignore: !haveShared(SHARED_WEIGHTS_035, "tasks/train_review_report_test"),
  fn: () =>
    withTempDir("tl-train-review-", async (dir) => {
      const root = path.join(dir, "photos");
      await writePlantedFolder(root);
      const lines: string[] = [];
      const { model, outDir } = await trainFolder({
        data: root,
        out: path.join(dir, "model"),
        ...TINY_RUN,
        log: (m) => lines.push(m),
      });
      try {
        const html = fs.readFileSync(path.join(outDir, "report.html"), "utf8");
        const fix = html.slice(
          html.indexOf("<h2>Photos to fix</h2>"),
          html.indexOf("<h2>Map of the data</h2>"),
        );
        assert(fix.length > 0 && html.includes("<h2>Map of the data</h2>"), "both sections, in order");
        const rows = fix.split("<tr>").slice(1).filter((r) => r.includes("similarity") === false);
        const pairRows = rows.filter((r) => /leak:|duplicate:|conflict:/.test(r));
        assertEquals(pairRows.length, 2, pairRows.join("\n"));
        const leak = pairRows.find((r) => r.includes("leak:"))!;
        assert(leak.includes("train/a/2.png") && leak.includes("validation/a/moved.png"), leak);
        const dup = pairRows.find((r) => r.includes("duplicate:"))!;
        assert(dup.includes("train/a/0.png") && dup.includes("train/a/copy &#38; more.png"), dup);
        // Thumbnails inline, linked to the files on disk.
        assertEquals(dup.match(/<img class="thumb small" src="data:image\/jpeg;base64,/g)?.length, 2);
        assert(dup.includes(`href="${pathToFileURL(path.join(root, "train/a/0.png")).href}"`), dup);
        assert(fix.includes(`deno task review -- --model ${outDir}`), "the command for the script");
        const map = html.slice(html.indexOf("<h2>Map of the data</h2>"));
        assert(/<div class="chart" id="map-static"><svg/.test(map), "the map as inline SVG");
        // Self-contained: nothing loaded from elsewhere (Chromium checks it below; the inlined Vega runtime
        // names URLs in its code, so only attributes are checked here).
        assert(!/\b(src|href)="https?:/.test(html), "no remote src or href");
        assert(!/<script[^>]*\bsrc=/.test(html), "no script loaded from a file");
        assert(map.includes('id="map-interactive"'), "the interactive map");
        assert(
          lines.some((l) => /^Photos to fix: .*2 near-duplicate pair\(s\) \(1 leak\(s\)\)/.test(l)),
          lines.join("\n"),
        );

        if (fs.existsSync(CHROMIUM)) {
          await checkReportPage(path.join(outDir, "report.html"), {
            shotName: "report-fix",
            extra: async (tab, width) => {
              const text = await hoverMapPoint(tab, width);
              assert(/file: validation\/[ab]\//.test(text), text);
            },
          });
        } else console.warn(`SKIPPED the report in Chromium: ${CHROMIUM} is absent`);

        // The review's own work leaves no tensor behind.
        const folder = await resolveDataFolder(root);
        const before = tf.memory().numTensors;
        const reading = {
          imageSize: [96, 96] as [number, number],
          classNames: ["a", "b"],
          orientation: "ignore" as const,
        };
        const findings = await reviewFolder(model, folder, reading, { batchSize: 8 });
        assertEquals(tf.memory().numTensors, before);
        assertEquals(findings.images, { train: 13, validation: 17 });
        // The map: UMAP, seeded — the same in the report's run and in this one.
        assertEquals(findings.mapMethod, "umap");
        assert(map.includes("UMAP, seeded") && map.includes("UMAP 1"), "the report's map is UMAP's");
        const again = await reviewFolder(model, folder, reading, { batchSize: 8 });
        assertEquals(again.map, findings.map);
        const pca = await reviewFolder(model, folder, reading, { batchSize: 8, mapMethod: "pca" });
        assertEquals(pca.mapMethod, "pca");
      } finally {
        model.optimizer?.dispose();
        model.dispose();
      }
    }),
});

Deno.test({
  name: "trainFolder: with test/, the report has the test set's score and confusion matrix",
  ignore: !haveShared(SHARED_WEIGHTS_035, "tasks/train_review_report_test"),
  fn: () =>
    withTempDir("tl-train-test-set-", async (dir) => {
      const root = path.join(dir, "photos");
      await writePlantedFolder(root, { test: true });
      const lines: string[] = [];
      const { model, outDir } = await trainFolder({
        data: root,
        out: path.join(dir, "model"),
        ...TINY_RUN,
        review: false,
        log: (m) => lines.push(m),
      });
      model.optimizer?.dispose();
      model.dispose();
      const html = fs.readFileSync(path.join(outDir, "report.html"), "utf8");
      const at = html.indexOf("<h2>Test set</h2>");
      assert(at > 0, "a test-set section");
      const section = html.slice(at, html.indexOf("<h2>", at + 5));
      const line = lines.find((l) => l.startsWith("Test set: accuracy "));
      assert(line?.endsWith(" on 4 images"), lines.join("\n"));
      const accuracy = Number(/accuracy ([\d.]+)/.exec(line!)![1]);
      assert(
        section.includes(`Test accuracy ${(accuracy * 100).toFixed(1)} %</strong> on 4 images`),
        section,
      );
      assert(section.includes(`<code>${path.join(root, "test")}</code>`), section);
      assert(/<div class="chart square"><svg/.test(section), "the confusion matrix as inline SVG");
      assert(!html.includes("<h2>Photos to fix</h2>"), "review: false leaves the photos out");
      // metadata.json records the same numbers as metrics.test.
      const test = readMetadata(outDir).metrics?.test;
      assert(test, "metrics.test");
      const logged = /balanced accuracy ([\d.]+), loss ([\d.]+)/.exec(line!)!;
      assertEquals(test.count, 4);
      assertEquals(test.accuracy.toFixed(4), accuracy.toFixed(4));
      assertEquals(test.balancedAccuracy.toFixed(4), logged[1]);
      assertEquals(test.loss.toFixed(4), logged[2]);
      assert(section.includes(`balanced accuracy ${(test.balancedAccuracy * 100).toFixed(1)} %`), section);

      // Without test/: no section.
      fs.rmSync(path.join(root, "test"), { recursive: true });
      const again = await trainFolder({
        data: root,
        out: path.join(dir, "model2"),
        ...TINY_RUN,
        review: false,
        log: () => {},
      });
      again.model.optimizer?.dispose();
      again.model.dispose();
      assert(!fs.readFileSync(path.join(again.outDir, "report.html"), "utf8").includes("<h2>Test set</h2>"));
      const metrics = readMetadata(again.outDir).metrics;
      assert(metrics?.final && metrics.test === undefined, "no test/, no metrics.test");
    }),
});
