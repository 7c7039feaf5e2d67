/**
 * The page's live camera checked in headless Chromium with a fake camera fed from a video made here: two
 * validation photos of two classes that tfjs-node tells apart confidently, each shown for 3 s, written as a
 * Y4M file (the format Chromium's `--use-file-for-fake-video-capture` plays, looped). Pressing “Use the
 * camera” must start live classification whose top class follows the photo shown (both classes seen, in
 * turns), with the bars in the model's class order and a frame rate shown; hiding the tab must release the
 * camera (its tracks ended). Without permission, and with no camera, the page must say so in words.
 * Screenshots go to `out/web/page-camera-*.png`.
 *
 * Usage: deno run -A tools/browser/webcam_check.ts [--model DIR] [--seconds N]
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import type { Page } from "playwright-core";
import { BlobWriter, Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import { allowOnly, CHROMIUM, chromiumFlags, requireChromium } from "./chromium.ts";
import { PROJECT_ROOT, resolveMirror, tf } from "../../lib/runtime/mod.ts";
import type { LayersModel, Tensor, Tensor3D } from "../../lib/runtime/mod.ts";
import { buildSite, latestModelDir, loadClassifier, serveSite } from "../../lib/tasks/mod.ts";

const OUT = path.join(PROJECT_ROOT, "out", "web");
const SHARED = resolveMirror() ?? path.resolve(PROJECT_ROOT, "..", "shared");
const ZIPS = ["flower_photos_small.zip", "cats_and_dogs_filtered.zip"].map((z) =>
  path.join(SHARED, "data", z)
);
const [WIDTH, HEIGHT, FPS, SECONDS_EACH] = [320, 240, 10, 3];

/** A frame: the photo squashed to the video's size (RGB 0..255), and the class tfjs-node gives it. */
interface Frame {
  rgb: Uint8Array;
  top: string;
  file: string;
}

/** RGB → Y4M's 4:2:0 planes (BT.601, studio range: what Chromium's fake camera assumes) and back. */
function toI420(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(WIDTH * HEIGHT * 3 / 2);
  const cw = WIDTH / 2;
  const [uAt, vAt] = [WIDTH * HEIGHT, WIDTH * HEIGHT + cw * (HEIGHT / 2)];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = 3 * (y * WIDTH + x);
      const [r, g, b] = [rgb[i] / 255, rgb[i + 1] / 255, rgb[i + 2] / 255];
      out[y * WIDTH + x] = Math.round(16 + 65.481 * r + 128.553 * g + 24.966 * b);
      if (y % 2 || x % 2) continue;
      const c = (y / 2) * cw + x / 2;
      out[uAt + c] = Math.round(128 - 37.797 * r - 74.203 * g + 112 * b);
      out[vAt + c] = Math.round(128 + 112 * r - 93.786 * g - 18.214 * b);
    }
  }
  return out;
}

