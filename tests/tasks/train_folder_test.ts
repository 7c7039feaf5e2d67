import fs from "node:fs";
import path from "node:path";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { folderFingerprint, loadFolderDatasets, resolveDataFolder } from "../../lib/tasks/data_folder.ts";
import { trainFolder } from "../../lib/tasks/train_folder.ts";
import { readMetadata } from "../../lib/tasks/metadata.ts";
import { loadClassifier } from "../../lib/tasks/saved_classifier.ts";
import { expandInputs, predictFiles } from "../../lib/tasks/predict_files.ts";
import { loadImage } from "../../lib/data/image_decode.ts";
import { classProbabilities } from "../../lib/model/classifier.ts";
import { tinyBase, writeColourFolder } from "../../lib/testing/tiny.ts";

const quiet = { log: () => {}, verbose: 0 as const, datasetMessages: false };

Deno.test("trainFolder: 4 colour classes in train/ + validation/ → > 90 %, saved model, metadata and report; predictions survive save → load", async () => {
  await withTempDir("h13-train-folder-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 4, perClass: 24, split: 0.25, seed: 3 });
    const out = path.join(tmp, "model");
    const { model, metadata, outDir } = await trainFolder({
      data,
      out,
      epochs: 6,
      fineTuneEpochs: 2,
      fineTuneAt: 4,
      imageSize: [16, 16],
      batchSize: 8,
      learningRate: 0.02,
      fineTuneLearningRate: 0.002,
      makeBase: (shape) => tinyBase(shape),
      ...quiet,
    });
    assertEquals(outDir, out);
    assertEquals(fs.readdirSync(out).sort(), [
      ".tl-manifest.json",
      "metadata.json",
      "model.json",
      "report.html",
      "weights.bin",
    ]);
    assertEquals(metadata.classNames, ["blue", "green", "red", "yellow"]);
    assertEquals([metadata.numClasses, metadata.output, metadata.imageSize], [4, "softmax", [16, 16]]);
    const m = metadata.metrics!;
    assert(m.final!.val_accuracy! > 0.9, `validation accuracy ${m.final!.val_accuracy}`);
    assertEquals(m.confusionMatrix!.flat().reduce((a, b) => a + b), 24, "6 validation images per class");
    const data_ = metadata.data!;
    assertEquals([data_.files, data_.trainImages], [96, 72]);
    assertEquals(data_.fingerprint, `sha256:${folderFingerprint(data).sha256}`);
    assertEquals(data_.split, { train: "train", validation: "validation" });
    assertEquals(metadata.histories!.frozen.epoch, [0, 1, 2, 3, 4, 5]);
    assertEquals(metadata.histories!.fineTuning!.epoch, [6, 7]);
    const training = metadata.training!;
    assertEquals([training.learningRate, training.fineTuneLearningRate], [0.02, 0.002]);
    assertEquals([training.weights, Object.keys(training.stages!)], ["imagenet", ["frozen", "fineTuning"]]);
    assertEquals(
      readMetadata(out),
      JSON.parse(JSON.stringify(metadata)),
      "metadata.json holds what trainFolder returned",
    );
    const report = fs.readFileSync(path.join(out, "report.html"), "utf8");
    assert(report.includes("Confusion matrix") && report.includes("<svg"), "report has the charts as SVG");
    assert(
      !/<script[^>]*\ssrc=|<(?:img|link|iframe|image)\b[^>]*\s(?:src|href)=["']?https?:/i.test(report),
      "no script or image loaded from elsewhere: the page is self-contained (Chromium checks it offline in report_test)",
    );
    assert(report.includes("data:image/png;base64,"), "top-loss images embedded");

    // The saved model, reloaded, gives the in-memory model's probabilities for the same files.
    const files = expandInputs([path.join(data, "validation")]).files;
    assertEquals(files.length, 24);
    const expected = tf.tidy(() =>
      classProbabilities(
        model.predict(
          tf.stack(files.map((f) => loadImage(fs.readFileSync(f), { imageSize: [16, 16] }, f))),
        ) as Tensor,
      ).arraySync() as number[][]
    );
    model.optimizer.dispose();
    model.dispose();
    const saved = await loadClassifier(out);
    let i = 0;
    for await (const r of predictFiles(saved, files, { batchSize: 5 })) {
      assert(r.ok);
      assertEquals(r.file, files[i]);
      for (const p of r.predictions) {
        assertAlmostEquals(p.probability, expected[i][metadata.classNames.indexOf(p.className)], 1e-5);
      }
      assert(r.predictions[0].probability >= r.predictions[1].probability, "most probable first");
      i++;
    }
    assertEquals(i, 24);
    saved.model.dispose();
  });
});

