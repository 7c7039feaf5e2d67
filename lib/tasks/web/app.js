// The page: loads the exported classifier with TensorFlow.js (the global `tf` from tfjs/tf.es2017.min.js) and
// classifies the photos the user picks or drops, one at a time, in this page — nothing is uploaded.
//
// Preprocessing is the training pipeline's: the decoded photo's RGB values 0..255 as floats, oriented as the
// model was trained (below), resized bilinearly with half-pixel centres (`tf.image.resize`, no crop, no
// antialiasing) to the model's input size; the model holds its own `x / 127.5 − 1` Rescaling layer.
//
// EXIF orientation (lib/data/exif_orientation.ts): `preprocessing.orientation` "exif" means the model saw
// photos upright, as browsers show them; "ignore" (or no such field: a model saved before it was
// recorded) means as stored. The page reads the tag as `deno task predict` does (ExifReader, the project's
// pinned version, served from exifreader/). JPEGs, which the page decodes itself (below), come out as
// stored and are turned upright for "exif". Other formats the browser decodes, and browsers always turn a
// photo upright (`createImageBitmap`'s `imageOrientation: "none"` does not undo it in Chromium, nor does CSS
// `image-orientation: none` for a blob), so for "ignore" the page moves their pixels back (exact) and shows
// that picture. The model outputs logits: one (two classes, sigmoid = P(classNames[1])) or one per class
// (softmax), turned into probabilities here.
//
// JPEGs are decoded as TensorFlow's `DecodeJpeg` decodes them for training and `deno task predict`:
// libjpeg-turbo (WebAssembly, served from jpeg/) with the fast integer IDCT and fancy upsampling. Browsers
// use the accurate IDCT, whose pixels differ by a few levels and move probabilities by up to ~3e-2. Other
// formats (PNG, WebP, …) are decoded by the browser, which gives the same pixels as TensorFlow there.
//
// Backends in order: WebGL, then WASM, then plain JS (CPU); `?backend=wasm` (or webgl, cpu) picks one.
// Each result card carries its probabilities and timings as data attributes, read by tools/browser/web_check.ts.
//
// A classic (deferred) script, not a module: browsers refuse to run a module script of a page opened from
// disk (file://), so the page could not even say that it needs to be served.

/* global tf, ExifReader */
"use strict";

const TOP_K = 5;

/**
 * From stored to upright pixels for each EXIF Orientation: [transpose, reverse the rows, reverse the
 * columns], in this order — lib/data/exif_orientation.ts' ORIENTATION_TRANSFORMS.
 */
const ORIENTATION_TRANSFORMS = {
  1: [false, false, false],
  2: [false, false, true],
  3: [false, true, true],
  4: [false, true, false],
  5: [true, false, false],
  6: [true, false, true],
  7: [true, true, true],
  8: [true, true, false],
};
const BACKENDS = ["webgl", "wasm", "cpu"];
/** How the status line names each backend. */
const BACKEND_WORDS = { webgl: "WebGL", wasm: "WebAssembly", cpu: "plain JavaScript" };

/** TurboJPEG's pixel format RGB and its flag for libjpeg's fast integer IDCT (JDCT_IFAST). */
const TJPF_RGB = 0;
const TJFLAG_FASTDCT = 2048;
/** The compiled libjpeg-turbo module, and its instance (made anew after a failed decode). */
let jpegModule = null;
let jpegInstance = null;

/**
 * What the WebAssembly build of libjpeg-turbo imports. It reports a fatal libjpeg error by `longjmp` back to
 * its `setjmp`: here that throws instead, and the instance is dropped (its stack and heap are then in an
 * unknown state). The system calls are never made when decoding from memory.
 */
function jpegImports() {
  const unused = (name) => () => {
    throw new Error(`libjpeg-turbo called ${name}`);
  };
  return {
    env: {
      setjmp: () => 0,
      longjmp: () => {
        throw new Error("the JPEG data is damaged or of a kind TensorFlow does not decode");
      },
    },
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: () => 0,
      proc_exit: unused("proc_exit"),
      fd_close: unused("fd_close"),
      fd_seek: unused("fd_seek"),
      fd_write: unused("fd_write"),
    },
  };
}

async function loadJpegDecoder() {
  const response = await fetch("jpeg/jpeg-turbo.wasm");
  if (!response.ok) throw new Error(`jpeg/jpeg-turbo.wasm: HTTP ${response.status}`);
  jpegModule = await WebAssembly.compile(await response.arrayBuffer());
}

