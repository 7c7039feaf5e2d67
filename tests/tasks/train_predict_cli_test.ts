/**
 * `deno task train` then `deno task predict`, end to end as subprocesses, on a generated folder of
 * colour classes (random MobileNetV2 weights at 32×32: this checks the commands, not accuracy, which
 * `train_folder_test.ts` does).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { writeColourFolder } from "../../lib/testing/tiny.ts";
import { task } from "../_task.ts";

Deno.test("deno task train then deno task predict: table and JSON lines, a broken file skipped with exit code 1", async () => {
  await withTempDir("h13-cli-", async (tmp) => {
    const data = path.join(tmp, "shapes");
    await writeColourFolder(data, { numClasses: 4, perClass: 8, size: 32, split: 0.25 });
    const model = path.join(tmp, "model");
    const trainArgs = [
      data,
      ...["--weights", "none", "--alpha", "0.35", "--image-size", "32", "--batch-size", "8"],
      ...["--epochs", "1", "--fine-tune-epochs", "1", "--out", model],
    ];
    const train = await task("train", trainArgs);
    assertEquals(train.code, 0, train.stderr);
    assertMatch(train.stdout, /Epoch 1\/1[\s\S]*Epoch 2\/2/);
    assertMatch(train.stdout, /Classes \(4\): blue, green, red, yellow/);
    assertEquals(fs.readdirSync(model).sort(), [
      ".tl-manifest.json",
      "metadata.json",
      "model.json",
      "report.html",
      "weights.bin",
    ]);
    // It ends with what to do next, commands ready to copy.
    assertMatch(
      train.stdout,
      new RegExp(
        `\\nNext:\\n.*open ${model}/report\\.html in a browser\\n` +
          `.*deno task predict -- --model ${model} photo\\.jpg\\n.*deno task serve -- --model ${model}\\n$`,
      ),
    );

    const files = ["red/0.png", "blue/1.png"].map((f) => path.join(data, "validation", f));
    const broken = path.join(tmp, "broken.jpg");
    fs.writeFileSync(broken, "not an image");
    const table = await task("predict", ["--model", model, ...files]);
    assertEquals(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split("\n");
    assertMatch(lines[0], /^file +class +probability +next 2$/);
    assertEquals(lines.length, 3);
    assert(lines[1].startsWith(files[0]), lines[1]);
    assertMatch(lines[1], /\s(blue|green|red|yellow)\s+\d+\.\d%\s+\w+ \d+\.\d%, \w+ \d+\.\d%$/);
    // --model given a file of the model: its folder is used, and that is said.
    const byFile = await task("predict", ["--model", path.join(model, "model.json"), files[0]]);
    assertEquals(byFile.code, 0, byFile.stderr);
    const cells = (row: string) => row.split(/\s+/);
    assertEquals(cells(byFile.stdout.trim().split("\n")[1]), cells(lines[1]));
    assertEquals(
      byFile.stderr,
      `predict: --model ${path.join(model, "model.json")} is a file: using its folder ${model}\n`,
    );

    const json = await task("predict", [
      "--model",
      model,
      "--json",
      "--top",
      "4",
      files[0],
      broken,
      files[1],
    ]);
    assertEquals(json.code, 1, "a file failed");
    const rows = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((r) => r.file), [files[0], broken, files[1]]);
    assertEquals(rows[0].top.length, 4);
    const sum = rows[0].top.reduce((a: number, t: { probability: number }) => a + t.probability, 0);
    assert(Math.abs(sum - 1) < 1e-5, `4 of 4 classes sum to 1: ${sum}`);
    assertEquals(rows[0].class, rows[0].top[0].class);
    assertMatch(rows[1].error, /Cannot decode image .*broken\.jpg/);
    assertMatch(json.stderr, /predict: skipped .*broken\.jpg/);

    const jsonTrain = await task("train", [...trainArgs, "--json"]);
    assertEquals(jsonTrain.code, 0, jsonTrain.stderr);
    // One line per epoch on stderr, for both stages (not only the first).
    assertMatch(
      jsonTrain.stderr,
      /Epoch 1\/1\n\d+\/\d+ \[=+\][^\n]*\nStage 1[\s\S]*Epoch 2\/2\n\d+\/\d+ \[=+\]/,
    );
    const summary = JSON.parse(jsonTrain.stdout);
    assertEquals(summary.classNames, ["blue", "green", "red", "yellow"]);
    assertEquals(summary.out, model);
    assert(typeof summary.metrics.final.val_accuracy === "number");
  });
});

Deno.test("train and predict: --help exits 0, usage errors exit 2 naming the problem", async () => {
  const help = await task("train", ["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: deno task train -- DIR/);
  assert(!/oneDNN|InitializeLog|DEP0040|punycode/.test(help.stderr), `start-up noise: ${help.stderr}`);
  for (
    const [name, args, message] of [
      ["train", [], "train: expected the data folder DIR"],
      ["train", ["x", "--epochs", "0"], "--epochs: expected a whole number ≥ 1"],
      ["train", ["x", "--image-size", "big"], "--image-size: expected a size such as 160"],
      ["train", ["x", "--validation-split", "2"], "--validation-split: expected a fraction"],
      [
        "train",
        ["x", "--fine-tune-learning-rate", "0"],
        "--fine-tune-learning-rate: expected a number between",
      ],
      ["train", ["x", "--bogus"], "train: unknown option --bogus (see `deno task train --help`)"],
      ["train", ["x", "--epoch", "2"], "train: unknown option --epoch; did you mean `--epochs`?"],
      ["predict", ["--modle", "m", "a.jpg"], "predict: unknown option --modle; did you mean `--model`?"],
      ["predict", ["a.jpg"], "--model DIR is required"],
      ["predict", ["--model", "m"], "expected at least one FILE or FOLDER"],
    ] as const
  ) {
    const r = await task(name, [...args]);
    assertEquals(r.code, 2, `${name} ${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.includes(message), `${name} ${args.join(" ")}: ${r.stderr}`);
    assertEquals(r.stderr.trimEnd().split("\n").length, 1, `one line: ${r.stderr}`);
  }
  const missing = await task("train", ["/nonexistent/photos"]);
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /train: data: \/nonexistent\/photos does not exist/);
  const noModel = await task("predict", ["--model", "/nonexistent/model", "a.jpg"]);
  assertEquals(noModel.code, 1);
  // Whatever models/ holds here: they are listed, or there are none yet; either way, how to train one.
  assertMatch(
    noModel.stderr,
    /^predict: --model \/nonexistent\/model: no such folder; (the models under models\/: |there is no trained model under models\/ yet).*`deno task train -- DIR` trains one/,
  );
});
