import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { getFile } from "../../lib/io/get_file.ts";
import {
  AUTOTUNE,
  type CacheMode,
  type ImageBatch,
  type ImageDataset,
  imageDatasetFromDirectory,
  type ImageDatasetOptions,
  sampleImages,
  splitValidationTest,
} from "../../lib/data/mod.ts";
import { aspectCropBox, loadImage } from "../../lib/data/mod.ts";
import { interruptRequested, KeyboardInterrupt, requestInterrupt } from "../../lib/runtime/interrupt.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
} from "../_assert.ts";
import { haveShared, SHARED_ZIP } from "../_shared.ts";

const FIXTURES = path.join(PROJECT_ROOT, "tests", "fixtures");

// Loaded untyped: sharp's declarations pull in @types/node, whose node:assert overloads reject the optional
// messages of tests/_assert.ts under `deno check`.
const { default: sharp } = await import("sharp" as string);

/** Solid colours, one per class: the label of an element can be checked against its pixels. */
const COLORS: Record<string, [number, number, number]> = {
  birds: [30, 30, 220],
  cats: [220, 30, 30],
  dogs: [30, 220, 30],
};

/** A 24-bit BMP of one colour (sharp cannot write BMP). */
function solidBmp(width: number, height: number, [r, g, b]: number[]): Uint8Array {
  const row = Math.ceil((width * 3) / 4) * 4;
  const bytes = new Uint8Array(54 + row * height);
  const view = new DataView(bytes.buffer);
  bytes.set([0x42, 0x4d]);
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) bytes.set([b, g, r], 54 + y * row + x * 3);
  }
  return bytes;
}

async function writeImage(file: string, color: [number, number, number], width = 12, height = 9) {
  await Deno.mkdir(path.dirname(file), { recursive: true });
  const ext = path.extname(file).toLowerCase();
  if (ext === ".bmp") return await Deno.writeFile(file, solidBmp(width, height, color));
  const [r, g, b] = color;
  const image = sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
  const encoded = ext === ".png" ? image.png() : ext === ".gif" ? image.gif() : image.jpeg({ quality: 95 });
  await encoded.toFile(file);
}

/** `perClass` images per class folder, formats cycling through JPEG/PNG/GIF/BMP. */
async function makeTree(root: string, perClass: Record<string, number>) {
  const exts = [".jpg", ".png", ".gif", ".bmp", ".JPEG"];
  for (const [cls, n] of Object.entries(perClass)) {
    for (let i = 0; i < n; i++) {
      const sub = i % 3 === 2 ? "nested" : "";
      await writeImage(
        path.join(root, cls, sub, `img${String(i).padStart(2, "0")}${exts[i % exts.length]}`),
        COLORS[cls],
      );
    }
  }
}

