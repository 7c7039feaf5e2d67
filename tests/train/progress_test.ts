import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import {
  bar,
  formatDuration,
  jupyterSink,
  lineSink,
  ProgressLogger,
  terminalSink,
} from "../../lib/train/progress.ts";
import type { ProgressSink } from "../../lib/train/progress.ts";

/** Drives a logger through `epochs` epochs of `steps` batches with constant loss/accuracy tensors. */
async function drive(logger: ProgressLogger, clock: { t: number }, epochs: number, steps: number) {
  for (let e = 0; e < epochs; e++) {
    await logger.onEpochBegin(e);
    for (let b = 0; b < steps; b++) {
      clock.t += 100;
      const logs = { batch: b, size: 32, loss: tf.scalar(0.5 + e), accuracy: tf.scalar(0.25) };
      await logger.onBatchEnd(b, logs);
      tf.dispose([logs.loss, logs.accuracy]);
    }
    const epochLogs = {
      loss: tf.scalar(0.5 + e),
      accuracy: tf.scalar(0.25),
      val_loss: 0.4,
      val_accuracy: 0.875,
    };
    await logger.onEpochEnd(e, epochLogs);
    tf.dispose([epochLogs.loss, epochLogs.accuracy]);
  }
  await logger.onTrainEnd();
}

Deno.test("Keras-style lines: header, bar, ETA while running, time per step and metrics at the end", async () => {
  const shown: { lines: string[]; final: boolean }[] = [];
  const sink: ProgressSink = { show: (lines, final) => void shown.push({ lines: [...lines], final }) };
  const clock = { t: 0 };
  const before = tf.memory().numTensors;
  await drive(
    new ProgressLogger({ epochs: 2, steps: 10, sink, intervalMs: 250, now: () => clock.t }),
    clock,
    2,
    10,
  );
  assertEquals(tf.memory().numTensors, before, "running sums are disposed");
  const last = shown.at(-1)!;
  assert(last.final);
  assertEquals(last.lines[0], "Epoch 1/2");
  assertEquals(
    last.lines[1],
    "10/10 [==============================] - 1s 100ms/step - loss: 0.5000 - accuracy: 0.2500 - val_loss: 0.4000 - val_accuracy: 0.8750",
  );
  assertEquals(last.lines[2], "Epoch 2/2");
  assertMatch(last.lines[3], /^10\/10 \[=+\] - 1s 100ms\/step - loss: 1\.5000 /);
  const running = shown.find((s) => !s.final && s.lines.length === 2 && s.lines[1] !== "")!;
  assertEquals(
    running.lines[1],
    " 3/10 [=========>....................] - ETA: 1s - loss: 0.5000 - accuracy: 0.2500",
  );
  // Redraws are throttled: 10 steps of 100 ms with a 250 ms interval give 3 redraws per epoch, not 10.
  assertEquals(shown.filter((s) => /ETA/.test(s.lines.at(-1)!)).length, 2 * 3);
});

Deno.test("the notebook sink updates ONE display (same display_id, update after the first)", async () => {
  const calls: { obj: unknown; options?: Record<string, unknown> }[] = [];
  const api = {
    display: (
      obj: unknown,
      options?: Record<string, unknown>,
    ) => (calls.push({ obj, options }), Promise.resolve()),
  };
  const clock = { t: 0 };
  await drive(
    new ProgressLogger({
      epochs: 3,
      steps: 20,
      sink: jupyterSink(api, "p1"),
      intervalMs: 500,
      now: () => clock.t,
    }),
    clock,
    3,
    20,
  );
  assert(calls.length > 3 && calls.length < 3 * 20, `${calls.length} display calls`);
  assert(calls.every((c) => c.options?.display_id === "p1" && c.options?.raw === true));
  assertEquals(calls[0].options?.update, undefined);
  assert(calls.slice(1).every((c) => c.options?.update === true));
  const text = (calls.at(-1)!.obj as Record<string, string>)["text/plain"].split("\n");
  assertEquals(text.length, 6);
  assertEquals([text[0], text[2], text[4]], ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]);
});

Deno.test("terminal sink rewrites the line with \\r; line sink prints finished lines once", () => {
  let out = "";
  const term = terminalSink((s) => out += s);
  term.show(["Epoch 1/1", " 1/2 [>...]"], false);
  term.show(["Epoch 1/1", " 2/2 [====]"], true);
  assertEquals(out, "\rEpoch 1/1\x1b[K\n\r 1/2 [>...]\x1b[K\r 2/2 [====]\x1b[K\n");
  const logged: string[] = [];
  const lines = lineSink((s) => logged.push(s));
  lines.show(["Epoch 1/1", " 1/2"], false);
  lines.show(["Epoch 1/1", " 2/2 done"], true);
  assertEquals(logged, ["Epoch 1/1", " 2/2 done"]);
});

Deno.test("durations and bars as Keras prints them", () => {
  assertEquals([formatDuration(7.4), formatDuration(62), formatDuration(3723)], ["7s", "1:02", "1:02:03"]);
  assertEquals(bar(0, 4, 8), "[>.......]");
  assertEquals(bar(2, 4, 8), "[====>...]");
  assertEquals(bar(4, 4, 8), "[========]");
});
