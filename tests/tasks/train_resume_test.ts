/**
 * Resuming `trainFolder` / `deno task train --resume` (issue 23): a checkpoint at each epoch's end in
 * `<out>.checkpoint/`, a run interrupted (Ctrl-C, kill -9) and resumed ends with the same weights as one
 * that was not, another run's checkpoint is refused, and only our own folder is ever removed.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { requestInterrupt, tf } from "../../lib/runtime/mod.ts";
import { deterministicEnv } from "../../lib/cli/mod.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { readCheckpoint, setRandomSeed } from "../../lib/train/mod.ts";
import { trainFolder } from "../../lib/tasks/train_folder.ts";
import type { TrainFolderOptions } from "../../lib/tasks/train_folder.ts";
import { checkpointDirOf, ResumeRefused, TrainInterrupted } from "../../lib/tasks/train_resume.ts";
import type { TrainProgress } from "../../lib/tasks/train_resume.ts";
import { tinyBase, writeColourFolder } from "../../lib/testing/tiny.ts";

const tiny = {
  imageSize: [16, 16] as [number, number],
  batchSize: 8,
  fineTuneAt: 4,
  epochs: 2,
  fineTuneEpochs: 3,
  learningRate: 0.01,
  fineTuneLearningRate: 0.001,
  datasetMessages: false,
  review: false,
  verbose: 1 as const,
  progressSink: () => ({ show: () => {} }),
  makeBase: (shape: [number, number, number]) => tinyBase(shape),
};

/**
 * Progress sinks that request an interrupt when the progress line reaches batch `batch` of epoch `epoch`
 * (1-based, over both stages): `fit` stops after that batch. The line is drawn at every batch: `verbose: 1`
 * under {@link everyBatchClock}.
 */
function interruptAt(epoch: number, batch: number) {
  return () => ({
    show: (lines: string[], final: boolean) => {
      const current = lines.findLast((l) => l.startsWith("Epoch "));
      const step = /^\s*(\d+)\//.exec(lines.at(-1) ?? "");
      if (!final && current?.startsWith(`Epoch ${epoch}/`) && Number(step?.[1]) === batch) requestInterrupt();
    },
  });
}

/** Runs `f` under a clock that advances 1 s per reading: the progress line is redrawn at every batch. */
async function everyBatchClock<T>(f: () => Promise<T>): Promise<T> {
  const real = performance.now;
  let t = 0;
  performance.now = () => (t += 1000);
  try {
    return await f();
  } finally {
    performance.now = real;
  }
}

/** Trains with `options` from a seeded random state; the saved weights' bytes and the histories. */
async function train(data: string, out: string, options: Partial<TrainFolderOptions>, seed = 7) {
  setRandomSeed(seed);
  try {
    const result = await everyBatchClock(() =>
      trainFolder({ data, out, ...tiny, log: () => {}, ...options })
    );
    result.model.optimizer.dispose();
    result.model.dispose();
    return { weights: fs.readFileSync(path.join(out, "weights.bin")), histories: result.metadata.histories };
  } finally {
    setRandomSeed(null);
  }
}

/**
 * One run interrupted at batch `at.batch` of epoch `at.epoch` (1-based; fine-tuning is epochs 3 to 5) and
 * resumed from another random state against one that was not: the same `weights.bin` and the same
 * histories, every number. `bestStage`: where the lowest val_loss must be at the checkpoint (its weights
 * were saved then, with the layer order of that stage).
 */
async function resumedEqualsWhole(
  tmp: string,
  data: string,
  options: Partial<TrainFolderOptions>,
  at: { epoch: number; batch: number; bestStage: string },
) {
  const whole = await train(data, path.join(tmp, "whole"), options);
  assert(!fs.existsSync(checkpointDirOf(path.join(tmp, "whole"))), "removed after the save");
  const out = path.join(tmp, "resumed");
  const e = await assertRejects(
    () => train(data, out, { ...options, progressSink: interruptAt(at.epoch, at.batch) }),
    TrainInterrupted,
  );
  const dir = checkpointDirOf(out);
  assertEquals((e as TrainInterrupted).checkpointDir, dir);
  assertEquals((e as TrainInterrupted).checkpointAt, `batch ${at.batch}/5 of epoch ${at.epoch}/5`);
  assert(!fs.existsSync(out), "the model folder is written only at the end");
  // The checkpoint is the one of the batch where training stopped, in the epoch in progress.
  const { header } = await readCheckpoint(dir);
  assertEquals([header.stage, header.epoch], ["fineTuning", at.epoch - 1]);
  const progress = header.extra as TrainProgress;
  assertEquals(progress.inEpoch?.batches, at.batch);
  assertEquals(progress.inEpoch?.seen, Math.min(at.batch * tiny.batchSize, 36), "36 training images");
  assertEquals(Object.keys(progress.inEpoch!.totals).sort(), ["accuracy", "loss"]);
  const fineEpochs = Array.from({ length: at.epoch - 3 }, (_, i) => i + 2);
  assertEquals([progress.frozen.epoch, progress.fineTuning?.epoch], [[0, 1], fineEpochs]);
  assertEquals(progress.datasetEpochs, at.epoch - 1, "the shuffles of the epochs before it");
  assertEquals(
    progress.best!.epoch < 2 ? "frozen" : "fineTuning",
    at.bestStage,
    `best ${progress.best!.epoch}`,
  );
  assert(fs.existsSync(path.join(dir, `best-${progress.best!.epoch}`)), "the best epoch's weights");
  // The part of the epoch run is no epoch: it was neither validated nor judged by the keeper.
  assert(progress.best!.epoch < at.epoch - 1, `best ${progress.best!.epoch}: a complete epoch`);
  // Another start (other initial weights, other random state): the checkpoint puts everything back.
  const resumed = await train(data, out, { ...options, resume: true }, 99);
  assert(resumed.weights.equals(whole.weights), "bit-identical weights.bin");
  assertEquals(resumed.histories, whole.histories, "the same histories, the resumed epoch's means included");
  assert(!fs.existsSync(dir), "the checkpoint folder is removed after the save");
}

