/**
 * The web page checked in a real browser: serves a classifier with lib/tasks/serve.ts on 127.0.0.1, opens the
 * page in Debian's headless `chromium` (playwright-core; every request not to the server is blocked and
 * counted), uploads six photos of known classes, waits for the predictions and checks that every
 * probability equals tfjs-node's for the same file (TensorFlow's decoder and resize, lib/data/image_decode.ts,
 * and the saved model's `predict`) within a tolerance, and that the page shows no error. Runs the page
 * once per backend (the automatic choice, then WASM and CPU forced; WebGL when this browser has it).
 * Screenshots and a JSON report go to `out/web/`.
 *
 * Model: `--model DIR`, else the model `deno task train` wrote last, else a generated one (MobileNetV2
 * alpha 0.35 with ../shared's ImageNet weights and an untrained 2-class head, or random weights without
 * them). Photos: three cats and three dogs from ../shared's dataset, else generated PNGs and JPEGs.
 *
 * Phone photos: the first photo stored as a camera stores it under EXIF Orientation 2–8 (pixels sideways or
 * mirrored, the tag saying so), as PNGs with an `eXIf` chunk — lossless, so the page must agree with
 * `predict` (lib/tasks/predict_files.ts) within the tolerance — and under 6 (a phone held upright) as a JPEG
 * with an APP1 segment: there the two JPEG decoders differ, so the page must read the same orientation and
 * give the same top class. The `ignore` run does it all again for a copy of the model whose metadata has no
 * `preprocessing.orientation` (saved before it was recorded: photos as stored), which the page must follow.
 *
 * Usage: deno run -A tools/browser/web_check.ts [--model DIR] [--backends auto,wasm,cpu,webgl] [--json]
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { allowOnly, CHROMIUM, chromiumFlags, requireChromium } from "./chromium.ts";
import type { BrowserContext, Page } from "playwright-core";
import { BlobWriter, Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import { PROJECT_ROOT, resolveMirror, tf } from "../../lib/runtime/mod.ts";
import type { LayersModel, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from "../../lib/runtime/mod.ts";
import { gradCam } from "../../lib/analysis/mod.ts";
import {
  loadImage,
  ORIENTATION_TRANSFORMS,
  type OrientationMode,
  readExifOrientation,
} from "../../lib/data/mod.ts";
import { buildClassifier, mobileNetV2, saveModel } from "../../lib/model/mod.ts";
import {
  buildSite,
  latestModelDir,
  loadClassifier,
  METADATA_FORMAT,
  METADATA_VERSION,
  MODELS_DIR,
  orientationOf,
  predictFiles,
  PREPROCESSING,
  readMetadata,
  serveSite,
  writeSite,
} from "../../lib/tasks/mod.ts";
import type { Site } from "../../lib/tasks/mod.ts";
import { writeFileAtomic } from "../../lib/io/mod.ts";
import { storedPixels, tinyBase, withExifOrientation } from "../../lib/testing/mod.ts";

const OUT = path.join(PROJECT_ROOT, "out", "web");
const SHARED = resolveMirror() ?? path.resolve(PROJECT_ROOT, "..", "shared");
const SHARED_ZIPS = ["cats_and_dogs_filtered.zip", "flower_photos_small.zip"].map((z) =>
  path.join(SHARED, "data", z)
);
const SHARED_WEIGHTS = path.join(
  SHARED,
  "weights",
  "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
);

const USAGE =
  `Usage: deno run -A tools/browser/web_check.ts [--model DIR] [--backends LIST] [--tolerance X] [--json]

  --model DIR       a trained classifier folder; default: the model trained last, else a generated one
  --photos DIR      class folders (DIR/<class>/*.jpg) to take six photos from; default: ../shared's
                    dataset holding the model's classes
  --backends LIST   page runs, comma-separated from auto, webgl, wasm, cpu, exported, ignore; default all
                    (a forced backend this browser lacks is reported, not failed; auto must work;
                    exported: the \`deno task export\` folder served by python3 -m http.server;
                    ignore: the model with metadata saying photos were decoded as stored)
  --tolerance X     largest accepted |page − tfjs-node| per probability; default 1e-3
  --json            print the report as JSON`;

interface Photo {
  file: string;
  label: string;
  /** The EXIF Orientation written into a phone photo. */
  orientation?: number;
}

/**
 * Lossless PNG copies of the JPEG photos (TensorFlow's own decoding of them): both sides then start from
 * identical pixels, which separates the page's resize + model from the two JPEG decoders' difference.
 */