Deno.test("resolveDataFolder: a zip archive is unpacked by getFile and its single top folder entered; train/ + validation/ used", async () => {
  await withTempDir("h13-resolve-", async (tmp) => {
    const src = path.join(tmp, "src", "my_photos");
    await writeColourFolder(src, { numClasses: 3, perClass: 4, split: 0.5 });
    const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
    for (const f of fs.readdirSync(path.join(tmp, "src"), { recursive: true }) as string[]) {
      const p = path.join(tmp, "src", f);
      if (fs.statSync(p).isFile()) await writer.add(f, new Uint8ArrayReader(fs.readFileSync(p)));
    }
    const zip = path.join(tmp, "my_photos.zip");
    fs.writeFileSync(zip, await writer.close());
    const folder = await resolveDataFolder(zip, { cacheDir: path.join(tmp, "cache") });
    assertEquals(folder.name, "my_photos");
    assert(folder.root.startsWith(path.join(tmp, "cache")), folder.root);
    assertEquals(path.basename(folder.trainDir), "train");
    assertEquals(path.basename(folder.validationDir!), "validation");
    assertEquals(folderFingerprint(folder.root), folderFingerprint(src), "same files, same fingerprint");

    // A plain folder of class folders: split by validationSplit.
    const flat = await resolveDataFolder(path.join(src, "train"));
    assertEquals([flat.validationDir, flat.trainDir], [null, path.join(src, "train")]);
    const before = folderFingerprint(src).sha256;
    fs.writeFileSync(
      path.join(src, "train", "red", "extra.png"),
      fs.readFileSync(path.join(src, "train", "red", "2.png")),
    );
    assert(folderFingerprint(src).sha256 !== before, "a new file changes the fingerprint");

    await assertRejects(() => resolveDataFolder(path.join(tmp, "nope")), Error, "nope does not exist");
    await assertRejects(
      () => resolveDataFolder(path.join(src, "train", "red", "3.png")),
      Error,
      "is not a folder or a .zip",
    );
  });
});

Deno.test("resolveDataFolder + loadFolderDatasets: symbolic links to folders count as folders, as the data loader follows them", async () => {
  await withTempDir("h13-links-", async (tmp) => {
    const src = path.join(tmp, "src");
    await writeColourFolder(src, { numClasses: 2, perClass: 4, split: 0.5 });
    // train/ is a link; validation/ is a real folder of linked class folders.
    const data = path.join(tmp, "linked");
    fs.mkdirSync(path.join(data, "validation"), { recursive: true });
    fs.symlinkSync(path.join(src, "train"), path.join(data, "train"), "dir");
    for (const c of ["red", "green"]) {
      fs.symlinkSync(path.join(src, "validation", c), path.join(data, "validation", c), "dir");
    }
    const folder = await resolveDataFolder(data);
    assertEquals([folder.trainDir, folder.validationDir], [
      path.join(data, "train"),
      path.join(data, "validation"),
    ]);
    const { train, validation, classNames } = await loadFolderDatasets(folder, {
      imageSize: [16, 16],
      batchSize: 4,
      verbose: false,
    });
    assertEquals(classNames, ["green", "red"]);
    assertEquals([train.filePaths.length, validation.filePaths.length], [4, 4]);
    // The metadata's file count and fingerprint see the linked files too: the same as the real folder.
    assertEquals(folderFingerprint(data), folderFingerprint(src));

    // A wrapper folder holding only a link to the data is entered.
    const wrapper = path.join(tmp, "wrapper");
    fs.mkdirSync(wrapper);
    fs.symlinkSync(data, path.join(wrapper, "linked"), "dir");
    const entered = await resolveDataFolder(wrapper);
    assertEquals([entered.name, entered.trainDir], ["linked", path.join(wrapper, "linked", "train")]);
  });
});

