/**
 * The web model with quantized weights, measured and checked: for float32, float16 and uint8 weights
 * (`deno task export --quantize`), the size the page downloads, the page's load time in headless Chromium
 * (from navigation to ready, median of `--loads`), and the accuracy on the validation photos of the model's
 * classes in ../shared (tfjs-node with `deno task predict`'s decoding — the page equals it within 1e-3,
 * tools/browser/web_check.ts) with the largest probability change against float32. Each variant's page must
 * load, show its size, and give tfjs-node's probabilities for a photo within 1e-3.
 *
 * Usage: deno run -A tools/browser/quantized_check.ts [--model DIR] [--loads N] [--json]
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { BlobWriter, Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import { allowOnly, CHROMIUM, chromiumFlags, requireChromium } from "./chromium.ts";
import { PROJECT_ROOT, resolveMirror, tf } from "../../lib/runtime/mod.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/mod.ts";
import { loadImage } from "../../lib/data/mod.ts";
import { buildSite, latestModelDir, orientationOf, readMetadata, serveSite } from "../../lib/tasks/mod.ts";
import type { Site } from "../../lib/tasks/mod.ts";
import { writeFileAtomic } from "../../lib/io/mod.ts";

const OUT = path.join(PROJECT_ROOT, "out", "web");
const SHARED = resolveMirror() ?? path.resolve(PROJECT_ROOT, "..", "shared");
const ZIPS = ["flower_photos_small.zip", "cats_and_dogs_filtered.zip"].map((z) =>
  path.join(SHARED, "data", z)
);
const VARIANTS = ["float32", "float16", "uint8"] as const;
type Variant = typeof VARIANTS[number];

interface Labeled {
  name: string;
  label: number;
  bytes: Uint8Array;
}

/** The validation photos of `classNames` from the first ../shared zip that has them. */
async function validationPhotos(classNames: string[]): Promise<Labeled[]> {
  for (const zip of ZIPS.filter((z) => fs.existsSync(z))) {
    const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(zip)));
    try {
      const out: Labeled[] = [];
      for (const e of await reader.getEntries()) {
        const m = e.filename.match(/(?:^|\/)validation\/([^/]+)\/([^/]+\.jpe?g)$/i);
        if (e.directory || !m || !classNames.includes(m[1])) continue;
        const bytes = new Uint8Array(await (await e.getData!(new BlobWriter())).arrayBuffer());
        out.push({ name: `${m[1]}_${m[2]}`, label: classNames.indexOf(m[1]), bytes });
      }
      if (out.length) return out.sort((a, b) => a.name < b.name ? -1 : 1);
    } finally {
      await reader.close();
    }
  }
  throw new Error(`no validation photos of ${classNames.join(", ")} in ${SHARED}/data (TL_MIRROR)`);
}

/** The site's model loaded by tfjs as the page loads it (quantized weights turned back into float32). */
async function siteModel(site: Site): Promise<LayersModel> {
  const body = (url: string) => (site.entries.get(url) as { body: Uint8Array }).body;
  const json = JSON.parse(new TextDecoder().decode(body("/model/model.json")));
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: body("/model/weights.bin").slice().buffer,
  }));
}

/** Class probabilities for every photo, in batches (the page's formula). */
function probabilities(model: LayersModel, site: Site, inputs: Tensor[]): number[][] {
  const out: number[][] = [];
  for (const x of inputs) {
    const logits = tf.tidy(() => model.predict(x) as Tensor).arraySync() as number[][];
    for (const z of logits) {
      if (site.metadata.output === "sigmoid") {
        const p = 1 / (1 + Math.exp(-z[0]));
        out.push([1 - p, p]);
      } else {
        const e = z.map((v) => Math.exp(v - Math.max(...z)));
        out.push(e.map((v) => v / e.reduce((a, b) => a + b, 0)));
      }
    }
  }
  return out;
}

interface PageRun {
  loadMs: number[];
  shown: string;
  probabilities: number[];
}