async function pngCopies(items: Photo[]): Promise<Photo[]> {
  const out: Photo[] = [];
  for (const p of items.filter((p) => /\.jpe?g$/i.test(p.file)).slice(0, PNG_COPIES)) {
    const file = p.file.replace(/\.jpe?g$/i, ".png");
    const image = tf.node.decodeImage(fs.readFileSync(p.file), 3) as Tensor3D;
    const png = await tf.node.encodePng(image);
    image.dispose();
    fs.writeFileSync(file, png);
    out.push({ file, label: p.label });
  }
  return out;
}

/** Real photos taken from the dataset, and how many of them get a lossless PNG copy. */
const PHOTOS = 20;
const PNG_COPIES = 6;

/**
 * Phone photos of the first photo (a JPEG when there is one): its pixels stored as a camera stores them under
 * EXIF Orientation 2–8, as PNGs with an `eXIf` chunk, and under 6 as a JPEG with an APP1 segment.
 */
async function phonePhotos(items: Photo[], dir: string): Promise<Photo[]> {
  const source = items.find((p) => /\.jpe?g$/i.test(p.file)) ?? items[0];
  const decoded = tf.node.decodeImage(fs.readFileSync(source.file), 3) as Tensor3D;
  const shape = decoded.shape as [number, number, number];
  const upright = decoded.dataSync();
  decoded.dispose();
  const out: Photo[] = [];
  for (
    const [orientation, kind] of [2, 3, 4, 5, 6, 7, 8, 6].map((o, i) => [o, i < 7 ? "png" : "jpg"] as const)
  ) {
    const stored = storedPixels(upright, shape, orientation);
    const image = tf.tensor3d(stored.values, stored.shape, "int32");
    const bytes = kind === "png"
      ? await tf.node.encodePng(image)
      : await tf.node.encodeJpeg(image, "rgb", 95);
    image.dispose();
    const file = path.join(dir, `phone_o${orientation}.${kind}`);
    fs.writeFileSync(file, withExifOrientation(bytes, orientation));
    out.push({ file, label: source.label, orientation });
  }
  return out;
}

/**
 * Phone-sized JPEGs made from the first photo, upscaled to 3000×4000 and re-encoded by libjpeg (tfjs-node):
 * stored upright, and stored sideways (4000×3000) under EXIF Orientation 6, as a phone held upright saves it.
 */
async function phoneSizedPhotos(items: Photo[], dir: string): Promise<Photo[]> {
  const source = items.find((p) => /\.jpe?g$/i.test(p.file)) ?? items[0];
  const upright = tf.tidy(() => {
    const decoded = tf.node.decodeImage(fs.readFileSync(source.file), 3) as Tensor3D;
    const large = tf.image.resizeBilinear(decoded.toFloat(), [4000, 3000], false, true);
    return tf.clipByValue(large.round(), 0, 255).cast("int32") as Tensor3D;
  });
  const out: Photo[] = [];
  for (const orientation of [1, 6]) {
    // Orientation 6 stores the upright picture turned: columns reversed, then transposed (storedPixels').
    const image = orientation === 1
      ? upright
      : tf.tidy(() => tf.transpose(tf.reverse(upright, 1), [1, 0, 2]) as Tensor3D);
    const bytes = await tf.node.encodeJpeg(image, "rgb", 90);
    if (image !== upright) image.dispose();
    const file = path.join(dir, `phone_3000x4000${orientation === 1 ? "" : `_o${orientation}`}.jpg`);
    fs.writeFileSync(file, orientation === 1 ? bytes : withExifOrientation(bytes, orientation));
    out.push({ file, label: source.label, ...orientation === 1 ? {} : { orientation } });
  }
  upright.dispose();
  return out;
}

/**
 * A copy of the classifier in `modelDir` whose metadata has no `preprocessing.orientation`, as one saved
 * before it was recorded: its photos are to be decoded as stored.
 */
async function storedOrientationCopy(modelDir: string, dir: string): Promise<string> {
  const { model, metadata } = await loadClassifier(modelDir);
  const { orientation: _, ...preprocessing } = metadata.preprocessing;
  const note = "web check: a copy without preprocessing.orientation";
  await saveModel(model, dir, {
    files: { "metadata.json": JSON.stringify({ ...metadata, preprocessing, note }) },
  });
  model.dispose();
  return dir;
}

/** Photo files by class: `<anything>/validation/<class>/<file>` entries of a zip, or `<root>/<class>/<file>`. */
type Candidates = Map<string, { name: string; read: () => Promise<Uint8Array> }[]>;

async function zipCandidates(classNames: string[] | null, reader: ZipReader<unknown>) {
  const out: Candidates = new Map();
  const entries = (await reader.getEntries()).filter((e) =>
    !e.directory && /\.(jpe?g|png)$/i.test(e.filename)
  );
  for (const entry of entries.sort((a, b) => a.filename < b.filename ? -1 : 1)) {
    if (entry.directory) continue;
    const m = entry.filename.match(/(?:^|\/)validation\/([^/]+)\/([^/]+)$/);
    if (!m || (classNames && !classNames.includes(m[1]))) continue;
    const read = async () => new Uint8Array(await (await entry.getData(new BlobWriter())).arrayBuffer());
    out.set(m[1], [...out.get(m[1]) ?? [], { name: m[2], read }]);
  }
  if (!out.size) return null;
  return out;
}

