// The page: loads the exported classifier with TensorFlow.js (the global `tf` from tfjs/tf.es2017.min.js) and
// classifies the photos the user picks or drops, one at a time, in this page — nothing is uploaded.
//
// Preprocessing is the training pipeline's: the decoded photo's RGB values 0..255 as floats, resized
// bilinearly with half-pixel centres (`tf.image.resize`, no crop, no antialiasing) to the model's input
// size; the model holds its own `x / 127.5 − 1` Rescaling layer. The model outputs logits: one (two
// classes, sigmoid = P(classNames[1])) or one per class (softmax), turned into probabilities here.
//
// Backends in order: WebGL, then WASM, then plain JS (CPU); `?backend=wasm` (or webgl, cpu) picks one.
// Each result card carries its probabilities and timings as data attributes, read by tools/browser/web_check.ts.
//
// A classic (deferred) script, not a module: browsers refuse to run a module script of a page opened from
// disk (file://), so the page could not even say that it needs to be served.

/* global tf */
"use strict";

const TOP_K = 5;
const BACKENDS = ["webgl", "wasm", "cpu"];

const $ = (id) => document.getElementById(id);
const status = $("status");
const input = $("files");
const drop = $("drop");
const results = $("results");
const summary = $("summary");

/** What to do when the page was opened from disk: browsers let such a page fetch neither model nor WASM. */
const OPENED_FROM_DISK =
  "This page was opened as a file, and browsers do not let a page opened from disk load " +
  "its model. Serve its folder instead: run `python3 -m http.server` in that folder (any static web " +
  "server will do) and open http://localhost:8000/ — or, in the project, `deno task serve -- --model " +
  "models/NAME`, which opens the same page for a trained model.";

/** Shows an error on the page (and keeps the first one as the page's state, for checks). */
function showError(message) {
  const box = $("error");
  box.hidden = false;
  box.textContent = box.textContent ? `${box.textContent}\n${message}` : message;
  document.body.dataset.error = "true";
}

/** The WebGL renderer's name when it is a software rasterizer (no GPU), else null. */
function softwareWebGL() {
  try {
    const gl = document.createElement("canvas").getContext("webgl2") ??
      document.createElement("canvas").getContext("webgl");
    const info = gl?.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl?.getParameter(gl.RENDERER);
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer ?? "") ? renderer : null;
  } catch {
    return null;
  }
}

/**
 * The first backend of `wanted` that initializes; notes why others did not. In the automatic order a
 * software-rendered WebGL (SwiftShader, llvmpipe: no GPU) is skipped, since WASM is much faster there.
 */
async function pickBackend(wanted, automatic) {
  tf.wasm.setWasmPaths(new URL("tfjs/", location.href).href);
  const notes = [];
  for (const name of wanted) {
    const software = automatic && name === "webgl" ? softwareWebGL() : null;
    if (software) {
      notes.push(`webgl skipped: software renderer`);
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, notes };
      }
      notes.push(`${name} unavailable`);
    } catch (e) {
      notes.push(`${name}: ${e.message ?? e}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${notes.join("; ")})`);
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return await response.json();
}

/** Probabilities from the model's logits, in float64. */
function probabilities(logits, output) {
  if (output === "sigmoid") {
    const p = 1 / (1 + Math.exp(-logits[0]));
    return [1 - p, p];
  }
  const max = Math.max(...logits);
  const exps = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A card for one photo: thumbnail, name, then (when done) the top classes as bars. */
function card(file) {
  const item = element("li", "result");
  item.dataset.file = file.name;
  const img = element("img");
  img.alt = file.name;
  img.src = URL.createObjectURL(file);
  img.onload = () => URL.revokeObjectURL(img.src);
  const body = element("div", "body");
  body.append(element("p", "name", file.name), element("p", "time", "classifying…"));
  item.append(img, body);
  results.append(item);
  return item;
}

function showPrediction(item, probs, classNames, timing) {
  const body = item.querySelector(".body");
  body.querySelector(".time").remove();
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, TOP_K);
  for (const [p, i] of order) {
    const row = element("div", "row");
    const bar = element("div", "bar");
    const fill = element("span");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    row.append(
      element("span", "label", classNames[i]),
      bar,
      element("span", "pct", `${(100 * p).toFixed(1)}%`),
    );
    row.title = `${classNames[i]}: ${p}`;
    body.append(row);
  }
  body.append(
    element(
      "p",
      "time",
      `${timing.inference.toFixed(1)} ms inference · ${timing.decode.toFixed(1)} ms decoding ` +
        `(${timing.width}×${timing.height})`,
    ),
  );
  item.dataset.probabilities = JSON.stringify(probs);
  item.dataset.top = classNames[order[0][1]];
  item.dataset.inferenceMs = String(timing.inference);
  item.dataset.decodeMs = String(timing.decode);
  item.dataset.done = "true";
}