/** Loads the site's page `loads` times, then classifies `photo` once. */
async function runPage(site: Site, photo: string, loads: number, profile: string): Promise<PageRun> {
  const controller = new AbortController();
  let url = "";
  const server = serveSite(site, { port: 0, signal: controller.signal, onListen: (u) => url = u });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumFlags(),
    viewport: { width: 1100, height: 900 },
  });
  try {
    const origin = new URL(url).origin;
    await allowOnly(context, [origin]);
    const loadMs: number[] = [];
    const page = await context.newPage();
    for (let i = 0; i < loads; i++) {
      const t0 = performance.now();
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      loadMs.push(performance.now() - t0);
    }
    const shown = await page.locator("#model").innerText();
    await page.locator("#files").setInputFiles(photo);
    await page.waitForSelector('.result[data-done="true"]', { timeout: 120_000 });
    const probs = await page.locator(".result").first().getAttribute("data-probabilities");
    await page.screenshot({ path: path.join(OUT, `page-${site.metadata.weights}.png`) });
    return { loadMs, shown, probabilities: JSON.parse(probs ?? "[]") };
  } finally {
    await context.close();
    controller.abort();
    await server.finished;
  }
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const maxDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.map((row, i) => Math.max(...row.map((p, k) => Math.abs(p - b[i][k])))));
const top = (p: number[]) => p.indexOf(Math.max(...p));

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      loads: { type: "string", default: "5" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("Usage: deno run -A tools/browser/quantized_check.ts [--model DIR] [--loads N] [--json]");
    return 0;
  }
  const loads = Number(values.loads);
  if (!Number.isInteger(loads) || loads < 1) {
    console.error(`quantized check: --loads must be a whole number ≥ 1, got ${values.loads}`);
    return 2;
  }
  requireChromium();
  const modelDir = values.model ?? latestModelDir();
  const meta = readMetadata(modelDir);
  const photos = await validationPhotos(meta.classNames);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-quantized-check-"));
  const photoFile = path.join(tmp, photos[0].name);
  fs.writeFileSync(photoFile, photos[0].bytes);
  const options = { imageSize: meta.imageSize, orientation: orientationOf(meta) };
  const inputs: Tensor[] = [];
  for (let i = 0; i < photos.length; i += 16) {
    inputs.push(
      tf.tidy(() => tf.stack(photos.slice(i, i + 16).map((p) => loadImage(p.bytes, options, p.name)))),
    );
  }
  const rows = [];
  const failures: string[] = [];
  let reference: number[][] = [];
  try {
    for (const variant of VARIANTS) {
      const site = await buildSite(modelDir, variant === "float32" ? {} : { quantize: variant });
      const model = await siteModel(site);
      const probs = probabilities(model, site, inputs);
      model.dispose();
      if (variant === "float32") reference = probs;
      const accuracy = probs.filter((p, i) => top(p) === photos[i].label).length / photos.length;
      const page = await runPage(site, photoFile, loads, path.join(tmp, `profile-${variant}`));
      const pageDiff = maxDiff([page.probabilities], [probs[0]]);
      if (!(pageDiff <= 1e-3)) {
        failures.push(`${variant}: the page gives ${page.probabilities}, tfjs-node ${probs[0]}`);
      }
      if (!page.shown.includes(" MB")) failures.push(`${variant}: the page does not show the model's size`);
      rows.push({
        variant,
        modelBytes: site.metadata.modelBytes!,
        loadMs: median(page.loadMs),
        accuracy,
        maxProbabilityChange: maxDiff(probs, reference),
        topChanged: probs.filter((p, i) => top(p) !== top(reference[i])).length,
        pageDiff,
        shown: page.shown,
      });
      const r = rows.at(-1)!;
      if (!values.json) {
        console.log(
          `${variant.padEnd(8)} ${(r.modelBytes / 1e6).toFixed(2)} MB, page ready in ${
            r.loadMs.toFixed(0)
          } ms ` +
            `(median of ${loads}), accuracy ${(100 * accuracy).toFixed(1)}% on ${photos.length} photos, ` +
            `max |Δp| vs float32 ${
              r.maxProbabilityChange.toExponential(1)
            }, ${r.topChanged} top class(es) changed; ` +
            `page vs tfjs-node ${pageDiff.toExponential(1)}`,
        );
      }
    }
  } finally {
    tf.dispose(inputs);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const report = { model: path.resolve(modelDir), photos: photos.length, rows, failures };
  fs.mkdirSync(OUT, { recursive: true });
  await writeFileAtomic(path.join(OUT, "quantized_check.json"), JSON.stringify(report, null, 1));
  if (values.json) console.log(JSON.stringify(report));
  if (failures.length) console.error(failures.join("\n"));
  return failures.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`quantized check: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