/** The Y4M video: each frame shown for SECONDS_EACH seconds, in turn. */
function y4m(frames: Frame[]): Uint8Array {
  const header = new TextEncoder().encode(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F${FPS}:1 Ip A1:1 C420jpeg\n`);
  const tag = new TextEncoder().encode("FRAME\n");
  const planes = frames.map((f) => toI420(f.rgb));
  const n = FPS * SECONDS_EACH;
  const out = new Uint8Array(header.length + frames.length * n * (tag.length + planes[0].length));
  out.set(header);
  let at = header.length;
  for (const p of planes) {
    for (let k = 0; k < n; k++) {
      out.set(tag, at);
      out.set(p, at + tag.length);
      at += tag.length + p.length;
    }
  }
  return out;
}

/** For each class, its validation photo tfjs-node is surest of, with that probability. */
async function surestPhotos(
  model: LayersModel,
  classNames: string[],
  size: [number, number],
  output: string,
) {
  const best = new Map<string, { p: number; rgb: Uint8Array; file: string }>();
  for (const zip of ZIPS.filter((z) => fs.existsSync(z))) {
    const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(zip)));
    for (const e of await reader.getEntries()) {
      const m = e.filename.match(/(?:^|\/)validation\/([^/]+)\/([^/]+\.jpe?g)$/i);
      if (e.directory || !m || !classNames.includes(m[1])) continue;
      const bytes = new Uint8Array(await (await e.getData!(new BlobWriter())).arrayBuffer());
      const rgb = tf.tidy(() => {
        const image = tf.node.decodeImage(bytes, 3) as Tensor3D;
        return tf.image.resizeBilinear(image.toFloat(), [HEIGHT, WIDTH], false, true).round().clipByValue(
          0,
          255,
        )
          .cast("int32").dataSync();
      });
      const p = classify(model, new Uint8Array(rgb), size, output)[classNames.indexOf(m[1])];
      if (p > (best.get(m[1])?.p ?? -1)) best.set(m[1], { p, rgb: new Uint8Array(rgb), file: m[2] });
    }
    await reader.close();
    if (best.size) break;
  }
  return [...best.entries()].sort((a, b) => b[1].p - a[1].p);
}

/** tfjs-node's probabilities for one video frame, resized as the page resizes a camera frame. */
function classify(model: LayersModel, rgb: Uint8Array, size: [number, number], output: string): number[] {
  const z = tf.tidy(() => {
    const frame = tf.tensor3d(rgb, [HEIGHT, WIDTH, 3], "int32").toFloat();
    return (model.predict(tf.image.resizeBilinear(frame, size, false, true).expandDims(0)) as Tensor)
      .dataSync();
  });
  if (output === "sigmoid") return [1 - 1 / (1 + Math.exp(-z[0])), 1 / (1 + Math.exp(-z[0]))];
  const e = Array.from(z, (v) => Math.exp(v - Math.max(...z)));
  return e.map((v) => v / e.reduce((a, b) => a + b, 0));
}

/** Two frames of two classes, each classified by tfjs-node as its class after the Y4M round trip. */
async function twoClassFrames(modelDir: string): Promise<Frame[]> {
  const { model, metadata } = await loadClassifier(modelDir);
  try {
    const ranked = await surestPhotos(model, metadata.classNames, metadata.imageSize, metadata.output);
    if (ranked.length < 2) {
      throw new Error(`no validation photos of two of ${metadata.classNames} in ${SHARED}`);
    }
    return ranked.slice(0, 2).map(([label, { rgb, file }]) => {
      const probs = classify(model, rgb, metadata.imageSize, metadata.output);
      const top = metadata.classNames[probs.indexOf(Math.max(...probs))];
      if (top !== label) throw new Error(`tfjs-node calls ${file} (${label}) ${top}: pick another model`);
      return { rgb, top, file };
    });
  } finally {
    model.dispose();
  }
}

/** Samples the live top class every 100 ms for `seconds`. */
async function sampleTops(page: Page, seconds: number): Promise<string[]> {
  const tops: string[] = [];
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    tops.push(await page.locator("#live").getAttribute("data-top") ?? "");
    await page.waitForTimeout(100);
  }
  return tops;
}

/** Runs of equal values: ["a","a","b"] → ["a","b"]. */
const runs = (v: string[]) => v.filter((x, i) => i === 0 || x !== v[i - 1]);

async function openPage(
  url: string,
  args: string[],
  grant: boolean,
): Promise<{ page: Page; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...chromiumFlags(), ...args],
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  if (grant) await context.grantPermissions(["camera"], { origin: new URL(url).origin });
  const origin = new URL(url).origin;
  await allowOnly(context, [origin]);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  return { page, close: () => browser.close() };
}

/** Presses the camera button and waits for the page to say on or failed. */
async function pressCamera(page: Page): Promise<string> {
  await page.locator("#camera").click();
  await page.waitForSelector('body[data-camera="on"], body[data-camera="failed"]', { timeout: 60_000 });
  return await page.locator("body").getAttribute("data-camera") ?? "";
}

async function liveRun(url: string, video: string, frames: Frame[], seconds: number, classNames: string[]) {
  const failures: string[] = [];
  const fake = ["--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`];
  const { page, close } = await openPage(url, fake, true);
  try {
    if (await pressCamera(page) !== "on") {
      return [`camera did not start: ${await page.locator("#camera-message").innerText()}`];
    }
    await page.waitForSelector("#live[data-top]", { timeout: 60_000 });
    const tops = await sampleTops(page, seconds);
    await page.screenshot({ path: path.join(OUT, "page-camera-on.png") });
    const labels = await page.locator("#live-bars .label").allInnerTexts();
    if (JSON.stringify(labels) !== JSON.stringify(classNames)) {
      failures.push(`bars ${labels}, not ${classNames}`);
    }
    const fps = Number(await page.locator("#live").getAttribute("data-fps"));
    const expected = frames.map((f) => f.top);
    const onVideo = tops.filter((t) => expected.includes(t)).length / tops.length;
    const turns = runs(tops.filter((t) => expected.includes(t)));
    console.log(
      `camera: ${tops.length} samples, ${(100 * onVideo).toFixed(0)}% showing ${expected.join(" or ")}; ` +
        `top class in turn: ${turns.join(" → ")}; ${fps} frames per second`,
    );
    if (onVideo < 0.8) {
      failures.push(`only ${(100 * onVideo).toFixed(0)}% of samples show the video's classes`);
    }
    if (turns.length < 3) failures.push(`the bars did not follow the video: ${turns.join(" → ")}`);
    if (!(fps > 0)) failures.push("no frame rate shown");
    await page.evaluate(() => {
      const g = globalThis as any;
      g.cameraTracks = g.document.getElementById("video").srcObject.getTracks();
      Object.defineProperty(g.document, "hidden", { value: true, configurable: true });
      Object.defineProperty(g.document, "visibilityState", { value: "hidden", configurable: true });
      g.document.dispatchEvent(new Event("visibilitychange"));
    });
    const ended = await page.evaluate(() =>
      (globalThis as any).cameraTracks.every((t: any) => t.readyState === "ended")
    );
    if (!ended) failures.push("hiding the tab left the camera on");
    await page.screenshot({ path: path.join(OUT, "page-camera-hidden.png") });
    return failures;
  } finally {
    await close();
  }
}

