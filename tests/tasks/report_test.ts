/**
 * The report's layout (`lib/tasks/report.ts`): the top losses' photos at their own aspect ratio, linked to
 * their files; only the confused pairs that matter; the "how to use this model" lines (type-checked); the
 * map of the data, static and interactive (thumbnails at their aspect ratio, capped, links); and the page in
 * headless Chromium at a laptop's and a phone's width — no console error, no request, no sideways scroll,
 * a point of the map shows its thumbnail on hover (screenshots in out/report/). Chromium: `bash tools/setup/install_browser.sh`; that test is skipped
 * without it.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { tf } from "../../lib/runtime/mod.ts";
import type { Tensor3D } from "../../lib/runtime/mod.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { buildReport, usageCode } from "../../lib/tasks/mod.ts";
import type { TopLossTile } from "../../lib/tasks/mod.ts";
import { MAP_THUMBNAILS, mapThumbnailPicks, withThumbnails } from "../../lib/tasks/report.ts";
import type { ReviewFindings } from "../../lib/tasks/review.ts";
import type { MapPoint } from "../../lib/analysis/mod.ts";
import { tinyMetadata } from "../../lib/testing/tiny.ts";
import { CHROMIUM } from "../../tools/browser/chromium.ts";
import { checkReportPage, hoverMapPoint } from "../_report_page.ts";
import { assert, assertEquals } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";

const history = (loss: number[], acc: number[], initialEpoch = 0) => ({
  epoch: loss.map((_, i) => initialEpoch + i),
  params: { epochs: initialEpoch + loss.length, initialEpoch, steps: 4 },
  history: {
    loss,
    accuracy: acc,
    val_loss: loss.map((l) => l * 1.1),
    val_accuracy: acc.map((a) => a * 0.95),
  },
});

/** A metadata with curves and metrics, and `n` top losses whose files are `w × h` PNGs in `dir`. */
async function reportInput(dir: string, n: number, [w, h]: [number, number]) {
  const metadata = tinyMetadata({
    histories: {
      frozen: history([1, 0.6, 0.4], [0.5, 0.7, 0.8]),
      fineTuning: history([0.35, 0.3], [0.85, 0.9], 3),
    },
    metrics: {
      final: { val_loss: 0.33, val_accuracy: 0.855 },
      confusionMatrix: [[9, 3, 1], [1, 10, 1], [1, 1, 8]],
      perClass: ["a", "b", "c"].map((className, i) => ({
        className,
        precision: 0.8,
        recall: 0.7 + i / 10,
        support: 10,
      })),
      mostConfused: [
        { actual: "a", predicted: "b", count: 3 },
        { actual: "a", predicted: "c", count: 1 },
        { actual: "b", predicted: "a", count: 1 },
        { actual: "b", predicted: "c", count: 1 },
        { actual: "c", predicted: "a", count: 1 },
        { actual: "c", predicted: "b", count: 1 },
      ],
    },
  });
  const topLosses: TopLossTile[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `photo ${i} & <b>.png`);
    const photo = tf.tidy(() => tf.fill([h, w, 3], 40 * i).toInt() as Tensor3D);
    fs.writeFileSync(file, await tf.node.encodePng(photo));
    photo.dispose();
    const image = tf.tidy(() => tf.fill([16, 16, 3], 40 * i).toInt() as Tensor3D);
    topLosses.push({
      image,
      actual: i % 3,
      predicted: (i + 1) % 3,
      probability: 0.9,
      loss: 2 - i / 10,
      file,
    });
  }
  return { metadata, topLosses, modelDir: path.join(dir, "my model") };
}

Deno.test("report: photos at their aspect ratio linked to their files, confused pairs that matter, how to use", async () => {
  await withTempDir("tl-report-", async (dir) => {
    const input = await reportInput(dir, 3, [120, 60]);
    const html = await buildReport(input);
    tf.dispose(input.topLosses.map((t) => t.image));
    const thumbs = [...html.matchAll(/<img class="thumb" src="data:image\/jpeg;base64,([^"]+)"/g)];
    assertEquals(thumbs.length, 3);
    const shape = tf.tidy(() =>
      tf.node.decodeImage(Uint8Array.from(atob(thumbs[0][1]), (c) => c.charCodeAt(0))).shape
    );
    assertEquals(shape, [180, 360, 3], "180 px high, twice as wide as the 120 × 60 photo");
    for (const t of input.topLosses) {
      assert(html.includes(`<a href="${pathToFileURL(t.file!).href.replaceAll("&", "&#38;")}">`), t.file);
    }
    assert(html.includes("photo 0 &#38; &#60;b&#62;.png"), "file names are escaped");
    const confused = html.slice(html.indexOf("Most confused pairs"), html.indexOf("Top losses"));
    assertEquals(confused.match(/<tr><td>/g)?.length, 5, "fewer than 5 pairs seen twice: the top 5");
    assert(
      html.includes("deno task predict -- --model &#39;") ||
        html.includes("deno task predict -- --model &#39;"),
    );
    assert(html.includes(`loadClassifier(${JSON.stringify(input.modelDir).replaceAll('"', "&#34;")})`));
  });
});