function folderCandidates(root: string, classNames: string[] | null): Candidates {
  const out: Candidates = new Map();
  for (const label of fs.readdirSync(root).sort()) {
    const dir = path.join(root, label);
    if (!fs.statSync(dir).isDirectory() || (classNames && !classNames.includes(label))) continue;
    const files = fs.readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    out.set(label, files.map((name) => ({ name, read: () => Deno.readFile(path.join(dir, name)) })));
  }
  return out;
}

/** {@link PHOTOS} photos taken round-robin over the classes, copied into `dir`. */
async function pick(candidates: Candidates, dir: string): Promise<Photo[]> {
  const out: Photo[] = [];
  for (let i = 0; out.length < PHOTOS && i < PHOTOS; i++) {
    for (const [label, files] of candidates) {
      if (out.length >= PHOTOS || !files[i]) continue;
      const file = path.join(dir, `${label}_${files[i].name}`);
      fs.writeFileSync(file, await files[i].read());
      out.push({ file, label });
    }
  }
  return out;
}

/**
 * Six photos of the model's classes: from `--photos DIR` (class folders), else from a ../shared dataset
 * holding those classes (validation split), else cats and dogs for a generated model; generated pictures
 * when ../shared is absent or holds none of the model's classes.
 */
async function photos(dir: string, classNames: string[] | null, folder?: string): Promise<Photo[]> {
  fs.mkdirSync(dir, { recursive: true });
  if (folder) {
    const found = await pick(folderCandidates(folder, classNames), dir);
    if (!found.length) {
      throw new Error(`--photos ${folder}: no .jpg/.png in class folders named like the model's classes`);
    }
    return found;
  }
  for (const zip of SHARED_ZIPS.filter((z) => fs.existsSync(z))) {
    const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(zip)));
    try {
      const candidates = await zipCandidates(classNames ?? ["cats", "dogs"], reader);
      if (candidates) return await pick(candidates, dir);
    } finally {
      await reader.close();
    }
  }
  // Generated: reddish and bluish pictures with noise, as PNG and JPEG (of no class of a trained model:
  // the comparison with tfjs-node holds all the same).
  const out: Photo[] = [];
  for (let i = 0; i < PHOTOS; i++) {
    const label = classNames ? "?" : i % 2 ? "blue" : "red";
    const image = tf.tidy(() => {
      const color = tf.tensor1d(i % 2 ? [40, 70, 160] : [170, 60, 40]).reshape([1, 1, 3]);
      const noise = tf.randomUniform([120 + 20 * i, 150, 3], 0, 80, "float32", i);
      return tf.clipByValue(tf.add(color, noise), 0, 255).cast("int32") as Tensor3D;
    });
    const bytes = i < 3 ? await tf.node.encodePng(image) : await tf.node.encodeJpeg(image, "rgb", 90);
    image.dispose();
    const file = path.join(dir, `generated_${i}_${i % 2 ? "blue" : "red"}.${i < 3 ? "png" : "jpg"}`);
    fs.writeFileSync(file, bytes);
    out.push({ file, label });
  }
  return out;
}

/**
 * A classifier folder with metadata, for when no trained model exists: MobileNetV2 alpha 0.35 with
 * ../shared's ImageNet weights, or without them the tests' tiny base (a random MobileNetV2's features
 * vanish), and a 2-class head set from the photos' class centroids — a fixture, so that probabilities
 * spread over (0, 1) instead of sitting at 0.5.
 */
async function generatedModel(dir: string, items: Photo[]): Promise<string> {
  const shared = fs.existsSync(SHARED_WEIGHTS);
  const base = shared
    ? await mobileNetV2({
      inputShape: [160, 160, 3],
      alpha: 0.35,
      includeTop: false,
      weights: SHARED_WEIGHTS,
    })
    : tinyBase([160, 160, 3], 7);
  const { model } = buildClassifier({ base, numClasses: 2, seed: 3 });
  const classNames = [...new Set(items.map((p) => p.label))];
  centroidHead(model, items, classNames);
  const metadata = {
    format: METADATA_FORMAT,
    formatVersion: METADATA_VERSION,
    classNames,
    numClasses: 2,
    imageSize: [160, 160],
    channels: 3,
    alpha: 0.35,
    output: "sigmoid",
    preprocessing: PREPROCESSING,
    note:
      `generated by tools/browser/web_check.ts: ${shared ? "ImageNet MobileNetV2" : "tiny random base"}, ` +
      "head from the check photos' class centroids",
  };
  await saveModel(model, dir, { files: { "metadata.json": JSON.stringify(metadata) } });
  model.dispose();
  return dir;
}