async function withTree(perClass: Record<string, number>, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "data_test_" });
  try {
    await makeTree(dir, perClass);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const quiet = (o: ImageDatasetOptions = {}): ImageDatasetOptions => ({
  verbose: false,
  imageSize: [6, 8],
  ...o,
});

/** Class of each image from its colour: the channel that dominates the top-left pixel. */
function colorClasses(xs: Tensor, classNames: string[]): number[] {
  const data = xs.arraySync() as number[][][][];
  return data.map((image) => {
    const px = image[0][0];
    const name = Object.entries(COLORS).find(([, c]) => c.every((v, k) => Math.abs(v - px[k]) < 40))?.[0];
    return classNames.indexOf(name ?? "?");
  });
}

/** One epoch: for each element, its labels (int mode) and colour classes; disposes everything. */
async function epoch(ds: ImageDataset): Promise<{ labels: number[][]; colors: number[][]; sizes: number[] }> {
  const out = { labels: [] as number[][], colors: [] as number[][], sizes: [] as number[] };
  await ds.forEachAsync((b: ImageBatch) => {
    out.sizes.push(b.xs.shape[0]);
    out.colors.push(colorClasses(b.xs, ds.classNames));
    out.labels.push(Array.from(b.ys!.dataSync()));
    tf.dispose([b.xs, b.ys!]);
  });
  return out;
}

async function captureLog(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.join("\n");
}

/** Cache settings under test: every mode, and a budget that holds only some of the fixture's images. */
const CACHE_MODES: ImageDatasetOptions[] = [
  {},
  { cache: "float32" },
  { cache: false },
  { cache: "auto", cacheBudgetMB: 0.0012 },
  { cache: "auto", cacheBudgetMB: 0 },
];

/** One image of the Keras fixture (`tools/keras/make_decode_fixture.py`). */
interface KerasImage {
  file: string;
  shape: number[];
  label: number;
  pixels: number[];
}

/**
 * One epoch of `ds` against Keras' `expected` images, in order: shapes, labels and every value equal.
 * Returns the largest difference and how many values were compared.
 */
async function compareEpoch(
  ds: ImageDataset,
  expected: KerasImage[],
  where: string,
): Promise<{ worst: number; compared: number }> {
  const batched = ds.batchSize !== null;
  const elements = await ds.toArray();
  assertEquals(elements.length, batched ? Math.ceil(expected.length / ds.batchSize!) : expected.length);
  let worst = 0;
  let compared = 0;
  let k = 0;
  for (const { xs, ys } of elements) {
    assertEquals(xs.dtype, "float32");
    const images = batched ? tf.unstack(xs) : [xs];
    const labels = ys!.dataSync();
    images.forEach((image, j) => {
      const want = expected[k++];
      assertEquals(image.shape, want.shape, `${want.file} ${where}`);
      assertEquals(labels[j], want.label);
      const got = image.dataSync();
      for (let i = 0; i < got.length; i++) {
        const diff = Math.abs(got[i] - want.pixels[i]);
        worst = Math.max(worst, diff);
        assert(diff === 0, `${want.file} ${where} value ${i}: ${got[i]} vs ${want.pixels[i]}`);
      }
      compared += got.length;
    });
    if (batched) tf.dispose(images);
    tf.dispose([xs, ys!]);
  }
  assertEquals(k, expected.length);
  return { worst, compared };
}

Deno.test("pixels, file order and labels match Python Keras' image_dataset_from_directory (max diff 0, every cache mode, batched or not, two epochs)", async () => {
  const fixture = JSON.parse(await Deno.readTextFile(path.join(FIXTURES, "decode_keras.json")));
  const dir = path.join(FIXTURES, "decode");
  let worst = 0;
  let compared = 0;
  const before = tf.memory().numTensors;
  for (const mode of CACHE_MODES) {
    for (const batchSize of [null, 4]) {
      for (const run of fixture.runs) {
        const ds: ImageDataset = await imageDatasetFromDirectory(dir, {
          ...(run.options as ImageDatasetOptions),
          ...mode,
          shuffle: false,
          batchSize,
          labelMode: "int",
          verbose: false,
        });
        assertEquals(ds.classNames, run.classNames);
        assertEquals(
          ds.filePaths.map((f) => path.relative(dir, f).replaceAll(path.sep, "/")),
          run.images.map((i: KerasImage) => i.file),
        );
        const counts: number[] = [];
        for (let e = 0; e < 2; e++) {
          const where = `${JSON.stringify(run.options)} ${
            JSON.stringify(mode)
          } batchSize ${batchSize} epoch ${e}`;
          const epoch = await compareEpoch(ds, run.images, where);
          worst = Math.max(worst, epoch.worst);
          compared += epoch.compared;
          counts.push(tf.memory().numTensors);
        }
        assertEquals(counts[1], counts[0], "the second epoch, from the cache, adds no tensor");
        ds.dispose();
      }
    }
  }
  assertEquals(tf.memory().numTensors, before);
  assert(compared > 1000, `compared ${compared} values`);
  console.log(`max abs diff vs Keras over ${compared} values: ${worst}`);
});

Deno.test("formats TensorFlow cannot convert are errors naming the file, as in Keras", async () => {
  // TensorFlow's DecodeImage refuses 1 channel for GIF: Keras fails on it too.
  const ds = await imageDatasetFromDirectory(
    path.join(FIXTURES, "decode"),
    quiet({
      colorMode: "grayscale",
      classNames: ["cats"],
      shuffle: false,
    }),
  );
  await assertRejects(() => ds.toArray(), Error, path.join("cats", "anim.gif"));
});

Deno.test("aspectCropBox follows Keras' smart_resize", () => {
  assertEquals(aspectCropBox(375, 500, [160, 160]), [0, 62, 375, 375]);
  assertEquals(aspectCropBox(100, 50, [10, 20]), [37, 0, 25, 50]);
  assertEquals(aspectCropBox(1, 1, [5, 7]), [0, 0, 1, 1]);
});

Deno.test("loadImage names the file it cannot decode", () => {
  let message = "";
  try {
    loadImage(new TextEncoder().encode("not an image"), { imageSize: [4, 4] }, "some/file.jpg");
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /Cannot decode image some\/file\.jpg: Unknown image file format/);
});

Deno.test("classes from sorted sub-folders, recursive search, Keras extensions only", async () => {
  await withTree({ dogs: 4, cats: 3 }, async (dir) => {
    await Deno.writeTextFile(path.join(dir, "cats", "readme.txt"), "ignored");
    await Deno.writeTextFile(path.join(dir, "cats", "photo.webp"), "ignored too");
    await Deno.mkdir(path.join(dir, ".hidden"));
    await writeImage(path.join(dir, ".hidden", "x.jpg"), COLORS.cats);
    await Deno.writeTextFile(path.join(dir, "stray.jpg"), "a file at the top is not a class");

    let ds!: ImageDataset;
    const log = await captureLog(async () => {
      ds = await imageDatasetFromDirectory(dir, { imageSize: [6, 8], shuffle: false, batchSize: 4 });
    });
    assertMatch(log, /^Found 7 files belonging to 2 classes\./);
    // The cache in plain words: 7 images of 6×8×3 float32 values are 4032 bytes.
    assertMatch(log, /^Keeping all 7 decoded images in memory \(4 kB\)\.$/m);
    assert(!/budget|cache:/.test(log), `the details are for verbose: "details" only: ${log}`);
    assertEquals(ds.classNames, ["cats", "dogs"]);
    assertEquals(ds.filePaths.map((f) => path.relative(dir, f)), [
      "cats/img00.jpg",
      "cats/img01.png",
      "cats/nested/img02.gif",
      "dogs/img00.jpg",
      "dogs/img01.png",
      "dogs/img03.bmp",
      "dogs/nested/img02.gif",
    ]);
    const { labels, colors, sizes } = await epoch(ds);
    assertEquals(sizes, [4, 3]);
    assertEquals(labels.flat(), [0, 0, 0, 1, 1, 1, 1]);
    assertEquals(colors.flat(), labels.flat());

    const given = await imageDatasetFromDirectory(
      dir,
      quiet({ classNames: ["dogs", "cats"], shuffle: false }),
    );
    assertEquals(given.classNames, ["dogs", "cats"]);
    assertEquals((await epoch(given)).labels.flat(), [0, 0, 0, 0, 1, 1, 1]);
  });
});

Deno.test('the cache line: what does not fit is said plainly; verbose: "details" adds the budget', async () => {
  await withTree({ cats: 4, dogs: 3 }, async (dir) => {
    // 576 bytes per 6×8×3 image: a budget of 2000 bytes holds 3 of the 7.
    const options = { imageSize: [6, 8] as [number, number], shuffle: false, cacheBudgetMB: 0.002 };
    const plain = await captureLog(() => imageDatasetFromDirectory(dir, options));
    assertMatch(
      plain,
      /^Keeping 3 of 7 decoded images in memory \(2 kB\); the others are decoded again every epoch \(set TL_CACHE_MB to give the cache more memory\)\.$/m,
    );
    assert(!/cache:/.test(plain), plain);
    const detailed = await captureLog(() =>
      imageDatasetFromDirectory(dir, { ...options, verbose: "details" })
    );
    assertMatch(
      detailed,
      /^Keeping 3 of 7 [^\n]*\n {2}cache: "auto", 0\.0 MB for 7 images of 6×8×3; memory budget 0\.0 MB \(cacheBudgetMB\), 0\.0 MB of it left for this dataset$/m,
    );
    const none = await captureLog(() => imageDatasetFromDirectory(dir, { ...options, cacheBudgetMB: 0 }));
    assertMatch(
      none,
      /^Decoding the 7 images again every epoch: keeping them would take 4 kB, more than the cache's memory/m,
    );
    const silent = await captureLog(() => imageDatasetFromDirectory(dir, { ...options, verbose: false }));
    assertEquals(silent, "");
  });
});
Deno.test("label modes: int32 [b], binary float32 [b,1], categorical one-hot [b,K], none", async () => {
  await withTree({ birds: 2, cats: 3, dogs: 2 }, async (dir) => {
    const first = async (o: ImageDatasetOptions) => {
      const ds = await imageDatasetFromDirectory(dir, quiet({ shuffle: false, batchSize: 5, ...o }));
      const [b] = await ds.take(1).toArray();
      const out = { xs: b.xs.shape, ys: b.ys?.shape, dtype: b.ys?.dtype, values: b.ys?.arraySync() };
      tf.dispose([b.xs, b.ys!]);
      return out;
    };
    assertEquals(await first({}), { xs: [5, 6, 8, 3], ys: [5], dtype: "int32", values: [0, 0, 1, 1, 1] });
    assertEquals(await first({ labelMode: "categorical" }), {
      xs: [5, 6, 8, 3],
      ys: [5, 3],
      dtype: "float32",
      values: [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]],
    });
    assertEquals(await first({ labelMode: "binary", classNames: ["dogs", "cats"] }), {
      xs: [5, 6, 8, 3],
      ys: [5, 1],
      dtype: "float32",
      values: [[0], [0], [1], [1], [1]],
    });
    assertEquals((await first({ labelMode: null })).ys, undefined);
    await assertRejects(() => first({ labelMode: "binary" }), Error, "exactly 2 classes");
  });
});