Deno.test("trainFolder: interrupted mid-epoch in fine-tuning, then resumed at that batch, saves the weights and histories of the run that was not", async () => {
  await withTempDir("train-resume-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 16, split: 0.25, seed: 5 });
    const before = tf.memory().numTensors;
    await resumedEqualsWhole(path.join(tmp, "a"), data, {}, { epoch: 4, batch: 2, bestStage: "fineTuning" });
    // A fine-tuning rate far too high: the best epoch stays a frozen one, kept across the stages; stopped in
    // fine-tuning's first epoch, which has no epoch of its stage before it.
    await resumedEqualsWhole(path.join(tmp, "b"), data, { fineTuneLearningRate: 0.9 }, {
      epoch: 3,
      batch: 4,
      bestStage: "frozen",
    });
    // Stopped after the last batch of the last epoch: the resumed run has only its validation left.
    await resumedEqualsWhole(path.join(tmp, "c"), data, {}, { epoch: 5, batch: 5, bestStage: "fineTuning" });
    assertEquals(tf.memory().numTensors, before, "no tensors left behind");
  });
});

Deno.test("trainFolder: --resume refuses another run's checkpoint, a missing one, and a folder not ours", async () => {
  await withTempDir("train-resume-refuse-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 8, split: 0.25, seed: 5 });
    const out = path.join(tmp, "model");
    // A checkpoint folder being made by a process that was killed: removed (no process 999999 runs).
    const leftover = `${checkpointDirOf(out)}.writing-999999-0badf00d`;
    fs.mkdirSync(leftover);
    await assertRejects(() => train(data, out, { resume: true }), ResumeRefused, "there is no checkpoint");
    assert(!fs.existsSync(leftover), "the dead process' temporary folder is removed");
    await assertRejects(() => train(data, out, { progressSink: interruptAt(3, 1) }), TrainInterrupted);
    const before = tf.memory().numTensors;
    await assertRejects(
      () => train(data, out, { resume: true, seed: 3 }),
      ResumeRefused,
      "its seed is 42, this run's is 3",
    );
    await assertRejects(() => train(data, out, { resume: true, fineTuneAt: 2 }), ResumeRefused, "fineTuneAt");
    assertEquals(tf.memory().numTensors, before, "no tensors left behind by a refusal");
    assert(fs.existsSync(path.join(checkpointDirOf(out), "checkpoint.tlckpt")), "a refusal changes nothing");
    // A folder of that name that we did not write is never touched.
    const other = path.join(tmp, "other");
    fs.mkdirSync(`${other}.checkpoint`);
    fs.writeFileSync(path.join(`${other}.checkpoint`, "notes.txt"), "mine");
    await assertRejects(() => train(data, other, {}), Error, "was not written by train");
    assertEquals(fs.readFileSync(path.join(`${other}.checkpoint`, "notes.txt"), "utf8"), "mine");
  });
});

/** `deno run -A tools/cli/train.ts ARGS` with TensorFlow's deterministic environment, as `deno task train` starts it. */
function spawnTrain(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(PROJECT_ROOT, "tools/cli/train.ts"), ...args],
    cwd: PROJECT_ROOT,
    env: deterministicEnv(),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finished(child: Deno.ChildProcess) {
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), signal: out.signal };
}