/** Sets the one-logit `dense` head to separate the two classes' mean features (|logit| 2 on average). */
function centroidHead(model: LayersModel, items: Photo[], classNames: string[]) {
  const features = tf.model({
    inputs: model.inputs,
    outputs: model.getLayer("global_average_pooling2d").output,
  });
  const weights = tf.tidy(() => {
    const x = tf.stack(
      items.map((p) => loadImage(fs.readFileSync(p.file), { imageSize: [160, 160] }, p.file)),
    );
    const f = features.predict(x) as Tensor2D;
    const mean = (k: number) =>
      tf.gather(f, items.flatMap((p, i) => p.label === classNames[k] ? [i] : [])).mean(0) as Tensor1D;
    const [m0, m1] = [mean(0), mean(1)];
    const direction = tf.sub(m1, m0).reshape([-1, 1]);
    const middle = tf.add(m0, m1).div(2).reshape([1, -1]);
    const raw = tf.matMul(tf.sub(f, middle), direction);
    const scale = tf.div(2, tf.abs(raw).mean());
    const kernel = tf.mul(direction, scale);
    return [kernel, tf.neg(tf.matMul(middle, kernel)).reshape([1])];
  });
  model.getLayer("dense").setWeights(weights);
  tf.dispose(weights);
}

/**
 * `deno task export`'s folder for `site`, served by another static server (Python's `http.server`, no
 * special headers): the page must work on any static host.
 */