function showFailure(item, message) {
  item.classList.add("failed");
  item.querySelector(".time").textContent = message;
  item.dataset.done = "true";
  item.dataset.error = message;
  showError(message);
}

/** Decodes, resizes and classifies one photo; returns its probabilities and timings. */
async function classify(model, meta, file) {
  const t0 = performance.now();
  // Pixel values as stored: no colour-profile conversion, no alpha premultiplication (as TensorFlow's
  // decoder); EXIF orientation applied, as the photo is shown.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const t1 = performance.now();
  const [height, width] = meta.imageSize;
  try {
    const logits = tf.tidy(() => {
      const pixels = tf.browser.fromPixels(bitmap, 3).toFloat();
      const x = tf.image.resizeBilinear(pixels, [height, width], false, true).expandDims(0);
      return model.predict(x);
    });
    const values = await logits.data();
    logits.dispose();
    const t2 = performance.now();
    const timing = { decode: t1 - t0, inference: t2 - t1, width: bitmap.width, height: bitmap.height };
    return { probs: probabilities(values, meta.output), timing };
  } finally {
    bitmap.close();
  }
}

function createQueue(model, meta) {
  const times = [];
  let chain = Promise.resolve();
  return (files) => {
    for (const file of files) {
      const item = card(file);
      chain = chain.then(async () => {
        try {
          const { probs, timing } = await classify(model, meta, file);
          showPrediction(item, probs, meta.classNames, timing);
          times.push(timing.inference);
          const mean = times.reduce((a, b) => a + b, 0) / times.length;
          summary.hidden = false;
          summary.textContent = `${times.length} photo(s) classified · ${mean.toFixed(1)} ms per image ` +
            `on average (${tf.getBackend()})`;
          summary.dataset.meanMs = String(mean);
          summary.dataset.tensors = String(tf.memory().numTensors); // constant from photo to photo
        } catch (e) {
          showFailure(item, `Cannot classify ${file.name}: ${e.message ?? e}`);
        }
      });
    }
  };
}

async function main() {
  if (location.protocol === "file:") {
    status.textContent = "Not ready: opened as a file, not from a web server.";
    showError(OPENED_FROM_DISK);
    return;
  }
  const forced = new URLSearchParams(location.search).get("backend");
  if (forced && !BACKENDS.includes(forced)) {
    throw new Error(`?backend= must be one of ${BACKENDS.join(", ")}`);
  }
  const backend = await pickBackend(forced ? [forced] : BACKENDS, !forced);
  status.textContent = `Loading the model (backend: ${backend.name})…`;
  const meta = await fetchJson("model/metadata.json");
  const model = await tf.loadLayersModel("model/model.json");
  // Warm-up: the first call compiles shaders / allocates; the timings shown are for later calls.
  tf.tidy(() => model.predict(tf.zeros([1, ...meta.imageSize, 3])));
  await tf.nextFrame();
  const [h, w] = meta.imageSize;
  const accuracy = meta.metrics?.final?.val_accuracy;
  status.textContent = `Model “${meta.name}”: ${meta.classNames.length} classes ` +
    `(${meta.classNames.join(", ")}), ${h}×${w} input` +
    (typeof accuracy === "number" ? `, validation accuracy ${(100 * accuracy).toFixed(1)}%` : "") +
    ` · TensorFlow.js ${tf.version.tfjs} · backend: ${backend.name}` +
    (backend.notes.length ? ` (${backend.notes.join("; ")})` : "");
  document.body.dataset.backend = backend.name;
  document.body.dataset.tensors = String(tf.memory().numTensors);
  document.body.dataset.ready = "true";

  const enqueue = createQueue(model, meta);
  input.disabled = false;
  input.addEventListener("change", () => {
    enqueue([...input.files]);
    input.value = "";
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    enqueue([...e.dataTransfer.files].filter((f) => f.type.startsWith("image/") || f.type === ""));
  });
}

main().catch((e) => {
  status.textContent = "Not ready.";
  // A fetch that fails outright (not an HTTP error): the server is gone, or the page is not served.
  const unreachable = e instanceof TypeError && /fetch/i.test(e.message ?? "");
  showError(
    `The classifier could not start: ${e.message ?? e}` +
      (unreachable ? " (is the web server that served this page still running?)" : ""),
  );
});
