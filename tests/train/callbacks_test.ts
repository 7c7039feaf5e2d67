/**
 * EarlyStopping, ReduceLROnPlateau and ModelCheckpoint against Keras 3.15: the same epoch logs fed to
 * Keras' callbacks (tests/fixtures/callbacks_keras.json, tools/keras/make_callbacks_fixture.py) and to
 * ours give the same decisions, learning rates, saved files and log lines.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { EarlyStopping } from "../../lib/train/early_stopping.ts";
import { ReduceLROnPlateau } from "../../lib/train/reduce_lr_on_plateau.ts";
import { ModelCheckpoint } from "../../lib/train/model_checkpoint.ts";
import { pythonFloat } from "../../lib/train/monitor_callback.ts";
import { pythonFormat } from "../../lib/train/python_format.ts";
import { learningRateOf } from "../../lib/model/optimizers.ts";

interface Case {
  options: Record<string, number | boolean | string>;
  monitor: string;
  values: number[];
  lines: string[];
}
const fixture = JSON.parse(
  fs.readFileSync(new URL("../fixtures/callbacks_keras.json", import.meta.url), "utf8"),
) as {
  earlyStopping:
    (Case & { epochsRun: number; stoppedEpoch: number; bestEpoch: number; best: number; wait: number })[];
  reduceLROnPlateau: (Case & { initialLR: number; learningRates: number[] })[];
  modelCheckpoint: (Case & { initialValueThreshold: number | null; saved: string[] })[];
};

/** Keras' snake_case options in camelCase (`min_lr` → `minLR`). */
function camel(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map((
      [k, v],
    ) => [k === "min_lr" ? "minLR" : k.replace(/_(.)/g, (_, c) => c.toUpperCase()), v]),
  );
}

function tinyModel(lr = 1e-3): LayersModel {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
  model.compile({ optimizer: tf.train.adam(lr), loss: "meanSquaredError" });
  return model;
}

/** What `run` printed (console.log, where lib/runtime's print goes outside a notebook). */
async function captured(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(" "));
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines;
}

/** Feeds `logs` per epoch as fit would, stopping when the callback asks to; the epochs run. */
async function replay(
  callback: InstanceType<typeof tf.Callback>,
  model: LayersModel,
  logs: Record<string, number>[],
  after?: () => void,
): Promise<number> {
  callback.setModel(model);
  model.stopTraining = false;
  await callback.onTrainBegin();
  let run = 0;
  for (const [epoch, l] of logs.entries()) {
    await callback.onEpochBegin(epoch);
    await callback.onEpochEnd(epoch, { ...l });
    run++;
    after?.();
    if (model.stopTraining) break;
  }
  await callback.onTrainEnd();
  return run;
}

Deno.test("earlyStopping: Keras' decisions, best epoch, wait and log lines for the fixture's sequences", async () => {
  const before = tf.memory().numTensors;
  for (const c of fixture.earlyStopping) {
    const model = tinyModel();
    const stop = new EarlyStopping({ monitor: c.monitor, verbose: 1, ...camel(c.options) });
    let run = 0;
    const lines = await captured(async () => {
      run = await replay(
        stop,
        model,
        c.values.map((v) => c.monitor === "loss" ? { loss: v } : { [c.monitor]: v, loss: 1 }),
      );
    });
    const what = JSON.stringify(c.options) + " " + c.monitor;
    assertEquals(run, c.epochsRun, `${what}: epochs run`);
    assertEquals(
      { stoppedEpoch: stop.stoppedEpoch, bestEpoch: stop.bestEpoch, best: stop.best, wait: stop.wait },
      { stoppedEpoch: c.stoppedEpoch, bestEpoch: c.bestEpoch, best: c.best, wait: c.wait },
      what,
    );
    assertEquals(lines, c.lines, what);
    model.optimizer.dispose();
    model.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("reduceLROnPlateau: Keras' learning rates after each epoch and its log lines", async () => {
  for (const c of fixture.reduceLROnPlateau) {
    const model = tinyModel(c.initialLR);
    const plateau = new ReduceLROnPlateau({ monitor: c.monitor, verbose: 1, ...camel(c.options) });
    const rates: number[] = [];
    const lines = await captured(async () => {
      await replay(plateau, model, c.values.map((v) => ({ [c.monitor]: v })), () => {
        // Keras keeps the rate as float32.
        rates.push(Math.fround(learningRateOf(model.optimizer)));
      });
    });
    const what = JSON.stringify(c.options);
    assertEquals(rates, c.learningRates, what);
    assertEquals(lines, c.lines, what);
    model.optimizer.dispose();
    model.dispose();
  }
});

Deno.test("modelCheckpoint: Keras' saves (file names from {epoch:02d}-{val_loss:.2f}) and log lines", async () => {
  for (const c of fixture.modelCheckpoint) {
    await withTempDir("ckpt-", async (dir) => {
      const model = tinyModel();
      const checkpoint = new ModelCheckpoint({
        filepath: path.join(dir, `ckpt-{epoch:02d}-{${c.monitor}:.2f}.weights.h5`),
        monitor: c.monitor,
        verbose: 1,
        saveWeightsOnly: true,
        ...(c.initialValueThreshold === null ? {} : { initialValueThreshold: c.initialValueThreshold }),
        ...camel(c.options),
      });
      const lines = await captured(async () => {
        await replay(checkpoint, model, c.values.map((v) => ({ [c.monitor]: v })));
      });
      const what = JSON.stringify(c.options);
      assertEquals(fs.readdirSync(dir).sort(), c.saved, what);
      assertEquals(lines.map((l) => l.replaceAll(dir, "<dir>")), c.lines, what);
      model.optimizer.dispose();
      model.dispose();
    });
  }
});

Deno.test("callback options: bad values are errors naming the option and the fix", () => {
  assertThrows(() => new ReduceLROnPlateau({ factor: 1 }), Error, "does not support a factor >= 1.0");
  assertThrows(() => new EarlyStopping({ patience: -1 }), Error, "patience must be a whole number");
  assertThrows(() => new EarlyStopping({ monitor: "val_f2" }), Error, 'Pass `mode: "max"`');
  assertThrows(() => new ModelCheckpoint({ filepath: "best.keras" }), Error, "saved as a folder");
  assertThrows(
    () => new ModelCheckpoint({ filepath: "best", saveWeightsOnly: true }),
    Error,
    "must end in `.weights.h5`",
  );
});

Deno.test("pythonFloat and pythonFormat print as Python does", () => {
  assertEquals(pythonFloat(1.0000000474974514e-05), "1.0000000474974514e-05");
  assertEquals(pythonFloat(0.0001), "0.0001");
  assertEquals(pythonFloat(1e16), "1e+16");
  assertEquals(pythonFloat(123.5), "123.5");
  assertEquals(
    pythonFormat("{epoch:03d}_{loss:.3e}_{{x}}", { epoch: 7, loss: 0.00012345 }),
    "007_1.234e-04_{x}",
  );
  assert(pythonFormat("{acc:.1%}", { acc: 0.5 }) === "50.0%");
});