async function serveExport(site: Site, dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  await writeSite(site, dir);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const child = new Deno.Command("python3", {
    args: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  const url = `http://127.0.0.1:${port}/`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error("python3 -m http.server did not start within 20 s");
}

/** The page's formula (lib/tasks/web/app.js), in float64. */
function probabilities(logits: ArrayLike<number>, output: string): number[] {
  if (output === "sigmoid") {
    const p = 1 / (1 + Math.exp(-logits[0]));
    return [1 - p, p];
  }
  const max = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** tfjs-node's probabilities for one photo: as training decodes it, and as browsers decode it. */
interface Reference {
  /**
   * `deno task predict`'s (`predictFiles`: lib/data/image_decode.ts `loadImage`, TensorFlow's DecodeImage —
   * JPEG with libjpeg's fast integer IDCT — oriented as the model was trained).
   */
  training: number[];
  /** JPEG decoded with libjpeg's accurate integer IDCT (what Chromium does), then the same orientation and resize. */
  browserDecode: number[];
  /** The orientation the model was trained with: how the page must decode. */
  decoding: OrientationMode;
}

/** `image` turned upright by EXIF `orientation` (lib/data/exif_orientation.ts' transform). */
function upright(image: Tensor3D, orientation: number): Tensor3D {
  const t = ORIENTATION_TRANSFORMS[orientation as keyof typeof ORIENTATION_TRANSFORMS];
  const turned = t.transpose ? tf.transpose(image, [1, 0, 2]) : image;
  const axes = [...t.reverseRows ? [0] : [], ...t.reverseColumns ? [1] : []];
  return axes.length ? tf.reverse(turned, axes) : turned;
}

/** `predict`'s probabilities for `files`, in `classNames`' order. */
async function predicted(saved: Awaited<ReturnType<typeof loadClassifier>>, files: string[]) {
  const out = new Map<string, number[]>();
  for await (const r of predictFiles(saved, files)) {
    if (!r.ok) throw new Error(`predict: ${r.error}`);
    const p = new Map(r.predictions.map((c) => [c.className, c.probability]));
    out.set(r.file, saved.metadata.classNames.map((c) => p.get(c)!));
  }
  return out;
}

async function reference(modelDir: string, files: string[]): Promise<Reference[]> {
  const saved = await loadClassifier(modelDir);
  const { model, metadata: meta } = saved;
  const decoding = orientationOf(meta);
  const run = (x: Tensor) => probabilities((model.predict(x) as Tensor).dataSync(), meta.output);
  try {
    const training = await predicted(saved, files);
    return files.map((file) =>
      tf.tidy(() => {
        const bytes = fs.readFileSync(file);
        const fromPredict = training.get(file)!;
        if (!/\.jpe?g$/i.test(file)) return { training: fromPredict, browserDecode: fromPredict, decoding };
        let pixels = tf.node.decodeJpeg(bytes, 3, 1, true, false, 1, "INTEGER_ACCURATE") as Tensor3D;
        if (decoding === "exif") pixels = upright(pixels, readExifOrientation(bytes));
        const x = tf.image.resizeBilinear(pixels.toFloat(), meta.imageSize, false, true).expandDims(0);
        return { training: fromPredict, browserDecode: run(x), decoding };
      })
    );
  } finally {
    model.dispose();
  }
}

interface PhotoResult {
  file: string;
  label: string;
  top: string;
  page: number[];
  /** `deno task predict`'s (TensorFlow's decoder, `loadImage`): asserted within the tolerance. */
  node: number[];
  maxDiff: number;
  /** tfjs-node with the JPEG decoded as Chromium decodes it (accurate IDCT): what the page gave before. */
  browserDecode: number[];
  browserDecodeDiff: number;
  /** The EXIF Orientation the page read, and how it decoded (the model's `preprocessing.orientation`). */
  orientation: string;
  decoding: string;
  inferenceMs: number;
  decodeMs: number;
}
interface RunReport {
  requested: string;
  backend: string | null;
  status: string;
  unavailable?: string;
  results: PhotoResult[];
  maxDiff: number;
  maxBrowserDecodeDiff: number;
  meanInferenceMs: number;
  errors: string[];
  screenshot: string;
}

/**
 * What a card says of a photo's orientation against what `predict` does: the page decodes as the model was
 * trained, reads a phone photo's EXIF Orientation as written, and gives it `predict`'s top class.
 */
function orientationErrors(
  card: Record<string, string>,
  item: Photo,
  ref: Reference,
  probs: number[],
): string[] {
  const errors: string[] = [];
  if (card.decoding !== ref.decoding) {
    errors.push(
      `${card.file}: the page decoded with orientation "${card.decoding}", the model "${ref.decoding}"`,
    );
  }
  if (item.orientation === undefined) return errors;
  if (card.orientation !== String(item.orientation)) {
    errors.push(
      `${card.file}: the page read EXIF Orientation ${card.orientation}, the file has ${item.orientation}`,
    );
  }
  const top = (p: number[]) => p.indexOf(Math.max(...p));
  if (top(probs) !== top(ref.training)) {
    errors.push(
      `${card.file}: the page's top class differs from predict's (${JSON.stringify(ref.training)})`,
    );
  }
  return errors;
}

/** The page's result cards against tfjs-node's probabilities; problems go to `errors`. */
function compareCards(
  cards: Record<string, string>[],
  items: Photo[],
  node: Reference[],
  tolerance: number,
  errors: string[],
): PhotoResult[] {
  if (cards.length !== items.length) errors.push(`${items.length} photos uploaded, ${cards.length} shown`);
  const results: PhotoResult[] = [];
  cards.forEach((card, i) => {
    if (card.error) errors.push(`${card.file}: ${card.error}`);
    if (!card.probabilities || !items[i]) {
      errors.push(`${card.file ?? i}: no prediction shown`);
      return;
    }
    const probs = JSON.parse(card.probabilities) as number[];
    const expected = node[i].training;
    const diff = (ref: number[]) => Math.max(...probs.map((p, k) => Math.abs(p - ref[k])));
    const maxDiff = diff(expected);
    if (card.file !== path.basename(items[i].file)) {
      errors.push(`card ${i} is ${card.file}, not ${items[i].file}`);
    }
    if (probs.length !== expected.length || !(maxDiff <= tolerance)) {
      errors.push(`${card.file}: page ${JSON.stringify(probs)} vs predict ${JSON.stringify(expected)}`);
    }
    if (/\.jpe?g$/i.test(items[i].file) && card.decoder !== "libjpeg-turbo") {
      errors.push(`${card.file}: decoded by "${card.decoder}", not libjpeg-turbo as TensorFlow does`);
    }
    errors.push(...orientationErrors(card, items[i], node[i], probs));
    results.push({
      file: path.basename(items[i].file),
      label: items[i].label,
      top: card.top ?? "",
      page: probs,
      node: expected,
      maxDiff,
      browserDecode: node[i].browserDecode,
      browserDecodeDiff: diff(node[i].browserDecode),
      orientation: card.orientation ?? "",
      decoding: card.decoding ?? "",
      inferenceMs: Number(card.inferenceMs),
      decodeMs: Number(card.decodeMs),
    });
  });
  return results;
}

/** One page load with `backend` ("auto" = the page's own choice). */
async function runPage(
  context: BrowserContext,
  url: string,
  backend: string,
  items: Photo[],
  node: Reference[],
  tolerance: number,
  modelDir?: string,
): Promise<RunReport> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text()}`);
  });
  const screenshot = path.join(OUT, `page-${backend}.png`);
  const report: RunReport = {
    requested: backend,
    backend: null,
    status: "",
    results: [],
    maxDiff: 0,
    maxBrowserDecodeDiff: 0,
    meanInferenceMs: NaN,
    errors,
    screenshot,
  };
  try {
    await page.goto(["auto", "exported", "ignore"].includes(backend) ? url : `${url}?backend=${backend}`);
    try {
      await page.waitForSelector('body[data-ready="true"], body[data-error="true"]', { timeout: 120_000 });
    } catch {
      errors.push("the page did not get ready within 120 s");
      return report;
    }
    report.status = await page.locator("#status").innerText();
    if (await page.locator('body[data-error="true"]').count()) {
      const text = await page.locator("#error").innerText();
      if (
        !["auto", "exported", "ignore"].includes(backend) &&
        /no TensorFlow\.js backend could start/.test(text)
      ) {
        report.unavailable = text;
        errors.length = 0; // a browser without this backend: not a failure of the page
        return report;
      }
      errors.push(`the page shows: ${text}`);
      return report;
    }
    report.backend = await page.locator("body").getAttribute("data-backend");
    if (backend === "auto") await page.screenshot({ path: path.join(OUT, "page-ready.png") });
    await page.locator("#files").setInputFiles(items.map((p) => p.file));
    const done = page.locator('.result[data-done="true"]');
    const deadline = Date.now() + 300_000;
    while (await done.count() < items.length && Date.now() < deadline) await page.waitForTimeout(200);
    const cards = await page.locator(".result").evaluateAll((nodes) =>
      nodes.map((n) => ({ ...(n as unknown as { dataset: Record<string, string> }).dataset }))
    );
    report.results = compareCards(cards, items, node, tolerance, errors);
    if (await page.locator("#error").isVisible()) {
      errors.push(`the page shows: ${await page.locator("#error").innerText()}`);
    }
    const tensors = [
      await page.locator("body").getAttribute("data-tensors"),
      await page.locator("#summary").getAttribute("data-tensors"),
    ];
    if (tensors[0] !== tensors[1]) {
      errors.push(`the page's tensors went from ${tensors[0]} (ready) to ${tensors[1]} (after the photos)`);
    }
    if (backend === "auto") {
      errors.push(...await phoneScreen(page), ...await whyErrors(page, modelDir!, items));
    }
    report.maxDiff = Math.max(0, ...report.results.map((r) => r.maxDiff));
    report.maxBrowserDecodeDiff = Math.max(0, ...report.results.map((r) => r.browserDecodeDiff));
    const times = report.results.map((r) => r.inferenceMs);
    report.meanInferenceMs = times.reduce((a, b) => a + b, 0) / times.length;
    return report;
  } finally {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    await page.close();
  }
}