Deno.test("batching, the last partial batch, take/skip/prefetch keep classNames and cardinality", async () => {
  await withTree({ cats: 5, dogs: 5 }, async (dir) => {
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 4, seed: 7 }));
    assertEquals(ds.cardinality(), 3);
    assertEquals(ds.size, 3);
    const all = await epoch(ds);
    assertEquals(all.sizes, [4, 4, 2]);
    assertEquals(all.colors, all.labels);

    const head = ds.take(2);
    const tail = ds.skip(2);
    assertEquals([
      head.cardinality(),
      tail.cardinality(),
      ds.take(10).cardinality(),
      ds.skip(-1).cardinality(),
    ], [
      2,
      1,
      3,
      0,
    ]);
    assertEquals(ds.take(-1).cardinality(), 3);
    const fetched = ds.prefetch(AUTOTUNE).take(2);
    assertEquals([fetched.cardinality(), fetched.classNames], [2, ["cats", "dogs"]]);
    assertEquals((await epoch(head)).sizes, [4, 4]);
    assertEquals((await epoch(tail)).sizes, [2]);
    // In the same epoch, take and skip cover every file exactly once.
    const files = [...head.elementIndices(3).flat(), ...tail.elementIndices(3).flat()].sort((a, b) => a - b);
    assertEquals(files, [...Array(10).keys()]);

    const single = await imageDatasetFromDirectory(dir, quiet({ batchSize: null, shuffle: false }));
    assertEquals(single.cardinality(), 10);
    const [one] = await single.take(1).toArray();
    assertEquals([one.xs.shape, one.ys!.shape], [[6, 8, 3], []]);
    tf.dispose([one.xs, one.ys!]);
  });
});

Deno.test("seeded shuffling: reproducible, reshuffled every epoch, independent of the cache", async () => {
  await withTree({ cats: 6, dogs: 6 }, async (dir) => {
    const make = (o: ImageDatasetOptions) => imageDatasetFromDirectory(dir, quiet({ batchSize: 5, ...o }));
    const a = await make({ seed: 42 });
    const b = await make({ seed: 42, cache: false });
    const other = await make({ seed: 43 });
    const unshuffled = await make({ shuffle: false });

    assertEquals(a.filePaths, b.filePaths);
    assertNotEquals(a.filePaths, other.filePaths);
    assertEquals(unshuffled.filePaths, [...unshuffled.filePaths].sort());
    const epochsA = [await epoch(a), await epoch(a), await epoch(a)];
    const epochsB = [await epoch(b), await epoch(b), await epoch(b)];
    assertEquals(epochsA, epochsB);
    assertNotEquals(epochsA[0].labels, epochsA[1].labels);
    assertNotEquals(epochsA[0].labels, (await epoch(other)).labels);
    assertEquals((await epoch(unshuffled)).labels, (await epoch(unshuffled)).labels);
    for (const e of epochsA) assertEquals(e.colors, e.labels);
    assertEquals(a.cacheInfo().images, 12);
    assertEquals(b.cacheInfo(), { mode: false, images: 0, bytes: 0, budgetBytes: 0, limitBytes: 0 });
  });
});

Deno.test("cache modes: float32 keeps Keras' exact values, uint8 rounds them, false decodes each epoch", async () => {
  const dir = path.join(FIXTURES, "decode");
  const pixels = async (ds: ImageDataset) => {
    const arrays = await ds.toArray();
    const values = arrays.flatMap((x) => Array.from(x.xs.dataSync()));
    arrays.forEach((x) => tf.dispose([x.xs, x.ys!]));
    return values;
  };
  const make = (cache: CacheMode) => imageDatasetFromDirectory(dir, quiet({ seed: 4, batchSize: 3, cache }));
  const [exact, small, none] = [await make("float32"), await make("uint8"), await make(false)];
  const first = await pixels(exact);
  assert(first.some((v) => v !== Math.round(v)), "resized values are not all whole numbers");
  assertEquals(exact.cacheInfo(), {
    mode: "float32",
    images: 10,
    bytes: 10 * 6 * 8 * 3 * 4,
    budgetBytes: 1440 * 4,
    limitBytes: null,
  });
  const again = await pixels(exact);
  const uncached = await pixels(none);
  await pixels(small);
  const rounded = await pixels(small);
  assertEquals(small.cacheInfo().bytes, 1440);
  // Each dataset is at its second epoch here except `none` (first): compare like with like.
  assertEquals(await pixels(none), again);
  assertEquals(uncached, first);
  assert(rounded.every((v, i) => Math.abs(v - again[i]) <= 0.5 && v === Math.round(v)));
  exact.clearCache();
  assertEquals(exact.cacheInfo().images, 0);
});

