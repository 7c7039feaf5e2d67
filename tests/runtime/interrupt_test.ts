import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor3D } from "../../lib/runtime/tf.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { evaluate, fit } from "../../lib/train/fit.ts";
import {
  checkInterrupt,
  clearInterrupt,
  installInterruptHandler,
  interruptRequested,
  KeyboardInterrupt,
  requestInterrupt,
} from "../../lib/runtime/interrupt.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { imageDatasetFromDirectory } from "../../lib/data/mod.ts";
import { getFile } from "../../lib/io/get_file.ts";

/** A callback pressing Interrupt (as the SIGINT listener does) at one batch of one epoch. */
function interruptAt(epoch: number, batch: number) {
  let current = -1;
  return new (class extends tf.Callback {
    override onEpochBegin(e: number) {
      current = e;
      return Promise.resolve();
    }
    override onBatchEnd(b: number) {
      if (current === epoch && b === batch) requestInterrupt();
      return Promise.resolve();
    }
  })();
}

Deno.test("no SIGINT listener outside the Jupyter kernel", () => {
  assertEquals(installInterruptHandler(), false);
});

Deno.test("checkInterrupt throws KeyboardInterrupt once, then the flag is clear", () => {
  clearInterrupt();
  checkInterrupt("nowhere");
  requestInterrupt();
  const e = assertThrows(
    () => checkInterrupt("decoding image 3 of 9"),
    KeyboardInterrupt,
    "decoding image 3 of 9",
  );
  assertEquals(e.name, "KeyboardInterrupt");
  assertEquals(interruptRequested(), false);
  checkInterrupt("again");
});

Deno.test("fit stops at the interrupted batch with KeyboardInterrupt, leaks nothing, and the next fit works", async () => {
  const train = tinySet(128, 16, 16, 0), val = tinySet(32, 16, 16, 5);
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  compileClassifier(model, tf.train.adam(0.01));
  const batches = train.dataset.prefetch(3);
  await fit(model, batches, { epochs: 1, validationData: val.dataset, verbose: 0 }); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  let seen = 0;
  const counter = { onBatchEnd: () => void seen++ };
  const e = await assertRejects(
    () =>
      fit(model, batches, {
        epochs: 4,
        initialEpoch: 1,
        validationData: val.dataset,
        verbose: 0,
        callbacks: [interruptAt(2, 2), counter],
      }),
    KeyboardInterrupt,
    "fit interrupted after batch 3/8 of epoch 3/4",
  );
  assertEquals(e.name, "KeyboardInterrupt");
  assert(/weights .*after that batch/.test(e.message), e.message);
  assertEquals(seen, 8 + 3, "one full epoch, then 3 batches");
  assertEquals(interruptRequested(), false);
  assertEquals(tf.memory().numTensors, before, "tensors after the interrupted fit");
  const h = await fit(model, batches, {
    epochs: 3,
    initialEpoch: 2,
    validationData: val.dataset,
    verbose: 0,
  });
  assertEquals(h.epoch, [2]);
  assert(Number.isFinite(h.history.val_loss[0]));
  assertEquals(tf.memory().numTensors, before, "tensors after the next fit");
  model.dispose();
  train.dispose();
  val.dispose();
});

Deno.test("an interrupt pressed before fit started is stale and does not stop it", async () => {
  const train = tinySet(32, 16, 16, 0);
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  compileClassifier(model, tf.train.adam(0.01));
  requestInterrupt();
  const h = await fit(model, train.dataset, { epochs: 2, verbose: 0 });
  assertEquals(h.epoch, [0, 1]);
  model.dispose();
  train.dispose();
});

Deno.test("evaluate stops with KeyboardInterrupt, leaks nothing, and evaluates again afterwards", async () => {
  const val = tinySet(64, 16, 16, 5);
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  compileClassifier(model, tf.train.adam(0.01));
  const batches = val.dataset.prefetch(2);
  const [loss] = await evaluate(model, batches);
  const before = tf.memory().numTensors;
  // Interrupt pressed while the second batch is read.
  let reads = 0;
  const pressing = batches.map((b) => {
    if (++reads === 2) requestInterrupt();
    return b;
  });
  await assertRejects(() => evaluate(model, pressing), KeyboardInterrupt, "evaluate interrupted after");
  assertEquals(tf.memory().numTensors, before);
  const [again] = await evaluate(model, batches);
  assertEquals(again, loss);
  model.dispose();
  val.dispose();
});

Deno.test("an Interrupt pressed before a dataset iteration started is stale: the iteration runs", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const cls of ["a", "b"]) {
      Deno.mkdirSync(`${dir}/${cls}`);
      for (let i = 0; i < 2; i++) {
        const png = await tf.node.encodePng(
          tf.fill([4, 4, 3], cls === "a" ? 10 : 200, "int32") as Tensor3D,
        );
        Deno.writeFileSync(`${dir}/${cls}/${i}.png`, png);
      }
    }
    const ds = await imageDatasetFromDirectory(dir, { batchSize: 2, imageSize: [4, 4], verbose: false });
    requestInterrupt();
    let batches = 0;
    await ds.forEachAsync((b) => {
      batches++;
      tf.dispose([b.xs, b.ys!]);
    });
    assertEquals(batches, 2);
    assertEquals(interruptRequested(), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a download stops with KeyboardInterrupt between chunks and leaves no partial file", async () => {
  const cacheDir = Deno.makeTempDirSync();
  let sent = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        async pull(controller) {
          if (sent === 2) requestInterrupt(); // pressed while the download runs
          if (sent === 8) return controller.close();
          sent++;
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(new Uint8Array(1024));
        },
      }),
    ));
  try {
    const url = `http://127.0.0.1:${server.addr.port}/big.bin`;
    await assertRejects(
      () => getFile("big.bin", url, { cacheDir, progress: false }),
      KeyboardInterrupt,
      "interrupted downloading",
    );
    assert(sent < 8, `stopped early (${sent} chunks sent)`);
    assertEquals([...Deno.readDirSync(`${cacheDir}/datasets`)].map((e) => e.name), []);
  } finally {
    await server.shutdown();
    Deno.removeSync(cacheDir, { recursive: true });
  }
});