/**
 * "Why?" on the first three photos: the page's Grad-CAM heatmap (`[h, w]`, its class) must equal
 * lib/analysis' `gradCam` on `predict`'s input within 1e-3 (docs/interpretation.md's tolerance).
 */
async function whyErrors(page: Page, modelDir: string, items: Photo[]): Promise<string[]> {
  const errors: string[] = [];
  const { model, metadata } = await loadClassifier(modelDir);
  try {
    for (let i = 0; i < Math.min(3, items.length); i++) {
      const card = page.locator(".result").nth(i);
      if (!await card.locator("button.why").count()) return [`${items[i].file}: no "Why?" button`];
      await card.locator("button.why").click();
      await page.waitForFunction(
        (k) => {
          const cards = (globalThis as any).document.querySelectorAll(".result");
          return cards[k]?.dataset.heat !== undefined;
        },
        i,
        { timeout: 60_000 },
      );
      const heat = JSON.parse(await card.getAttribute("data-heat") ?? "[]") as number[];
      const classIndex = Number(await card.getAttribute("data-heat-class"));
      const options = { imageSize: metadata.imageSize, orientation: orientationOf(metadata) };
      const expected = tf.tidy(() => {
        const x = loadImage(fs.readFileSync(items[i].file), options, items[i].file).expandDims(0);
        return Array.from(gradCam(model, x as Tensor4D, { classIndex }).heatmaps.dataSync());
      });
      const diff = Math.max(...expected.map((v, k) => Math.abs(v - heat[k])));
      console.log(
        `  why? ${path.basename(items[i].file)}: Grad-CAM |Δ| ${diff.toExponential(1)} from gradCam`,
      );
      if (heat.length !== expected.length || !(diff <= 1e-3)) {
        errors.push(`${items[i].file}: the page's Grad-CAM differs from gradCam's by ${diff}`);
      }
    }
    await page.screenshot({ path: path.join(OUT, "page-why.png") });
  } finally {
    model.dispose();
  }
  return errors;
}

/** The page at a phone's width (390 px): screenshot, and nothing wider than the screen. */
async function phoneScreen(page: Page): Promise<string[]> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(OUT, "page-390px.png") });
  const width = await page.locator("html").evaluate((html) => html.scrollWidth);
  await page.setViewportSize({ width: 1100, height: 900 });
  return width > 390 ? [`at 390 px wide the page is ${width} px wide (scrolls sideways)`] : [];
}