Deno.test("splitValidationTest: fixed disjoint parts every epoch, shuffled inside; take/skip are not", async () => {
  await withTree({ cats: 10, dogs: 10 }, async (dir) => {
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 2, seed: 3 }));
    assertEquals(ds.cardinality(), 10);
    const { validation, test } = splitValidationTest(ds);
    assertEquals([validation.cardinality(), test.cardinality()], [8, 2]);
    assertEquals([validation.classNames, test.classNames], [["cats", "dogs"], ["cats", "dogs"]]);
    const set = (d: ImageDataset, e: number) => d.elementIndices(e).flat().sort((x, y) => x - y);
    const orders = [0, 1, 2, 3].map((e) => validation.elementIndices(e).flat());
    for (let e = 1; e < 4; e++) {
      assertEquals(set(test, e), set(test, 0));
      assertEquals(set(validation, e), set(validation, 0));
    }
    assert(orders.some((o) => JSON.stringify(o) !== JSON.stringify(orders[0])), "validation is reshuffled");
    assertEquals([...set(test, 0), ...set(validation, 0)].sort((x, y) => x - y), [...Array(20).keys()]);
    const seen = await epoch(validation);
    assertEquals(seen.sizes, [2, 2, 2, 2, 2, 2, 2, 2]);
    assertEquals(seen.colors, seen.labels);

    // The tutorial's way moves images between test and validation from one epoch to the next.
    const taken = [0, 1, 2, 3].map((e) => JSON.stringify(set(ds.take(2), e)));
    assert(new Set(taken).size > 1);
    assertEquals(splitValidationTest(ds, { testFraction: 0.5 }).test.cardinality(), 5);
  });
});

Deno.test("validationSplit and subset follow Keras", async () => {
  await withTree({ cats: 5, dogs: 5 }, async (dir) => {
    let log = "";
    let both!: [ImageDataset, ImageDataset];
    log = await captureLog(async () => {
      both = await imageDatasetFromDirectory(dir, {
        imageSize: [6, 8],
        validationSplit: 0.3,
        subset: "both",
        seed: 9,
        batchSize: 4,
        cache: false,
      });
    });
    assertMatch(log, /Using 7 files for training\.\nUsing 3 files for validation\./);
    const [training, validation] = both;
    assertEquals([training.filePaths.length, validation.filePaths.length], [7, 3]);
    assertEquals(new Set([...training.filePaths, ...validation.filePaths]).size, 10);
    const alone = await imageDatasetFromDirectory(
      dir,
      quiet({ validationSplit: 0.3, subset: "validation", seed: 9 }),
    );
    assertEquals(alone.filePaths, validation.filePaths);
    assertEquals(
      (await epoch(validation)).labels,
      (await epoch(validation)).labels,
      "Keras: validation unshuffled",
    );

    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ validationSplit: 0.2, subset: "training" })),
      Error,
      "needs a seed",
    );
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ validationSplit: 0.2 })),
      Error,
      "set both",
    );
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ validationSplit: 1.5, subset: "training", seed: 1 })),
      Error,
      "between 0 and 1",
    );
  });
});

Deno.test("bad inputs are clear errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "data_test_bad_" });
  try {
    await assertRejects(() => imageDatasetFromDirectory(path.join(dir, "missing")), Error, "does not exist");
    await Deno.writeTextFile(path.join(dir, "file.txt"), "x");
    await assertRejects(
      () => imageDatasetFromDirectory(path.join(dir, "file.txt")),
      Error,
      "is not a directory",
    );
    await writeImage(path.join(dir, "loose.jpg"), COLORS.cats);
    await assertRejects(() => imageDatasetFromDirectory(dir, quiet()), Error, "has no class sub-folders");
    await Deno.mkdir(path.join(dir, "cats"));
    await Deno.writeTextFile(path.join(dir, "cats", "notes.md"), "x");
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet()),
      Error,
      `Class folder ${
        path.join(dir, "cats")
      } has no images to learn from: it holds only 1 file that is not ` +
        "an image (1 .md).",
    );
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ skipEmptyClasses: true, log: () => {} })),
      Error,
      "No images found in directory",
    );
    await writeImage(path.join(dir, "cats", "a.png"), COLORS.cats);
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ classNames: ["cats", "dogs"] })),
      Error,
      "must be distinct sub-folders",
    );
    for (
      const [o, text] of [
        [{ batchSize: 0 }, "batchSize"],
        [{ imageSize: [10] as unknown as [number, number] }, "imageSize"],
        [{ labelMode: "sparse" as "int" }, "labelMode"],
        [{ colorMode: "cmyk" as "rgb" }, "colorMode"],
        [{ interpolation: "bicubic" as "bilinear" }, "interpolation"],
        [{ onError: "ignore" as "skip" }, "onError"],
        [{ cache: "float16" as "uint8" }, "cache"],
      ] as Array<[ImageDatasetOptions, string]>
    ) {
      await assertRejects(() => imageDatasetFromDirectory(dir, quiet(o)), Error, text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt or truncated image is an error naming it, or skipped and counted with onError: skip", async () => {
  await withTree({ cats: 3, dogs: 3 }, async (dir) => {
    const good = await Deno.readFile(path.join(dir, "dogs", "img00.jpg"));
    const bad = path.join(dir, "dogs", "img00.jpg");
    await Deno.writeFile(bad, good.subarray(0, Math.floor(good.length / 2)));
    await Deno.writeTextFile(path.join(dir, "cats", "img01.png"), "not a png at all");

    const strict = await imageDatasetFromDirectory(dir, quiet({ shuffle: false, batchSize: 3 }));
    await assertRejects(() => strict.toArray(), Error, path.join(dir, "cats", "img01.png"));
    const strictDogs = await imageDatasetFromDirectory(dir, quiet({ shuffle: false, classNames: ["dogs"] }));
    await assertRejects(() => strictDogs.toArray(), Error, `Cannot decode image ${bad}`);

    const warnings: string[] = [];
    const lenient = await imageDatasetFromDirectory(
      dir,
      quiet({ shuffle: false, batchSize: 3, onError: "skip", log: (m) => warnings.push(m) }),
    );
    const first = await epoch(lenient);
    assertEquals(first.sizes, [2, 2]);
    assertEquals(first.labels, [[0, 0], [1, 1]]);
    assertEquals((await epoch(lenient)).sizes, [2, 2]);
    assertEquals(lenient.skippedFiles.map((s) => path.basename(s.file)), ["img01.png", "img00.jpg"]);
    assertEquals(warnings.length, 2, "each bad file is reported once");
    assertMatch(warnings[1], /2 skipped so far/);
  });
});

