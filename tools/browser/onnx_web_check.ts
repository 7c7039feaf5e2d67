/**
 * The ONNX export in a browser: ONNX Runtime Web (`onnxruntime-web`, its WASM backend) in Debian's headless
 * `chromium` (playwright-core; every request not to the local server is blocked) runs the exported file on
 * real photos, and every output must equal tfjs-node's `predict` on the same pixels within 1e-4. Then its
 * speed at batch 1 and 32, beside ONNX Runtime in Node and tfjs-node on the same machine.
 *
 * Model: `--model DIR` (a saved classifier), else MobileNetV2 alpha 0.35 at 224 with ../shared's ImageNet
 * weights under a 5-class head (seeded, untrained), else the same with random weights. Photos: the first
 * `--photos` (default 64) cats-and-dogs validation JPEGs of ../shared, decoded and resized as training does
 * (`loadImage`); random images without them. The pixels go to the page as float32, so the check is the
 * runtime alone (JPEG decoding in browsers is the web page check's subject).
 *
 * Usage: deno run -A tools/browser/onnx_web_check.ts [--model DIR] [--photos N] [--json]
 * Exit code 0 when equal, 1 when not.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { type FileEntry, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { allowOnly, CHROMIUM, chromiumFlags, requireChromium } from "./chromium.ts";
import { PROJECT_ROOT, resolveMirror, tf } from "../../lib/runtime/mod.ts";
import type { LayersModel, Tensor, Tensor4D } from "../../lib/runtime/mod.ts";
import { loadImage } from "../../lib/data/mod.ts";
import { OnnxSession } from "../../lib/graph/mod.ts";
import { buildClassifier, exportOnnx, mobileNetV2, type OnnxOutputKind } from "../../lib/model/mod.ts";
import { loadClassifier } from "../../lib/tasks/mod.ts";

const TOLERANCE = 1e-4;
const ORT_DIST = path.join(
  path.dirname(path.dirname(new URL(import.meta.resolve("onnxruntime-web")).pathname)),
  "dist",
);
const SHARED = resolveMirror() ?? path.join(PROJECT_ROOT, "..", "shared");
const ZIP = path.join(SHARED, "data", "cats_and_dogs_filtered.zip");
const WEIGHTS = path.join(
  SHARED,
  "weights",
  "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
);

interface Subject {
  model: LayersModel;
  output: OnnxOutputKind;
  size: [number, number];
  what: string;
}

async function subject(modelDir: string | undefined): Promise<Subject> {
  if (modelDir) {
    const { model, metadata } = await loadClassifier(modelDir);
    return { model, output: metadata.output, size: metadata.imageSize, what: `classifier ${modelDir}` };
  }
  const imagenet = fs.existsSync(WEIGHTS);
  const base = await mobileNetV2({
    inputShape: [224, 224, 3],
    alpha: 0.35,
    includeTop: false,
    weights: imagenet ? WEIGHTS : null,
  });
  const { model } = buildClassifier({ base, numClasses: 5, seed: 7 });
  const weights = imagenet ? "ImageNet weights" : "random weights";
  return { model, output: "softmax", size: [224, 224], what: `MobileNetV2 0.35 (${weights}), 5 classes` };
}

/** `n` photos of ../shared's validation set at `size`, or random images without it. */
async function photos(n: number, size: [number, number]): Promise<{ x: Tensor4D; what: string }> {
  if (!fs.existsSync(ZIP)) {
    const x = tf.randomUniform([n, ...size, 3], 0, 255, "float32", 3) as Tensor4D;
    return { x, what: `${n} random images (no ${ZIP})` };
  }
  const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(ZIP)));
  const entries = (await reader.getEntries())
    .filter((e): e is FileEntry => !e.directory && /\/validation\/(cats|dogs)\/[^/]+\.jpg$/.test(e.filename))
    .sort((a, b) => a.filename < b.filename ? -1 : 1);
  const cats = entries.filter((e) => e.filename.includes("/cats/"));
  const dogs = entries.filter((e) => e.filename.includes("/dogs/"));
  const chosen = [...cats.slice(0, Math.ceil(n / 2)), ...dogs.slice(0, Math.floor(n / 2))];
  const images = [];
  for (const e of chosen) {
    images.push(loadImage(await e.getData(new Uint8ArrayWriter()), { imageSize: size }));
  }
  await reader.close();
  const x = tf.stack(images) as Tensor4D;
  tf.dispose(images);
  return { x, what: `${chosen.length} cats-and-dogs validation photos` };
}

const CONTENT_TYPES: Record<string, string> = {
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html",
};

/** 127.0.0.1: the ONNX Runtime Web files, the model, the pixels; cross-origin isolated (WASM threads). */
function serve(files: Map<string, Uint8Array>, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal,
      onListen: (a) => resolve(`http://127.0.0.1:${a.port}`),
    }, (req) => {
      const name = new URL(req.url).pathname;
      const local = name.startsWith("/ort/") ? path.join(ORT_DIST, path.basename(name)) : null;
      const body = files.get(name) ?? (local && fs.existsSync(local) ? Deno.readFileSync(local) : null);
      if (!body) return new Response("not found", { status: 404 });
      return new Response(body as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": CONTENT_TYPES[name === "/" ? ".html" : path.extname(name)] ??
            "application/octet-stream",
          "cross-origin-opener-policy": "same-origin",
          "cross-origin-embedder-policy": "require-corp",
        },
      });
    });
  });
}