Deno.test("trainFolder: the own-images defaults — 224×224, Adam at 1e-3 for the head, RMSprop at 1e-5 for fine-tuning", async () => {
  await withTempDir("h13-defaults-", async (tmp) => {
    const data = path.join(tmp, "two");
    await writeColourFolder(data, { numClasses: 2, perClass: 4, split: 0.5 });
    const before = tf.memory().numTensors;
    const { model, metadata } = await trainFolder({
      data,
      out: path.join(tmp, "m"),
      epochs: 1,
      fineTuneEpochs: 1,
      fineTuneAt: 4,
      makeBase: (shape) => tinyBase(shape),
      ...quiet,
    });
    assertEquals(metadata.imageSize, [224, 224]);
    assertEquals(model.inputs[0].shape, [null, 224, 224, 3]);
    const training = metadata.training!;
    assertEquals([training.learningRate, training.batchSize, training.seed], [1e-3, 32, 42]);
    const optimizer = model.optimizer as unknown as { getClassName(): string; learningRate: number };
    assertEquals(
      [optimizer.getClassName(), optimizer.learningRate],
      ["RMSProp", 1e-5],
    );
    model.optimizer.dispose();
    model.dispose();
    assertEquals(tf.memory().numTensors, before, "no tensors left, the first stage's Adam included");
  });
});

Deno.test("trainFolder: a seeded split without validation/, and clear errors for bad folders and options", async () => {
  await withTempDir("h13-split-", async (tmp) => {
    const data = path.join(tmp, "flat");
    await writeColourFolder(data, { numClasses: 3, perClass: 10 });
    const run = () =>
      trainFolder({
        data,
        out: path.join(tmp, "m"),
        epochs: 1,
        fineTuneEpochs: 0,
        imageSize: [16, 16],
        batchSize: 8,
        validationSplit: 0.3,
        seed: 5,
        makeBase: (shape) => tinyBase(shape),
        ...quiet,
      });
    const a = await run();
    const split = a.metadata.data!;
    assertEquals([split.trainImages, split.validationImages], [21, 9]);
    assertEquals(split.split, { validationSplit: 0.3, seed: 5 });
    assertEquals(Object.keys(a.metadata.histories!), ["frozen"], "no fine-tuning with 0 epochs");
    assertEquals(Object.keys(a.metadata.metrics!).includes("fineTuning"), false);
    a.model.dispose();

    // validation/ must hold the same classes as train/.
    const bad = path.join(tmp, "bad");
    await writeColourFolder(bad, { numClasses: 3, perClass: 4, split: 0.5 });
    fs.rmSync(path.join(bad, "validation", "blue"), { recursive: true });
    await assertRejects(
      () => trainFolder({ data: bad, imageSize: [16, 16], makeBase: (s) => tinyBase(s), ...quiet }),
      Error,
      "must hold the same class folders as",
    );
    const one = path.join(tmp, "one");
    await writeColourFolder(one, { numClasses: 1, perClass: 10 });
    await assertRejects(
      () => trainFolder({ data: one, imageSize: [16, 16], makeBase: (s) => tinyBase(s), ...quiet }),
      Error,
      "expected at least 2",
    );
    await assertRejects(
      () => trainFolder({ data, epochs: 0 }),
      Error,
      "trainFolder: epochs must be an integer ≥ 1, got 0",
    );
    await assertRejects(
      () => trainFolder({ data, fineTuneLearningRate: 1 }),
      Error,
      "trainFolder: fineTuneLearningRate must be between 0 and 1, got 1",
    );
    await assertRejects(
      () => trainFolder({ data, imageSize: [4, 4] }),
      Error,
      "imageSize must be [height, width]",
    );
  });
});