/** Waits until the checkpoint in `dir` has reached `epoch` (0-based) or the child has ended; true if reached. */
async function checkpointReached(dir: string, epoch: number, child: { ended: boolean }): Promise<boolean> {
  while (!child.ended) {
    const header = await readCheckpoint(dir).then((c) => c.header, () => null);
    if (header && header.epoch >= epoch) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

const CLI_RUN = [
  ...["--weights", "none", "--alpha", "0.35", "--image-size", "32", "--batch-size", "8"],
  ...["--epochs", "2", "--fine-tune-epochs", "2", "--deterministic", "--json"],
];

Deno.test("deno task train: kill -9 after a checkpoint, --resume: weights identical to an uninterrupted run; another seed is refused (exit 2)", async () => {
  await withTempDir("train-resume-cli-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 8, size: 32, split: 0.25 });
    const whole = await finished(spawnTrain([data, ...CLI_RUN, "--out", path.join(tmp, "whole")]));
    assertEquals(whole.code, 0, whole.stderr);
    const out = path.join(tmp, "killed"), dir = checkpointDirOf(out);
    // Killed at once when the checkpoint of a random epoch (0, 1 or 2 of 0…3) is there: wherever it is then,
    // possibly writing the next checkpoint or the best epoch's weights.
    const at = Math.floor(Math.random() * 3);
    const child = spawnTrain([data, ...CLI_RUN, "--out", out]);
    const state = { ended: false };
    const result = finished(child).finally(() => state.ended = true);
    const reached = await checkpointReached(dir, at, state);
    if (reached) child.kill("SIGKILL");
    const killed = await result;
    assert(reached && killed.signal === "SIGKILL", `killed after epoch ${at + 1}: ${killed.stderr}`);
    assert(!fs.existsSync(out), "no model folder");
    const refused = await finished(spawnTrain([data, ...CLI_RUN, "--out", out, "--seed", "3", "--resume"]));
    assertEquals(refused.code, 2, refused.stderr);
    assertMatch(refused.stderr, /its seed is 42, this run's is 3 — resume with the options of that run/);
    // A killed write leaves a temporary file: the next run removes it (its process is gone).
    fs.writeFileSync(path.join(dir, `checkpoint.tlckpt.writing-${child.pid}-0badf00d`), "half");
    const resumed = await finished(spawnTrain([data, ...CLI_RUN, "--out", out, "--resume"]));
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stderr, /Resumed from .*killed\.checkpoint: \d epoch\(s\) done/);
    const weights = (d: string) => fs.readFileSync(path.join(d, "weights.bin"));
    assert(
      weights(out).equals(weights(path.join(tmp, "whole"))),
      `bit-identical weights (killed after epoch ${at + 1})`,
    );
    assert(!fs.existsSync(dir), "the checkpoint folder, temporary file included, is removed after the save");
  });
});

Deno.test("deno task train: Ctrl-C in the last epoch stops after the batch, writes the checkpoint at that batch, prints the resume command, exits 130; --resume ends as an uninterrupted run", async () => {
  await withTempDir("train-sigint-", async (tmp) => {
    const data = path.join(tmp, "colours");
    // Epochs of 17 batches, from the decoded-image cache after the first: no file is read in the last one.
    await writeColourFolder(data, { numClasses: 3, perClass: 60, size: 96, split: 0.25 });
    const wholeOut = path.join(tmp, "whole");
    // The uninterrupted run, beside the interrupted one.
    const wholeRun = finished(spawnTrain([data, ...CLI_RUN, "--image-size", "96", "--out", wholeOut]));
    const out = path.join(tmp, "model"), dir = checkpointDirOf(out);
    const args = [data, ...CLI_RUN, "--image-size", "96", "--out", out];
    const child = spawnTrain(args);
    const state = { ended: false };
    const result = finished(child).finally(() => state.ended = true);
    const reached = await checkpointReached(dir, 2, state); // epoch 3 of 4 done: the last one starts
    if (reached) child.kill("SIGINT");
    const stopped = await result;
    assert(reached, stopped.stderr);
    assertEquals(stopped.code, 130, stopped.stderr);
    const where = /Training stopped: fit interrupted after batch (\d+)\/17 of epoch 4\/4/.exec(
      stopped.stderr,
    );
    assert(where, stopped.stderr);
    const batch = Number(where[1]);
    assertMatch(
      stopped.stderr,
      new RegExp(`The checkpoint at batch ${batch}/17 of epoch 4/4 is in .*model\\.checkpoint`),
    );
    assert(stopped.stderr.includes(`deno task train -- ${args.join(" ")} --resume`), stopped.stderr);
    const { header } = await readCheckpoint(dir);
    assertEquals([header.epoch, (header.extra as TrainProgress).inEpoch?.batches], [3, batch]);
    assert(!fs.existsSync(out), "no model folder");
    const resumed = await finished(spawnTrain([...args, "--resume"]));
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stderr, new RegExp(`3 epoch\\(s\\) and ${batch}/17 batch\\(es\\) of epoch 4 done`));
    assert(fs.existsSync(path.join(out, "weights.bin")) && !fs.existsSync(dir), "saved; checkpoint removed");
    const whole = await wholeRun;
    assertEquals(whole.code, 0, whole.stderr);
    const file = (d: string, name: string) => fs.readFileSync(path.join(d, name));
    assert(
      file(out, "weights.bin").equals(file(wholeOut, "weights.bin")),
      `bit-identical weights (batch ${batch})`,
    );
    const histories = (d: string) => JSON.parse(new TextDecoder().decode(file(d, "metadata.json"))).histories;
    assertEquals(histories(out), histories(wholeOut), "the same histories");
  });
});