Deno.test('report: the TypeScript lines of "how to use this model" type-check', async () => {
  const file = path.join(PROJECT_ROOT, `.tl-usage-check-${crypto.randomUUID()}.ts`);
  try {
    fs.writeFileSync(file, usageCode("models/flowers"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", file],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    fs.rmSync(file, { force: true });
  }
});

/**
 * `reportInput` with review findings whose map has `n` points, each a `w × h` PNG in `dir`/validation (the
 * odd ones misclassified), and no photos to fix.
 */
async function reviewInput(dir: string, n: number, [w, h]: [number, number]) {
  const input = await reportInput(dir, 0, [w, h]);
  const map: MapPoint[] = [];
  for (let i = 0; i < n; i++) {
    const name = `validation/${"abc"[i % 3]}/photo ${i} & <i>.png`;
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    const photo = tf.tidy(() => tf.fill([h, w, 3], (37 * i) % 256).toInt() as Tensor3D);
    fs.writeFileSync(path.join(dir, name), await tf.node.encodePng(photo));
    photo.dispose();
    const predicted = "abc"[(i % 3 + i % 2) % 3];
    map.push({ x: Math.cos(i), y: Math.sin(2 * i), label: "abc"[i % 3], predicted, name });
  }
  const review: ReviewFindings = {
    root: dir,
    thresholds: { minConfidence: 0.9, minSimilarity: 0.95 },
    images: { validation: n },
    mislabels: [],
    duplicates: [],
    map,
    mapMethod: "pca",
  };
  return { ...input, review };
}

/** The Vega spec the report draws its interactive map from, and the map's data. */
function mapSpecOf(html: string) {
  const json = /<script type="application\/json" id="map-spec">(.*?)<\/script>/s.exec(html);
  assert(json, "the interactive map's spec");
  const spec = JSON.parse(json[1]);
  const values = spec.data.find((d: { values?: unknown[] }) => d.values).values as Record<string, string>[];
  return { spec, values };
}

Deno.test("report: the map's thumbnails — the misclassified first, then spread over the rest, capped", () => {
  const point = (i: number, wrong: boolean) => ({
    x: i,
    y: i,
    label: "a",
    predicted: wrong ? "b" : "a",
    name: `${i}`,
  });
  const points = Array.from({ length: 10 }, (_, i) => point(i, i === 3 || i === 8));
  assertEquals(
    [...mapThumbnailPicks(points, 4)],
    [3, 8, 0, 5],
    "the 2 errors, then the 1st and 5th of 8 others",
  );
  assertEquals(mapThumbnailPicks(points, 20).size, 10, "fewer points than the cap: all of them");
  assertEquals([...mapThumbnailPicks(points, 1)], [3]);
  assertEquals(MAP_THUMBNAILS, 200);
});

Deno.test("report: the map of the data — static SVG, and an interactive version with thumbnails and links", async () => {
  await withTempDir("tl-report-map-", async (dir) => {
    const input = await reviewInput(dir, 6, [150, 100]);
    const html = await buildReport(input);
    const section = html.slice(html.indexOf("<h2>Map of the data</h2>"));
    assert(/<div class="chart" id="map-static"><svg/.test(section), "the static map first");
    assert(section.includes('<div class="chart" id="map-interactive" hidden></div>'), "hidden until drawn");
    assert(!/<script[^>]*\bsrc=/.test(html), "no script is loaded from elsewhere");
    assert(section.includes("every photo has a thumbnail"), "says how many have one");
    const { spec, values } = mapSpecOf(html);
    assertEquals(spec.$schema, undefined, "no schema URL in the page");
    assertEquals(values.length, 6);
    for (const v of values) {
      assertEquals(v.href, pathToFileURL(path.join(dir, v.name)).href);
      const jpeg = /^data:image\/jpeg;base64,(.+)$/.exec(v.image);
      assert(jpeg, `${v.name}: a JPEG thumbnail`);
      const shape = tf.tidy(() =>
        tf.node.decodeImage(Uint8Array.from(atob(jpeg[1]), (c) => c.charCodeAt(0))).shape
      );
      assertEquals(shape, [64, 96, 3], "96 px on the longest side, at the photo's 3:2");
    }
    // As the notebook calls it: no links; `max` thumbnails, the misclassified first.
    const some = await withThumbnails(input.review.map, dir, { max: 2 });
    assertEquals(some.map((p) => [Boolean(p.image), p.href]), [
      [false, undefined],
      [true, undefined],
      [false, undefined],
      [true, undefined],
      [false, undefined],
      [false, undefined],
    ]);
    // The static SVG has no hover: no image data in it.
    const svg = section.slice(0, section.indexOf('id="map-interactive"'));
    assert(!svg.includes("data:image"), "no thumbnail in the static SVG");
  });
});

const noChromium = !fs.existsSync(CHROMIUM);
if (noChromium) {
  console.warn(`SKIPPED report in Chromium: ${CHROMIUM} is absent (bash tools/setup/install_browser.sh)`);
}

Deno.test({
  name: "report: renders in Chromium at 1280 and 390 px wide without console errors or sideways scrolling",
  ignore: noChromium,
  fn: () =>
    withTempDir("tl-report-browser-", async (dir) => {
      const input = {
        ...await reportInput(dir, 4, [500, 333]),
        review: (await reviewInput(dir, 30, [90, 120])).review,
      };
      const page = path.join(dir, "report.html");
      fs.writeFileSync(page, await buildReport(input));
      tf.dispose(input.topLosses.map((t) => t.image));
      await checkReportPage(page, {
        shotName: "report",
        extra: async (tab, width) => {
          await hoverMapPoint(tab, width);
          const [chart, body] = await tab.evaluate(
            `[document.querySelector(".chart svg").getBoundingClientRect().width,
              document.querySelector("h1").getBoundingClientRect().width]`,
          ) as number[];
          assert(chart >= body - 2, `the learning curves are ${chart} px in a ${body} px column`);
        },
      });
    }),
});