Deno.test("no tensor leaks across epochs; fitDataset/evaluateDataset consume the datasets", async () => {
  await withTree({ cats: 6, dogs: 6 }, async (dir) => {
    const start = tf.memory().numTensors;
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 4, seed: 1, labelMode: "binary" }));
    const { validation, test } = splitValidationTest(ds, { testFraction: 0.34 });
    await epoch(ds); // fills the cache: one tensor per image
    assertEquals(tf.memory().numTensors, start + 12);
    const before = tf.memory().numTensors;
    for (let e = 0; e < 2; e++) await epoch(ds.take(3).prefetch(2));
    await ds.forEachAsync((b) => tf.dispose([b.xs, b.ys!]));
    assertEquals(tf.memory().numTensors, before);

    const model = tf.sequential({
      layers: [
        tf.layers.rescaling({ scale: 1 / 255, inputShape: [6, 8, 3] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, activation: "sigmoid" }),
      ],
    });
    model.compile({ optimizer: "adam", loss: "binaryCrossentropy", metrics: ["accuracy"] });
    const afterModel = tf.memory().numTensors;
    const history = await model.fitDataset(ds, { epochs: 2, validationData: validation, verbose: 0 });
    assertEquals(history.history.loss.length, 2);
    assertEquals(history.history.val_loss.length, 2);
    const result = await model.evaluateDataset(test, {}) as Tensor[];
    assert(Number.isFinite(result[0].dataSync()[0]));
    tf.dispose(result);
    // fitDataset keeps optimizer state (a fixed number of tensors), not one per batch.
    const afterFit = tf.memory().numTensors;
    await model.fitDataset(ds, { epochs: 2, verbose: 0 });
    assertEquals(tf.memory().numTensors, afterFit);
    assert(afterFit >= afterModel);
    model.dispose();
    const withCache = tf.memory().numTensors;
    test.dispose(); // the split parts share the cache of ds: one dispose frees it for all
    assertEquals(tf.memory().numTensors, withCache - 12);
    assert(ds.isDisposed && validation.isDisposed);
  });
});

Deno.test("sampleImages returns the first batch's images and labels as arrays, leaving the dataset as is", async () => {
  await withTree({ cats: 6, dogs: 6 }, async (dir) => {
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 8, seed: 5 }));
    const twin = await imageDatasetFromDirectory(dir, quiet({ batchSize: 8, seed: 5 }));
    const before = tf.memory().numTensors;
    const sample = await sampleImages(ds, 5);
    assertEquals(ds.cacheInfo().images, 8, "the batch read is cached");
    assertEquals(tf.memory().numTensors, before + 8, "the cache's tensors, nothing else");
    assertEquals([sample.images.length, sample.images[0].length, sample.images[0][0].length], [5, 6, 8]);
    assertEquals(sample.labelNames, sample.labels.map((l) => ["cats", "dogs"][l]));
    sample.images.forEach((image, k) => {
      const px = image[0][0];
      assertAlmostEquals(px[0], COLORS[sample.labelNames[k]][0], 40);
    });
    assertEquals(await epoch(ds), await epoch(twin), "sampling did not advance the epochs");
    const categorical = await imageDatasetFromDirectory(
      dir,
      quiet({ batchSize: 8, seed: 5, labelMode: "categorical" }),
    );
    assertEquals((await sampleImages(categorical, 5)).labels, sample.labels);
    [ds, twin, categorical].forEach((d) => d.dispose());
    assertEquals(tf.memory().numTensors, before);
  });
});