/**
 * Uploads a file that is not an image: the page must say so on that photo's card (a placeholder, no
 * broken-image icon) and in its error box; then a good photo (`good`) must classify and clear the error.
 */
async function brokenFile(context: BrowserContext, url: string, dir: string, good: string) {
  const file = path.join(dir, "not_a_photo.jpg");
  fs.writeFileSync(file, "this is text, not a JPEG");
  const page = await context.newPage();
  const errors: string[] = [];
  try {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    await page.locator("#files").setInputFiles(file);
    await page.waitForSelector('.result[data-done="true"]', { timeout: 60_000 });
    const shown = await page.locator(".result").first().getAttribute("data-error");
    if (!shown?.includes("not_a_photo.jpg")) {
      errors.push(`broken file: the card shows ${JSON.stringify(shown)}`);
    }
    if (!await page.locator("#error").isVisible()) errors.push("broken file: no error shown on the page");
    if (!await page.locator(".result .placeholder").count()) errors.push("broken file: no placeholder shown");
    await page.screenshot({ path: path.join(OUT, "page-broken-file.png") });
    await page.locator("#files").setInputFiles(good);
    await page.waitForSelector('.result[data-done="true"] >> nth=1', { timeout: 60_000 });
    if (await page.locator("#error").isVisible()) errors.push("a good photo after it: the error stays");
    await page.screenshot({ path: path.join(OUT, "page-error-cleared.png") });
    return { shown, errors };
  } catch (e) {
    return { shown: null, errors: [`broken file: ${e instanceof Error ? e.message : e}`] };
  } finally {
    await page.close();
  }
}

interface CheckArgs {
  model?: string;
  photos?: string;
  backends: string[];
  tolerance: number;
  json: boolean;
  help: boolean;
}

const RUNS = ["auto", "webgl", "wasm", "cpu", "exported", "ignore"];