function isJpeg(bytes) {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * A JPEG's pixels as stored, `{ data: RGB bytes, width, height }`, decoded as TensorFlow does; null when
 * libjpeg-turbo cannot read its header (the browser then decodes it).
 */
function decodeJpeg(bytes) {
  jpegInstance ??= new WebAssembly.Instance(jpegModule, jpegImports());
  const wasm = jpegInstance.exports;
  const handle = wasm.tjInitDecompress();
  const input = wasm.malloc(bytes.length);
  const header = wasm.malloc(16);
  let output = 0;
  try {
    new Uint8Array(wasm.memory.buffer, input, bytes.length).set(bytes);
    const sizes = [header, header + 4, header + 8, header + 12];
    if (wasm.tjDecompressHeader3(handle, input, bytes.length, ...sizes) !== 0) return null;
    const [width, height] = new Int32Array(wasm.memory.buffer, header, 2);
    output = wasm.malloc(width * height * 3);
    if (!output) throw new Error(`its ${width}×${height} pixels do not fit in this page's memory`);
    // A nonzero result without a thrown error is a libjpeg warning: damaged data decoded as far as it goes
    // (TensorFlow accepts some such files and refuses truncated ones), said on the photo's card.
    const damaged = wasm.tjDecompress2(
      handle,
      input,
      bytes.length,
      output,
      width,
      width * 3,
      height,
      TJPF_RGB,
      TJFLAG_FASTDCT,
    ) !== 0;
    const data = new Uint8Array(wasm.memory.buffer, output, width * height * 3).slice();
    return { data, width, height, damaged };
  } catch (e) {
    jpegInstance = null;
    throw e;
  } finally {
    if (jpegInstance) {
      for (const pointer of [input, header, output]) if (pointer) wasm.free(pointer);
      wasm.tjDestroy(handle);
    }
  }
}

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

/** Hides the error box: a photo classified after a failed one shows the page working again. */
function clearError() {
  const box = $("error");
  box.hidden = true;
  box.textContent = "";
  delete document.body.dataset.error;
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
      notes.push("WebGL skipped: this computer draws it without a graphics card, which is slower");
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
  // Not an image the browser can show: a plain placeholder, not a broken-image icon.
  img.onerror = () => {
    URL.revokeObjectURL(img.src);
    img.replaceWith(element("div", "placeholder", "Not an image"));
  };
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

/** The EXIF Orientation of a photo's bytes, 1..8, as `readExifOrientation` reads it (1: none, unreadable). */
function exifOrientation(buffer) {
  try {
    const tags = ExifReader.load(buffer, { includeTags: { exif: ["Orientation"] } });
    const value = tags.Orientation?.value;
    return Number.isInteger(value) && value >= 1 && value <= 8 ? value : 1;
  } catch {
    return 1;
  }
}

/** The upright pixels `image` (`[h, w, 3]`) back as the file stores them under EXIF `orientation`. */
function asStored(image, orientation) {
  const [transpose, rows, columns] = ORIENTATION_TRANSFORMS[orientation];
  const axes = [...(rows ? [0] : []), ...(columns ? [1] : [])];
  const unreversed = axes.length ? tf.reverse(image, axes) : image;
  return transpose ? tf.transpose(unreversed, [1, 0, 2]) : unreversed;
}

/** The stored pixels `image` (`[h, w, 3]`) turned upright under EXIF `orientation`. */
function upright(image, orientation) {
  const [transpose, rows, columns] = ORIENTATION_TRANSFORMS[orientation];
  const turned = transpose ? tf.transpose(image, [1, 0, 2]) : image;
  const axes = [...(rows ? [0] : []), ...(columns ? [1] : [])];
  return axes.length ? tf.reverse(turned, axes) : turned;
}

/**
 * The photo decoded upright, with its pixel values as stored: no colour-profile conversion, no alpha
 * premultiplication (as TensorFlow's decoder).
 */
async function uprightBitmap(file) {
  const options = { colorSpaceConversion: "none", premultiplyAlpha: "none" };
  try {
    return await createImageBitmap(file, { ...options, imageOrientation: "from-image" });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return await createImageBitmap(file, options); // a browser that predates "from-image", its default then
  }
}

/** Says a file is no photo this page can read, in words. */
const NOT_AN_IMAGE = "this file is not an image this browser can read (JPEG, PNG, WebP, GIF or BMP)";

/**
 * The photo's pixels (`[h, w, 3]` int32) oriented as the model was trained (`decoding`), and which decoder
 * read them: libjpeg-turbo for JPEGs (TensorFlow's decoding), the browser for other formats.
 */
async function decodePhoto(file, decoding) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const orientation = exifOrientation(bytes.buffer);
  const jpeg = isJpeg(bytes) ? decodeJpeg(bytes) : null;
  if (jpeg) {
    const pixels = tf.tidy(() => {
      const stored = tf.tensor3d(jpeg.data, [jpeg.height, jpeg.width, 3], "int32");
      return decoding === "exif" ? upright(stored, orientation) : stored;
    });
    return { pixels, orientation, decoder: jpeg.damaged ? "libjpeg-turbo (damaged data)" : "libjpeg-turbo" };
  }
  let bitmap;
  try {
    bitmap = await uprightBitmap(file);
  } catch {
    throw new Error(NOT_AN_IMAGE);
  }
  try {
    const pixels = tf.tidy(() => {
      const shown = tf.browser.fromPixels(bitmap, 3);
      return decoding === "ignore" ? asStored(shown, orientation) : shown;
    });
    return { pixels, orientation, decoder: "browser" };
  } finally {
    bitmap.close();
  }
}

/** Decodes, orients, resizes and classifies one photo; returns its probabilities and timings. */
async function classify(model, meta, file) {
  const t0 = performance.now();
  const decoding = meta.preprocessing?.orientation === "exif" ? "exif" : "ignore";
  const { pixels, orientation, decoder } = await decodePhoto(file, decoding);
  const t1 = performance.now();
  const [height, width] = meta.imageSize;
  try {
    const logits = tf.tidy(() => {
      const x = tf.image.resizeBilinear(pixels.toFloat(), [height, width], false, true).expandDims(0);
      return model.predict(x);
    });
    const values = await logits.data();
    logits.dispose();
    const t2 = performance.now();
    const [h, w] = pixels.shape;
    // The card shows what the model saw: a photo as stored when that is not as the browser shows it.
    const seen = decoding === "ignore" && orientation !== 1 ? document.createElement("canvas") : null;
    if (seen) await tf.browser.toPixels(pixels, seen);
    const timing = { decode: t1 - t0, inference: t2 - t1, width: w, height: h };
    return { probs: probabilities(values, meta.output), timing, orientation, decoding, decoder, seen };
  } finally {
    pixels.dispose();
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
          const { probs, timing, orientation, decoding, decoder, seen } = await classify(model, meta, file);
          clearError();
          item.dataset.orientation = String(orientation);
          item.dataset.decoding = decoding;
          item.dataset.decoder = decoder;
          if (decoder.includes("damaged")) {
            item.querySelector(".name").textContent += " — damaged JPEG: what could be read";
          }
          if (seen) {
            seen.title =
              "As the model sees it: the photo as stored (it was trained without EXIF orientation)";
            item.querySelector("img").replaceWith(seen);
          }
          showPrediction(item, probs, meta.classNames, timing);
          addWhy(item, { model, meta, file, decoding, classIndex: probs.indexOf(Math.max(...probs)) });
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

/** Grad-CAM's parts of the model: `out_relu`'s activation, and the dense head's kernel; null without them. */
let gradCamParts;
function gradCamModel(model) {
  if (gradCamParts !== undefined) return gradCamParts;
  const layer = model.layers.find((l) => l.name === "out_relu");
  const dense = model.layers.filter((l) => l.getClassName() === "Dense").at(-1);
  gradCamParts = layer && dense
    ? { features: tf.model({ inputs: model.inputs, outputs: layer.output }), kernel: dense.getWeights()[0] }
    : null;
  return gradCamParts;
}

/**
 * Grad-CAM of class `classIndex` for one photo, as docs/interpretation.md defines it (the closed form of its
 * step 2: the tutorial's head is pooling, dropout, dense, so α = the dense kernel's column / (h·w), negated
 * for class 0 of a one-logit head); painted over the photo as the model saw it into `canvas`. Returns the
 * `[h, w]` heatmap's values.
 */
async function explain(parts, meta, pixels, classIndex, canvas) {
  const [overlay, heat] = tf.tidy(() => {
    const x = tf.image.resizeBilinear(pixels.toFloat(), meta.imageSize, false, true);
    const a = parts.features.predict(x.expandDims(0)).squeeze([0]);
    const [h, w] = a.shape;
    const column = tf.gather(parts.kernel, [meta.output === "sigmoid" ? 0 : classIndex], 1).reshape([-1]);
    const alpha = tf.mul(column, meta.output === "sigmoid" && classIndex === 0 ? -1 / (h * w) : 1 / (h * w));
    const cam = tf.relu(tf.sum(tf.mul(a, alpha), -1));
    const heat = tf.divNoNan(cam, tf.max(cam));
    const up = tf.image.resizeBilinear(heat.expandDims(-1), meta.imageSize, false, true).clipByValue(0, 1)
      .squeeze([2]);
    const jet = (k) => tf.clipByValue(tf.sub(1.5, tf.abs(tf.sub(tf.mul(up, 4), k))), 0, 1);
    const colour = tf.stack([jet(3), jet(2), jet(1)], -1);
    const painted = tf.add(tf.mul(x.clipByValue(0, 255), 0.55), tf.mul(colour, 0.45 * 255));
    return [tf.clipByValue(tf.round(painted), 0, 255).cast("int32"), heat];
  });
  const values = Array.from(await heat.data());
  heat.dispose();
  await tf.browser.toPixels(overlay, canvas);
  overlay.dispose();
  return values;
}

/** A "Why?" button on a classified photo: shows (and hides again) where the model looked for its class. */
function addWhy(item, { model, meta, file, decoding, classIndex }) {
  const parts = gradCamModel(model);
  if (!parts) return;
  const button = element("button", "why", "Why?");
  button.type = "button";
  button.title = `Grad-CAM: the parts of the photo that speak for “${meta.classNames[classIndex]}”`;
  item.querySelector(".body").append(button);
  let canvas = null;
  button.addEventListener("click", async () => {
    const thumbnail = item.querySelector("img, canvas:not(.why-map)");
    if (canvas) {
      const showing = !canvas.hidden;
      canvas.hidden = showing;
      thumbnail.hidden = !showing;
      button.textContent = showing ? "Why?" : "Hide why";
      return;
    }
    canvas = element("canvas", "why-map");
    canvas.title = `Where the model saw “${meta.classNames[classIndex]}” (red: most)`;
    const { pixels } = await decodePhoto(file, decoding);
    try {
      const heat = await explain(parts, meta, pixels, classIndex, canvas);
      item.dataset.heat = JSON.stringify(heat);
      item.dataset.heatClass = String(classIndex);
    } finally {
      pixels.dispose();
    }
    thumbnail.hidden = true;
    thumbnail.after(canvas);
    button.textContent = "Hide why";
  });
}

/** What to tell the user when the camera does not start (getUserMedia's error names). */
function cameraProblem(e) {
  switch (e?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The camera is not allowed for this page: allow it in the browser's site settings (the " +
        "camera icon in the address bar), then press “Use the camera” again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device. Photos still work: choose or drop them above.";
    case "NotReadableError":
      return "The camera is busy or could not start: close any other program using it and try again.";
    default:
      return `The camera could not start: ${e?.message ?? e}`;
  }
}

/** One camera frame resized as a photo is (no EXIF: a frame is upright), classified. */
async function classifyFrame(model, meta, video) {
  const logits = tf.tidy(() => {
    const frame = tf.browser.fromPixels(video, 3).toFloat();
    return model.predict(tf.image.resizeBilinear(frame, meta.imageSize, false, true).expandDims(0));
  });
  const values = await logits.data();
  logits.dispose();
  return probabilities(values, meta.output);
}

/** One bar per class, in the model's class order (fixed: the bars do not jump around while live). */
function liveBars(classNames) {
  const box = $("live-bars");
  return classNames.map((name) => {
    const fill = element("span");
    const bar = element("div", "bar");
    bar.append(fill);
    const pct = element("span", "pct", "–");
    const row = element("div", "row");
    row.append(element("span", "label", name), bar, pct);
    box.append(row);
    return { row, fill, pct };
  });
}

/** The live bars show one frame's probabilities; its top class is marked, and kept for checks. */
function showLive(cam, probs) {
  const best = probs.indexOf(Math.max(...probs));
  probs.forEach((p, i) => {
    cam.rows[i].fill.style.width = `${(100 * p).toFixed(1)}%`;
    cam.rows[i].pct.textContent = `${(100 * p).toFixed(1)}%`;
    cam.rows[i].row.classList.toggle("best", i === best);
  });
  cam.live.dataset.probabilities = JSON.stringify(probs);
  cam.live.dataset.top = cam.meta.classNames[best];
}

/** Classifies frames one at a time while run `id` lasts; shows frames per second over the last second. */
async function liveLoop(cam, id) {
  const times = [];
  while (id === cam.run) {
    if (cam.video.readyState >= 2 && cam.video.videoWidth) {
      const probs = await classifyFrame(cam.model, cam.meta, cam.video);
      if (id !== cam.run) break;
      showLive(cam, probs);
      const now = performance.now();
      times.push(now);
      while (times[0] < now - 1000) times.shift();
      const backend = BACKEND_WORDS[tf.getBackend()] ?? tf.getBackend();
      cam.fps.textContent = `${times.length} frames per second, classified in this browser (${backend})`;
      cam.live.dataset.fps = String(times.length);
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

/** Releases the camera (its light goes off) and says `why`. */
function stopCamera(cam, why = "") {
  cam.run++;
  cam.stream?.getTracks().forEach((track) => track.stop());
  cam.stream = null;
  cam.video.srcObject = null;
  cam.live.hidden = true;
  cam.button.textContent = "Use the camera";
  cam.message.textContent = why;
  document.body.dataset.camera = "off";
}

async function startCamera(cam) {
  if (!navigator.mediaDevices?.getUserMedia) {
    cam.message.textContent =
      "This browser gives this page no camera (a camera needs https:// or localhost).";
    document.body.dataset.camera = "failed";
    return;
  }
  cam.message.textContent = "Starting the camera…";
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (e) {
    cam.message.textContent = cameraProblem(e);
    document.body.dataset.camera = "failed";
    return;
  }
  cam.video.srcObject = cam.stream;
  await cam.video.play();
  cam.live.hidden = false;
  cam.button.textContent = "Stop the camera";
  cam.message.textContent = "";
  document.body.dataset.camera = "on";
  liveLoop(cam, ++cam.run);
}

/**
 * The camera button: live classification of the camera's frames, one frame at a time as fast as the
 * backend allows, with fixed-order bars and the frame rate. The camera is released when stopped or when
 * the tab is hidden (no camera light left on in a background tab).
 */
function setUpCamera(model, meta) {
  const [button, live, video, fps, message] = ["camera", "live", "video", "fps", "camera-message"].map($);
  const cam = { model, meta, button, live, video, fps, message, rows: liveBars(meta.classNames) };
  cam.stream = null;
  cam.run = 0;
  button.addEventListener("click", () => cam.stream ? stopCamera(cam) : startCamera(cam));
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && cam.stream) {
      stopCamera(
        cam,
        "The camera was turned off while this tab was hidden: press “Use the camera” to start it again.",
      );
    }
  });
  button.disabled = false;
}

/** The status line in plain words, and the model's classes, accuracy and date below it. */
function showStatus(meta, backend) {
  const words = BACKEND_WORDS[backend.name] ?? backend.name;
  status.textContent = `Running in this browser (${words})` +
    (backend.notes.length ? ` — ${backend.notes.join("; ")}` : "");
  status.title = `TensorFlow.js ${tf.version.tfjs}, backend ${backend.name}`;
  const [h, w] = meta.imageSize;
  const accuracy = meta.metrics?.final?.val_accuracy;
  const facts = [
    `Model “${meta.name}”: ${meta.classNames.length} classes (${meta.classNames.join(", ")})`,
    typeof accuracy === "number" ? `validation accuracy ${(100 * accuracy).toFixed(1)}%` : null,
    meta.created ? `trained ${meta.created.slice(0, 10)}` : null,
    `${h}×${w} pixels in`,
    meta.modelBytes
      ? `${(meta.modelBytes / 1e6).toFixed(1)} MB` +
        (meta.weights && meta.weights !== "float32" ? ` (${meta.weights} weights)` : "")
      : null,
  ];
  const about = $("model");
  about.textContent = facts.filter(Boolean).join(" · ");
  about.hidden = false;
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
  if (typeof ExifReader === "undefined") {
    throw new Error("exifreader/exif-reader.js did not load: serve the page's whole folder");
  }
  const backend = await pickBackend(forced ? [forced] : BACKENDS, !forced);
  status.textContent = `Loading the model (${BACKEND_WORDS[backend.name] ?? backend.name})…`;
  await loadJpegDecoder();
  const meta = await fetchJson("model/metadata.json");
  const model = await tf.loadLayersModel("model/model.json");
  // Warm-up: the first call compiles shaders / allocates; the timings shown are for later calls.
  tf.tidy(() => model.predict(tf.zeros([1, ...meta.imageSize, 3])));
  await tf.nextFrame();
  showStatus(meta, backend);
  document.body.dataset.backend = backend.name;
  document.body.dataset.tensors = String(tf.memory().numTensors);
  document.body.dataset.ready = "true";

  setUpCamera(model, meta);
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