Deno.test("integration: the real dataset through getFile — 2000/1000 files, 63 train batches, 26/6 split", async () => {
  if (!haveShared(SHARED_ZIP, "data integration test")) return;
  const cacheDir = await Deno.makeTempDir({ prefix: "data_test_real_" });
  try {
    const extracted = await getFile("cats_and_dogs.zip", SHARED_ZIP, {
      cacheDir,
      extract: true,
      progress: false,
    });
    const root = path.join(extracted, "cats_and_dogs_filtered");
    assert(fs.existsSync(path.join(root, "train", "cats")));
    const options = {
      batchSize: 32,
      imageSize: [160, 160] as [number, number],
      seed: 123,
      cache: false as const,
    };
    let train!: ImageDataset;
    let validationFull!: ImageDataset;
    const log = await captureLog(async () => {
      train = await imageDatasetFromDirectory(path.join(root, "train"), options);
      validationFull = await imageDatasetFromDirectory(path.join(root, "validation"), options);
    });
    assertMatch(log, /Found 2000 files belonging to 2 classes\.\nFound 1000 files belonging to 2 classes\./);
    assertEquals(train.classNames, ["cats", "dogs"]);
    assertEquals([train.cardinality(), validationFull.cardinality()], [63, 32]);
    const { validation, test } = splitValidationTest(validationFull);
    assertEquals([validation.cardinality(), test.cardinality()], [26, 6]);
    assertEquals(validation.filePaths.length + test.filePaths.length, 1000);

    const before = tf.memory().numTensors;
    const batches = await test.toArray();
    assertEquals(batches.map((b) => b.xs.shape[0]), [32, 32, 32, 32, 32, 32]);
    assertEquals(batches[0].xs.shape, [32, 160, 160, 3]);
    const max = tf.tidy(() => tf.max(batches[0].xs).dataSync()[0]);
    assert(max > 200 && max <= 255, `pixels in [0, 255], max ${max}`);
    batches.forEach((b) => tf.dispose([b.xs, b.ys!]));
    assertEquals(tf.memory().numTensors, before);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("cache auto: a tiny budget streams the rest — same batches, same order as the full cache, flat tensor count", async () => {
  await withTree({ cats: 7, dogs: 6 }, async (dir) => {
    const perImage = 6 * 8 * 3 * 4;
    const make = (o: ImageDatasetOptions) =>
      imageDatasetFromDirectory(dir, quiet({ batchSize: 4, seed: 7, ...o }));
    const full = await make({ cache: "float32" });
    const tiny = await make({ cache: "auto", cacheBudgetMB: (3.5 * perImage) / 1e6 });
    const none = await make({ cache: "auto", cacheBudgetMB: 0 });
    const values = async (ds: ImageDataset) => {
      const out: number[][] = [];
      await ds.forEachAsync((b) => {
        out.push([...b.ys!.dataSync(), ...b.xs.dataSync()]);
        tf.dispose([b.xs, b.ys!]);
      });
      return out;
    };
    const before = tf.memory().numTensors;
    for (let e = 0; e < 3; e++) {
      const expected = await values(full);
      assertEquals(await values(tiny), expected, `epoch ${e}`);
      assertEquals(await values(none), expected, `epoch ${e}`);
      assertEquals(tf.memory().numTensors, before + 13 + 3, `tensors after epoch ${e}: the cached images`);
      const info = tiny.cacheInfo();
      assertEquals([info.images, info.bytes, info.limitBytes], [3, 3 * perImage, Math.floor(3.5 * perImage)]);
      assertEquals(none.cacheInfo().images, 0);
    }
    assertEquals(full.cacheInfo().images, 13);
    tiny.clearCache();
    assertEquals(tiny.cacheInfo().bytes, 0);
    await values(tiny);
    assertEquals(tiny.cacheInfo().images, 3, "the budget given back by clearCache is used again");
    [full, tiny, none].forEach((d) => d.dispose());
    assertEquals(tf.memory().numTensors, before);
  });
});

/** Runs `fn` with `TL_CACHE_MB` set to `value`, then restores it. */
async function withCacheEnv(value: string, fn: () => Promise<void>) {
  const previous = Deno.env.get("TL_CACHE_MB");
  Deno.env.set("TL_CACHE_MB", value);
  try {
    await fn();
  } finally {
    if (previous === undefined) Deno.env.delete("TL_CACHE_MB");
    else Deno.env.set("TL_CACHE_MB", previous);
  }
}

/** Images the caches of `datasets` hold after one epoch of each. */
async function cachedAfterOneEpoch(datasets: ImageDataset[]): Promise<number> {
  for (const ds of datasets) await ds.forEachAsync((x) => tf.dispose([x.xs, x.ys!]));
  return datasets.reduce((n, ds) => n + ds.cacheInfo().images, 0);
}

Deno.test("cache auto: the message says how much fits; TL_CACHE_MB sets the shared budget; bad budgets are errors", async () => {
  await withTree({ cats: 3, dogs: 3 }, async (dir) => {
    const perImage = 6 * 8 * 3 * 4;
    const log = await captureLog(() =>
      imageDatasetFromDirectory(dir, { imageSize: [6, 8], cacheBudgetMB: (2 * perImage) / 1e6, seed: 1 })
    );
    assertMatch(
      log,
      /^Keeping 2 of 6 decoded images in memory \(1 kB\); the others are decoded again every epoch \(set TL_CACHE_MB to give the cache more memory\)\.$/m,
    );
    await withCacheEnv(String((4 * perImage) / 1e6), async () => {
      const a = await imageDatasetFromDirectory(dir, quiet({ seed: 1, classNames: ["cats"] }));
      let b!: ImageDataset;
      const second = await captureLog(async () => {
        b = await imageDatasetFromDirectory(dir, { imageSize: [6, 8], seed: 1, classNames: ["dogs"] });
      });
      // The first dataset may take 3 of the 4 images the shared budget holds.
      assertMatch(
        second,
        /^Keeping 1 of 3 decoded images in memory \(576 bytes\); the others are decoded again/m,
      );
      // One budget for both datasets: 4 images in all.
      assertEquals(await cachedAfterOneEpoch([a, b]), 4);
      assertEquals(a.cacheInfo().limitBytes, 4 * perImage);
      Deno.env.set("TL_CACHE_MB", "lots");
      await assertRejects(
        () => imageDatasetFromDirectory(dir, quiet()),
        Error,
        "TL_CACHE_MB must be a number",
      );
    });
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ cacheBudgetMB: -1 })),
      Error,
      "cacheBudgetMB must be a number",
    );
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ cacheBudgetMB: Infinity })),
      Error,
      "imageDatasetFromDirectory",
    );
  });
});

Deno.test("sharedCacheBudgetMB sizes the shared budget as TL_CACHE_MB does, and wins over it", async () => {
  await withTree({ cats: 3, dogs: 3 }, async (dir) => {
    const perImage = 6 * 8 * 3 * 4;
    const shared = {
      imageSize: [6, 8] as [number, number],
      seed: 1,
      sharedCacheBudgetMB: (5 * perImage) / 1e6,
    };
    await withCacheEnv("lots", async () => {
      const a = await imageDatasetFromDirectory(dir, quiet({ ...shared, classNames: ["cats"] }));
      let b!: ImageDataset;
      const second = await captureLog(async () => {
        b = await imageDatasetFromDirectory(dir, { ...shared, classNames: ["dogs"], verbose: "details" });
      });
      assertMatch(second, /^Keeping 2 of 3 decoded images in memory/m);
      assertMatch(second, /memory budget 0\.0 MB \(sharedCacheBudgetMB\)/);
      assertEquals(await cachedAfterOneEpoch([a, b]), 5, "one budget of 5 images for both");
      assertEquals(b.cacheInfo().limitBytes, 5 * perImage);
    });
    await assertRejects(
      () => imageDatasetFromDirectory(dir, quiet({ sharedCacheBudgetMB: -1 })),
      Error,
      "sharedCacheBudgetMB must be a number of megabytes ≥ 0, got -1",
    );
  });
});

