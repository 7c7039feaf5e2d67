/**
 * The report's layout (`lib/tasks/report.ts`): the top losses' photos at their own aspect ratio, linked to
 * their files; only the confused pairs that matter; the "how to use this model" lines (type-checked); and
 * the page in headless Chromium at a laptop's and a phone's width — no console error, no sideways scroll
 * (screenshots in out/report/). Chromium: `bash tools/setup/install_browser.sh`; that test is skipped
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
import { tinyMetadata } from "../../lib/testing/tiny.ts";
import { CHROMIUM } from "../../tools/browser/chromium.ts";
import { checkReportPage } from "../_report_page.ts";
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

const noChromium = !fs.existsSync(CHROMIUM);
if (noChromium) {
  console.warn(`SKIPPED report in Chromium: ${CHROMIUM} is absent (bash tools/setup/install_browser.sh)`);
}

Deno.test({
  name: "report: renders in Chromium at 1280 and 390 px wide without console errors or sideways scrolling",
  ignore: noChromium,
  fn: () =>
    withTempDir("tl-report-browser-", async (dir) => {
      const input = await reportInput(dir, 4, [500, 333]);
      const page = path.join(dir, "report.html");
      fs.writeFileSync(page, await buildReport(input));
      tf.dispose(input.topLosses.map((t) => t.image));
      await checkReportPage(page, {
        shotName: "report",
        extra: async (tab) => {
          const [chart, body] = await tab.evaluate(
            `[document.querySelector(".chart svg").getBoundingClientRect().width,
              document.querySelector("h1").getBoundingClientRect().width]`,
          ) as number[];
          assert(chart >= body - 2, `the learning curves are ${chart} px in a ${body} px column`);
        },
      });
    }),
});