/** What the page reports. */
interface PageResult {
  outputs: number[];
  threads: number;
  batch1Ms: number;
  batch32Ms: number;
}

/** Runs in the page: the model over all images in batches of 16, then timings. */
async function inPage(
  { n, h, w, runs }: { n: number; h: number; w: number; runs: number },
): Promise<PageResult> {
  // deno-lint-ignore no-explicit-any
  const ort: any = await import("/ort/ort.wasm.min.mjs" as string);
  ort.env.wasm.wasmPaths = "/ort/";
  const session = await ort.InferenceSession.create("/model.onnx", { executionProviders: ["wasm"] });
  const pixels = new Float32Array(await (await fetch("/pixels.bin")).arrayBuffer());
  const per = h * w * 3;
  const run = async (from: number, count: number) => {
    const x = new ort.Tensor("float32", pixels.slice(from * per, (from + count) * per), [count, h, w, 3]);
    const out = await session.run({ [session.inputNames[0]]: x });
    return Array.from(out[session.outputNames[0]].data as Float32Array);
  };
  const outputs: number[] = [];
  for (let i = 0; i < n; i += 16) outputs.push(...await run(i, Math.min(16, n - i)));
  const time = async (count: number) => {
    const ms: number[] = [];
    for (let r = 0; r < runs + 1; r++) {
      const t = performance.now();
      await run(0, count);
      if (r > 0) ms.push(performance.now() - t);
    }
    return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  };
  const batch1Ms = await time(1);
  const batch32Ms = n >= 32 ? await time(32) : NaN;
  return { outputs, threads: ort.env.wasm.numThreads, batch1Ms, batch32Ms };
}

/** Median ms of `runs` calls of `f` after one warm-up. */
async function medianMs(f: () => unknown, runs: number): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

/** tfjs-node's and ONNX Runtime Node's median ms at batch 1 and 32 on the first images of `x`. */
async function nodeSpeeds(model: LayersModel, onnx: Uint8Array, x: Tensor4D, runs: number) {
  const session = await OnnxSession.create(onnx);
  const speeds: Record<string, { tfjsNode: number; onnxRuntimeNode: number }> = {};
  for (const batch of [1, 32].filter((b) => b <= x.shape[0])) {
    const part = x.slice([0, 0, 0, 0], [batch]) as Tensor4D;
    const data = part.dataSync() as Float32Array;
    speeds[`batch${batch}`] = {
      tfjsNode: await medianMs(() => tf.tidy(() => (model.predict(part) as Tensor).dataSync()), runs),
      onnxRuntimeNode: await medianMs(() => session.run(data, part.shape), runs),
    };
    part.dispose();
  }
  await session.release();
  return speeds;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      photos: { type: "string", default: "64" },
      json: { type: "boolean" },
    },
  });
  const n = Number(values.photos);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--photos ${values.photos}: expected a whole number ≥ 1`);
  }
  requireChromium();
  const { model, output, size, what } = await subject(values.model);
  const { x, what: photosWhat } = await photos(n, size);
  const onnx = await exportOnnx(model, { output });
  const expected = tf.tidy(() => {
    const logits = model.predict(x) as Tensor;
    return (output === "softmax" ? tf.softmax(logits) : output === "sigmoid" ? tf.sigmoid(logits) : logits)
      .dataSync() as Float32Array;
  });
  const pixels = x.dataSync() as Float32Array;
  const files = new Map<string, Uint8Array>([
    ["/", new TextEncoder().encode("<!doctype html><title>ONNX Runtime Web check</title>")],
    ["/model.onnx", onnx],
    ["/pixels.bin", new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength)],
  ]);
  const abort = new AbortController();
  const origin = await serve(files, abort.signal);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumFlags() });
  let page: PageResult;
  try {
    const context = await browser.newContext();
    await allowOnly(context, [origin], { inline: false });
    const tab = await context.newPage();
    await tab.goto(`${origin}/`);
    page = await tab.evaluate(inPage, { n: x.shape[0], h: size[0], w: size[1], runs: 10 });
  } finally {
    await browser.close();
    abort.abort();
  }
  const maxDifference = page.outputs.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  const ok = page.outputs.length === expected.length && maxDifference <= TOLERANCE;
  const node = await nodeSpeeds(model, onnx, x, 10);
  const report = {
    ok,
    model: what,
    photos: photosWhat,
    output,
    values: expected.length,
    maxDifference,
    tolerance: TOLERANCE,
    browser: { runtime: "onnxruntime-web 1.30.0 (wasm)", threads: page.threads },
    speedMs: {
      batch1: { onnxRuntimeWeb: page.batch1Ms, ...node.batch1 },
      batch32: { onnxRuntimeWeb: page.batch32Ms, ...node.batch32 },
    },
  };
  x.dispose();
  model.dispose();
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`onnx web check: ${what}; ${photosWhat}; output ${output}`);
    console.log(
      `  ONNX Runtime Web (WASM, ${page.threads} thread(s)) vs tfjs-node predict: max |Δ| ` +
        `${maxDifference.toExponential(2)} over ${expected.length} values (tolerance ${TOLERANCE}) → ` +
        (ok ? "equal" : "DIFFERENT"),
    );
    for (const [batch, s] of Object.entries(report.speedMs)) {
      console.log(`  ${batch}: ${Object.entries(s).map(([k, v]) => `${k} ${v?.toFixed(1)} ms`).join(", ")}`);
    }
  }
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