Deno.test("shard: disjoint parts that cover the folder, the same on every run, labels kept", async () => {
  await withTree({ cats: 9, dogs: 8 }, async (dir) => {
    const all = await imageDatasetFromDirectory(dir, quiet({ shuffle: false }));
    for (const count of [1, 2, 3, 5]) {
      const parts: string[][] = [];
      for (let index = 0; index < count; index++) {
        const ds = await imageDatasetFromDirectory(
          dir,
          quiet({ shard: { index, count }, seed: 2, batchSize: 3 }),
        );
        const again = await imageDatasetFromDirectory(
          dir,
          quiet({ shard: { index, count }, seed: 2, batchSize: 3 }),
        );
        assertEquals(again.filePaths, ds.filePaths, "stable across runs");
        assertEquals(ds.classNames, ["cats", "dogs"]);
        if (ds.filePaths.length > 0) {
          const seen = await epoch(ds);
          assertEquals(seen.colors, seen.labels, "labels follow the files");
        }
        parts.push(ds.filePaths);
      }
      const union = parts.flat().sort();
      assertEquals(union, [...all.filePaths].sort(), `${count} shards cover every file once`);
      assertEquals(new Set(union).size, union.length, `${count} shards are disjoint`);
    }
    const log = await captureLog(() =>
      imageDatasetFromDirectory(dir, { imageSize: 4, shard: { index: 1, count: 2 } })
    );
    assertMatch(
      log,
      /Using shard 1 of 2: \d+ of the 17 files \(chosen by a hash of each file's path under the folder\)\./,
    );
    for (
      const shard of [{ index: 2, count: 2 }, { index: -1, count: 2 }, { index: 0, count: 0 }, {
        index: 0.5,
        count: 2,
      }]
    ) {
      await assertRejects(
        () => imageDatasetFromDirectory(dir, quiet({ shard })),
        Error,
        "shard must be { index, count }",
      );
    }
  });
});

Deno.test("followLinks: a symbolic link loop lists each image once and says so", async () => {
  await withTree({ cats: 3, dogs: 2 }, async (dir) => {
    await Deno.symlink(path.join(dir, "cats"), path.join(dir, "cats", "nested", "loop"));
    await Deno.symlink(path.join(dir, "dogs"), path.join(dir, "dogs", "again"));
    const warnings: string[] = [];
    const ds = await imageDatasetFromDirectory(
      dir,
      quiet({ followLinks: true, shuffle: false, log: (m) => warnings.push(m) }),
    );
    assertEquals(ds.filePaths.length, 5);
    assertEquals(new Set(ds.filePaths.map((f) => fs.realpathSync(f))).size, 5);
    assertEquals(warnings, [
      "Did not follow 2 linked folders leading back into the folder (a loop, or the same photos a second " +
      `time): ${path.join(dir, "cats", "nested", "loop")}, ${path.join(dir, "dogs", "again")}`,
    ]);
    // Without followLinks the links are not followed at all.
    const plain = await imageDatasetFromDirectory(dir, quiet({ shuffle: false }));
    assertEquals(plain.filePaths, ds.filePaths);
  });
});

Deno.test("an imageSize too large for memory and seeds above 32 bits are refused before any work", async () => {
  const missing = path.join(await Deno.makeTempDir({ prefix: "data_test_size_" }), "not-there");
  // The directory does not exist: the option errors come first, before looking at any file.
  await assertRejects(
    () => imageDatasetFromDirectory(missing, quiet({ imageSize: [100000, 100000] })),
    Error,
    "imageSize [100000,100000] with batchSize 32 needs",
  );
  await assertRejects(
    () => imageDatasetFromDirectory(missing, quiet({ imageSize: [30000, 30000], batchSize: null })),
    Error,
    "of memory available; choose a smaller imageSize or batchSize",
  );
  for (const seed of [2 ** 32, 2 ** 40 + 1, -1]) {
    await assertRejects(
      () => imageDatasetFromDirectory(missing, quiet({ seed })),
      Error,
      "seed must be a whole number from 0 to 2^32 − 1 (4294967295)",
    );
  }
  await assertRejects(
    () => imageDatasetFromDirectory(missing, quiet({ seed: 2 ** 32 - 1 })),
    Error,
    "does not exist",
  );
});

Deno.test("an abandoned or failed iteration leaves no tensors behind, with prefetch", async () => {
  await withTree({ cats: 6, dogs: 6 }, async (dir) => {
    const ds = (await imageDatasetFromDirectory(dir, quiet({ batchSize: 2, shuffle: false }))).prefetch(3);
    const before = tf.memory().numTensors;
    const iterator = await ds.iterator();
    const { value } = await iterator.next();
    tf.dispose([value.xs, value.ys]);
    await new Promise((resolve) => setTimeout(resolve, 20)); // room for anything read ahead
    assertEquals(ds.cacheInfo().images, 2);
    assertEquals(tf.memory().numTensors, before + 2, "nothing waits in a buffer as tensors, but the cache");
    ds.dispose();

    await Deno.writeTextFile(path.join(dir, "dogs", "img01.png"), "broken");
    for (const cache of ["auto", false] as const) {
      const broken = (await imageDatasetFromDirectory(dir, quiet({ batchSize: 2, shuffle: false, cache })))
        .prefetch(2);
      const start = tf.memory().numTensors;
      await assertRejects(
        () => broken.forEachAsync((b) => tf.dispose([b.xs, b.ys!])),
        Error,
        "img01.png",
      );
      const cached = broken.cacheInfo().images;
      assertEquals(cached, cache === false ? 0 : 6, "the batches before the broken one are cached");
      assertEquals(tf.memory().numTensors, start + cached, `cache ${cache}: the failed epoch left nothing`);
      broken.dispose();
      assertEquals(tf.memory().numTensors, start);
    }
  });
});

Deno.test("Jupyter's Interrupt stops a dataset iteration between elements, leaving no tensors", async () => {
  await withTree({ cats: 4, dogs: 4 }, async (dir) => {
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 2, seed: 1 }));
    const before = tf.memory().numTensors;
    let seen = 0;
    await assertRejects(
      () =>
        ds.forEachAsync((b) => {
          tf.dispose([b.xs, b.ys!]);
          if (++seen === 2) requestInterrupt();
        }),
      KeyboardInterrupt,
      "interrupted while reading the dataset, before element 3 of 4",
    );
    assertEquals([seen, interruptRequested(), ds.cacheInfo().images], [2, false, 4]);
    assertEquals(tf.memory().numTensors, before + 4, "the cached images only");
    ds.dispose();
    assertEquals(tf.memory().numTensors, before);
  });
});