function parseCheckArgs(args: string[]): CheckArgs {
  const { values } = parseArgs({
    args: args[0] === "--" ? args.slice(1) : args,
    options: {
      model: { type: "string" },
      photos: { type: "string" },
      backends: { type: "string", default: RUNS.join(",") },
      tolerance: { type: "string", default: "1e-3" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const backends = values.backends!.split(",");
  const bad = backends.filter((b) => !RUNS.includes(b));
  if (bad.length) throw new Error(`--backends: unknown ${bad.join(", ")} (${RUNS.join(", ")})`);
  const tolerance = Number(values.tolerance);
  if (!(tolerance > 0)) throw new Error(`--tolerance must be a positive number, got ${values.tolerance}`);
  return {
    model: values.model,
    photos: values.photos,
    backends,
    tolerance,
    json: values.json!,
    help: values.help!,
  };
}

/** The model (given, trained last, or generated), the photos, and tfjs-node's probabilities for them. */
async function prepare(args: CheckArgs, tmp: string, log: (s: string) => void) {
  let modelDir = args.model;
  if (!modelDir) {
    try {
      modelDir = latestModelDir(MODELS_DIR);
    } catch {
      // none: a generated model below
    }
  }
  const classNames = modelDir ? readMetadata(modelDir).classNames : null;
  const originals = await photos(path.join(tmp, "photos"), classNames, args.photos);
  if (!modelDir) {
    log("web check: no trained model under models/: generating one");
    modelDir = await generatedModel(path.join(tmp, "model"), originals);
  }
  const items = [
    ...originals,
    ...await pngCopies(originals),
    ...await phonePhotos(originals, path.join(tmp, "photos")),
    ...await phoneSizedPhotos(originals, path.join(tmp, "photos")),
  ];
  log(`web check: model ${modelDir}; ${items.length} photos (${items.map((p) => p.label).join(", ")})`);
  return { modelDir, items, node: await reference(modelDir, items.map((p) => p.file)) };
}

/**
 * The `ignore` run's site: a copy of the model whose metadata has no `preprocessing.orientation`, served on
 * another port, with `predict`'s probabilities for `items` under it.
 */
async function storedOrientationSite(modelDir: string, tmp: string, items: Photo[], signal: AbortSignal) {
  const dir = await storedOrientationCopy(modelDir, path.join(tmp, "model-ignore"));
  const node = await reference(dir, items.map((p) => p.file));
  let url = "";
  const server = serveSite(await buildSite(dir), { port: 0, signal, onListen: (u) => url = u });
  return { url, server, node };
}

/** Headless Chromium with a fresh profile; requests to anything but `origins` are blocked and listed. */
async function launchBrowser(profile: string, origins: Set<string>, blocked: string[]) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumFlags({ webgl: "software" }),
    viewport: { width: 1100, height: 900 },
  });
  await allowOnly(context, origins, { blocked });
  return context;
}

function printRun(run: RunReport, tolerance: number, log: (s: string) => void) {
  if (run.unavailable) {
    log(
      `${run.requested}: unavailable in this browser (${run.unavailable.replace(/\s+/g, " ").slice(0, 160)})`,
    );
    return;
  }
  log(`${run.requested}: backend ${run.backend}; ${run.status.replace(/\s+/g, " ")}`);
  log(
    "  photo                class → page top   P(page)            |Δ| predict      |Δ| browser decoder      ms",
  );
  for (const r of run.results) {
    const probs = r.page.map((p) => p.toFixed(4)).join("/");
    const file = r.orientation === "1" ? r.file : `${r.file} (o${r.orientation}, ${r.decoding})`;
    log(
      `  ${file.padEnd(20)} ${r.label.padEnd(5)} → ${r.top.padEnd(8)} ${probs.padEnd(18)} ` +
        `${r.maxDiff.toExponential(1).padEnd(16)} ${r.browserDecodeDiff.toExponential(1).padEnd(21)} ` +
        r.inferenceMs.toFixed(1),
    );
  }
  log(
    `  max |Δ| ${run.maxDiff.toExponential(2)} against predict (tolerance ${tolerance}); ` +
      `${run.maxBrowserDecodeDiff.toExponential(2)} against Chromium's own JPEG decoder (accurate IDCT); ` +
      `${run.meanInferenceMs.toFixed(1)} ms per image; screenshot ${
        path.relative(PROJECT_ROOT, run.screenshot)
      }` +
      (run.errors.length ? `\n  FAILED: ${run.errors.join("\n  FAILED: ")}` : ""),
  );
}

async function main(argv: string[]): Promise<number> {
  let args: CheckArgs;
  try {
    args = parseCheckArgs(argv);
  } catch (e) {
    console.error(`web check: ${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  requireChromium();
  const log = args.json ? () => {} : console.log;
  fs.mkdirSync(OUT, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-web-check-"));
  const controller = new AbortController();
  let context: BrowserContext | undefined;
  let server: Deno.HttpServer | undefined;
  const servers: Deno.HttpServer[] = [];
  let exported: { url: string; stop(): Promise<void> } | null = null;
  try {
    const { modelDir, items, node } = await prepare(args, tmp, log);
    const site = await buildSite(modelDir);
    let url = "";
    server = serveSite(site, { port: 0, signal: controller.signal, onListen: (u) => url = u });
    if (args.backends.includes("exported")) exported = await serveExport(site, path.join(tmp, "export"));
    const stored = args.backends.includes("ignore")
      ? await storedOrientationSite(modelDir, tmp, items, controller.signal)
      : null;
    servers.push(...stored ? [stored.server] : []);
    const origins = new Set([
      new URL(url).origin,
      ...exported ? [new URL(exported.url).origin] : [],
      ...stored ? [new URL(stored.url).origin] : [],
    ]);
    const blocked: string[] = [];
    context = await launchBrowser(path.join(tmp, "profile"), origins, blocked);
    const runs: RunReport[] = [];
    for (const backend of args.backends) {
      const pageUrl = backend === "exported" ? exported!.url : backend === "ignore" ? stored!.url : url;
      const ref = backend === "ignore" ? stored!.node : node;
      runs.push(await runPage(context, pageUrl, backend, items, ref, args.tolerance, modelDir));
      printRun(runs.at(-1)!, args.tolerance, log);
    }
    const failures = runs.flatMap((r) => r.errors.map((e) => `${r.requested}: ${e}`));
    if (runs.find((r) => r.requested === "auto")?.unavailable) failures.push("auto: no backend started");
    if (!runs.some((r) => r.results.length)) failures.push("no run produced predictions");
    const broken = await brokenFile(context, url, path.join(tmp, "photos"), items[0].file);
    log(
      `a file that is not an image: ${broken.shown ? `the page says "${broken.shown}"` : "no error shown"}`,
    );
    failures.push(...broken.errors);
    if (blocked.length) {
      log(`blocked ${blocked.length} request(s) to other hosts: ${blocked.slice(0, 3).join(", ")}`);
    }
    const report = { model: modelDir, tolerance: args.tolerance, runs, blocked, failures };
    await writeFileAtomic(path.join(OUT, "web_check.json"), JSON.stringify(report, null, 1));
    if (args.json) console.log(JSON.stringify(report));
    log(`web check ${failures.length ? "FAILED" : "ok"}: report out/web/web_check.json`);
    if (failures.length) console.error(failures.join("\n"));
    return failures.length ? 1 : 0;
  } finally {
    await context?.close();
    await exported?.stop();
    controller.abort();
    await server?.finished;
    for (const s of servers) await s.finished;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`web check: ${e instanceof Error ? e.stack ?? e.message : e}`);
    Deno.exit(1);
  }
}