/** Without permission, and with no camera: the page must say which, in words. */
async function refusedRuns(url: string): Promise<string[]> {
  const failures: string[] = [];
  const cases = [
    {
      name: "denied",
      args: ["--use-fake-device-for-media-stream", "--deny-permission-prompts"],
      grant: false,
      expect: /not allowed/,
    },
    { name: "none", args: [], grant: true, expect: /No camera was found/ },
  ];
  for (const c of cases) {
    const { page, close } = await openPage(url, c.args, c.grant);
    try {
      const state = await pressCamera(page);
      const said = await page.locator("#camera-message").innerText();
      console.log(`camera ${c.name}: the page says "${said}"`);
      if (state !== "failed" || !c.expect.test(said)) failures.push(`camera ${c.name}: "${said}" (${state})`);
      await page.screenshot({ path: path.join(OUT, `page-camera-${c.name}.png`) });
    } finally {
      await close();
    }
  }
  return failures;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      seconds: { type: "string", default: "15" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: deno run -A tools/browser/webcam_check.ts [--model DIR] [--seconds N]");
    return 0;
  }
  const seconds = Number(values.seconds);
  if (!(seconds >= 4 * SECONDS_EACH)) {
    console.error(`webcam check: --seconds must be at least ${4 * SECONDS_EACH} (two turns of the video)`);
    return 2;
  }
  requireChromium();
  const modelDir = values.model ?? latestModelDir();
  const frames = await twoClassFrames(modelDir);
  console.log(
    `camera video: ${
      frames.map((f) => `${f.file} (${f.top})`).join(", then ")
    }, ${SECONDS_EACH} s each, looped`,
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-webcam-check-"));
  const video = path.join(tmp, "camera.y4m");
  fs.writeFileSync(video, y4m(frames));
  fs.mkdirSync(OUT, { recursive: true });
  const controller = new AbortController();
  let url = "";
  const site = await buildSite(modelDir);
  const server = serveSite(site, { port: 0, signal: controller.signal, onListen: (u) => url = u });
  try {
    const failures = [
      ...await liveRun(url, video, frames, seconds, site.metadata.classNames),
      ...await refusedRuns(url),
    ];
    console.log(`webcam check ${failures.length ? "FAILED" : "ok"}: screenshots out/web/page-camera-*.png`);
    if (failures.length) console.error(failures.join("\n"));
    return failures.length ? 1 : 0;
  } finally {
    controller.abort();
    await server.finished;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`webcam check: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