/** Every element of one epoch of `ds` as plain numbers (labels, then pixels), the tensors disposed. */
async function epochValues(ds: ImageDataset): Promise<number[][]> {
  const out: number[][] = [];
  await ds.forEachAsync((b) => {
    out.push([...b.ys!.dataSync(), ...b.xs.dataSync()]);
    tf.dispose([b.xs, b.ys!]);
  });
  return out;
}

Deno.test("float32 cache: the first epoch keeps the decoded images as tensors, never reading them back", async () => {
  const dir = path.join(FIXTURES, "decode");
  for (const cache of ["float32", "auto"] as const) {
    const start = tf.memory().numTensors;
    const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 4, seed: 3, cache }));
    const images = ds.filePaths.length;
    const proto = tf.Tensor.prototype;
    const dataSync = proto.dataSync;
    let readBack = 0;
    proto.dataSync = function (this: Tensor) {
      readBack++;
      return dataSync.call(this);
    } as typeof dataSync;
    try {
      await ds.forEachAsync((b) => tf.dispose([b.xs, b.ys!]));
    } finally {
      proto.dataSync = dataSync;
    }
    assertEquals(readBack, 0, `cache ${cache}: nothing read back into JavaScript while filling`);
    assertEquals(ds.cacheInfo().images, images);
    assertEquals(tf.memory().numTensors, start + images, `cache ${cache}: one tensor per cached image`);
    assertEquals(ds.cacheInfo().bytes, images * 6 * 8 * 3 * 4, "the budget counts 4 bytes a value");
    ds.dispose();
    assertEquals(tf.memory().numTensors, start);
  }
});

Deno.test("cached tensors: same pixels with and without the cache in every epoch, flat count, freed by clearCache and dispose", async () => {
  const dir = path.join(FIXTURES, "decode");
  const start = tf.memory().numTensors;
  for (const batchSize of [3, null]) {
    const make = (cache: CacheMode) => imageDatasetFromDirectory(dir, quiet({ batchSize, seed: 9, cache }));
    const streamed = await make(false);
    const cached = (await make("float32")).prefetch(2);
    const budget = cached.source.cache!.budget;
    const images = cached.filePaths.length;
    for (let e = 0; e < 4; e++) {
      assertEquals(
        await epochValues(cached),
        await epochValues(streamed),
        `batchSize ${batchSize} epoch ${e}`,
      );
      assertEquals(tf.memory().numTensors, start + images, `epoch ${e}: the cached images, nothing more`);
      assertEquals(budget.used, images * 6 * 8 * 3 * 4);
      if (e === 1) {
        cached.clearCache();
        assertEquals([tf.memory().numTensors, budget.used, cached.cacheInfo().images], [start, 0, 0]);
      }
    }
    const planned = budget.planned;
    assert(planned > 0);
    cached.dispose();
    cached.dispose(); // a second time does nothing
    assertEquals([tf.memory().numTensors, budget.used, budget.planned], [start, 0, 0], "budget given back");
    streamed.dispose();
  }
});

Deno.test("dispose: the datasets sharing the files go with it, iterating them is an error naming what to do", async () => {
  await withTree({ cats: 4, dogs: 4 }, async (dir) => {
    const start = tf.memory().numTensors;
    const [train, validation] = await imageDatasetFromDirectory(dir, {
      ...quiet({ batchSize: 2, seed: 1, validationSplit: 0.25 }),
      subset: "both",
    });
    const first = train.take(2).prefetch(1);
    await epoch(first);
    await epoch(validation);
    assertEquals(tf.memory().numTensors, start + 6, "4 training and 2 validation images, one cache");
    first.dispose();
    assertEquals(tf.memory().numTensors, start);
    for (const ds of [train, validation, first, train.skip(1)]) {
      assert(ds.isDisposed);
      await assertRejects(() => epoch(ds), Error, "was disposed");
    }
    await assertRejects(() => epoch(validation), Error, "make a new one with imageDatasetFromDirectory");
    train.clearCache(); // harmless once disposed
    {
      using scoped = await imageDatasetFromDirectory(dir, quiet({ batchSize: 4, cache: "float32" }));
      await epoch(scoped);
      assertEquals(tf.memory().numTensors, start + 8);
    }
    assertEquals(tf.memory().numTensors, start, "`using` disposed it");
  });
});

Deno.test("uint8 cache: arrays in JavaScript (rounded), no tensor kept, freed by dispose", async () => {
  const dir = path.join(FIXTURES, "decode");
  const start = tf.memory().numTensors;
  const ds = await imageDatasetFromDirectory(dir, quiet({ batchSize: 4, shuffle: false, cache: "uint8" }));
  const streamed = await imageDatasetFromDirectory(
    dir,
    quiet({ batchSize: 4, shuffle: false, cache: false }),
  );
  await epochValues(ds);
  assertEquals(tf.memory().numTensors, start);
  const rounded = (await epochValues(streamed)).map((b) => b.map((v) => Math.min(255, Math.max(0, v))));
  const fromCache = await epochValues(ds);
  assertEquals(fromCache.length, rounded.length);
  fromCache.forEach((b, k) => b.forEach((v, i) => assert(Math.abs(v - rounded[k][i]) <= 0.5, `${v}`)));
  assertEquals(ds.cacheInfo().bytes, ds.filePaths.length * 6 * 8 * 3);
  ds.dispose();
  assertEquals(ds.source.cache!.budget.used, 0);
  streamed.dispose();
});
