/**
 * `deno task train -- DIR`: the tutorial's two training stages on your own images — a folder of class
 * folders (or with `train/` and `validation/` inside), or a zip archive's path or URL — saved as
 * `models/<name>/` (model, `metadata.json`, `report.html`). A thin command line over `lib/tasks/train_folder.ts`;
 * the `TL_*` settings are read here and passed on.
 *
 * @module
 */
import path from "node:path";
import {
  parseCommandLine,
  parseOptions,
  runTool,
  shownPath,
  UsageError,
  userPath,
  userSource,
  wholeNumberOption,
} from "../../lib/cli/mod.ts";
// Types only: the training code (TensorFlow) is imported once the command line is known to be good.
import type { TrainFolderOptions } from "../../lib/tasks/mod.ts";

const HELP = `Usage: deno task train -- DIR [options]

Trains an image classifier on DIR, the tutorial's way: MobileNetV2 pre-trained on ImageNet, frozen while a
new head trains, then fine-tuned. DIR is a folder of class folders (DIR/<class>/*.jpg), or holds
DIR/train/<class>/ and DIR/validation/<class>/; it may also be a .zip archive's path or URL.
Without DIR/validation, a seeded --validation-split of DIR is held out.

Writes OUT/model.json + weights.bin (TensorFlow.js layers format), OUT/metadata.json and OUT/report.html
(learning curves, confusion matrix, top losses), all at once.

Options:
  --epochs N            epochs with the base frozen (default 10)
  --fine-tune-epochs N  fine-tuning epochs after those (default: --epochs; 0 skips fine-tuning)
  --fine-tune-at N      base layers before N stay frozen while fine-tuning (default 100)
  --alpha A             MobileNetV2 width multiplier (default TL_ALPHA or 1.0)
  --weights W           base weights: a .h5 path or URL, "imagenet" (default: TL_WEIGHTS_URL, else Keras'
                        URL for the alpha and size) or "none" (random, for tests)
  --image-size S        input size: 224 or 160x120 (height x width; default 224, the ImageNet weights'
                        size; the tutorial's 160 takes about half the time)
  --batch-size N        default 32
  --learning-rate R     Adam's rate while the base is frozen (default 0.001, Keras' default)
  --fine-tune-learning-rate R
                        RMSprop's rate while fine-tuning (default 0.00001, the tutorial's)
  --validation-split F  held-out fraction when DIR has no validation/ folder (default 0.2)
  --seed N              seed of shuffles, split, augmentation and initial weights (default 42)
  --out DIR             output folder (default models/<data folder name>): new, empty or written by an
                        earlier train — a folder holding anything else is refused before training
  --force               if --out holds anything else, move that folder aside to DIR.old-<time> first
                        (nothing is deleted)
  --keep best|last      which epoch's weights are saved: the one with the lowest validation loss over
                        both stages (best, the default) or the last one run; metadata.json, the report
                        and the summary say which epoch was kept and why
  --early-stopping      stop a stage when its validation loss has not improved for --patience epochs
  --patience N          with --early-stopping: epochs without improvement before stopping (default 3)
  --class-weight balanced|none
                        weight each class's loss by n / (classes × its images) (balanced) or not (none);
                        default: balanced when the largest class has ≥ 3× the images of the smallest
  --find-lr             do not train: run the learning-rate finder (fastai's lr_find) on the frozen
                        stage, print the suggested --learning-rate and draw the loss against the rate
                        as OUT.lr-find.svg beside the output folder
  --deterministic       two runs with the same settings end with identical weights: seeded random
                        numbers, TensorFlow's deterministic kernels and fixed thread pools (no cost
                        measured above the noise: docs/training.md)
  --resume              continue the run whose checkpoint is in OUT.checkpoint/ (written beside the output
                        folder at the end of every epoch, removed once the model is saved), with the same
                        DIR and options: finished epochs are not run again, and the run ends with the
                        same model (with --deterministic: identical weights). Ctrl-C stops training
                        after the current batch, writes the checkpoint at that batch (--resume goes on
                        from the next one) and prints the command that resumes it
  --no-review           skip the review after training (the report's photos to fix, near-duplicates and
                        map of the data: one pass of the model over the training and validation images)
  --skip-empty-classes  leave out, with a warning, a class folder without images (empty, or holding only
                        other files) instead of stopping with an error
  --json                print a JSON summary on stdout (progress goes to stderr)
  --verbose             also say how the decoded-image cache's memory budget was chosen
  -h, --help            show this help

Exit codes: 0 saved; 1 failed (the message says why); 2 bad command line, or --resume without a checkpoint
or with one of another run (the message names what differs); 130 stopped by Ctrl-C.

Paths (DIR, --out, --weights) are taken from the folder you type the command in; the paths of the
TL_* settings (TL_WEIGHTS_URL, TL_CACHE_DIR, TL_MIRROR) from the project's root.

Defaults: for a folder of a few hundred photos, not the tutorial's 2,000. The tutorial's 160x160 and
Adam at 0.0001 leave the head far from trained after 10 epochs of so few steps: on 500 flower photos
(5 classes, MobileNetV2 alpha 0.35) they reach 46 % validation accuracy frozen and 71 % fine-tuned;
224x224 and 0.001 reach 81-84 % and 82 %, in about twice the CPU time. On the tutorial's 2,000 cats
and dogs: 92 % and 95 % with the tutorial's settings, 97.6 % and 97.7 % with these.
--learning-rate 0.0001 --image-size 160 gives the tutorial's settings.

Example:
  deno task train -- ../shared/data/flower_photos_small.zip --alpha 0.35 \\
    --weights ../shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5
  deno task predict -- --model models/flower_photos_small photo.jpg
`;

function parseImageSize(raw: string | undefined): [number, number] | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(?:[x×,](\d+))?$/.exec(raw.trim());
  const size = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (!m || size.some((d) => d < 8)) {
    throw new UsageError(`--image-size: expected a size such as 160 or 160x120 (≥ 8 pixels), got "${raw}"`);
  }
  return size as [number, number];
}

/** The parsed command line of `deno task train`. */
export interface TrainArgs {
  /** The training options the command line sets (the settings from the environment come later). */
  options: TrainFolderOptions;
  /** `--json`: a JSON summary on stdout, progress on stderr. */
  json: boolean;
  /** `--verbose`: also the dataset's cache budget. */
  verbose: boolean;
  /** `--find-lr`: run the learning-rate finder instead of training. */
  findLr: boolean;
}

/** The options `deno task train` takes. */
const TRAIN_OPTIONS = {
  epochs: { type: "string" },
  "fine-tune-epochs": { type: "string" },
  "fine-tune-at": { type: "string" },
  alpha: { type: "string" },
  weights: { type: "string" },
  "image-size": { type: "string" },
  "batch-size": { type: "string" },
  "learning-rate": { type: "string" },
  "fine-tune-learning-rate": { type: "string" },
  "validation-split": { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  force: { type: "boolean" },
  json: { type: "boolean" },
  verbose: { type: "boolean" },
  "skip-empty-classes": { type: "boolean" },
  keep: { type: "string" },
  "early-stopping": { type: "boolean" },
  patience: { type: "string" },
  "class-weight": { type: "string" },
  deterministic: { type: "boolean" },
  "find-lr": { type: "boolean" },
  resume: { type: "boolean" },
  "no-review": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** A number option strictly between 0 and 1, `undefined` when absent; else a usage error. */
function fractionOption(name: string, raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const r = Number(raw);
  if (!(r > 0 && r < 1)) throw new UsageError(`--${name}: expected ${what} between 0 and 1, got "${raw}"`);
  return r;
}

/** `--NAME`'s value, one of `choices` (`undefined` when absent); else a usage error listing them. */
function choiceOption<T extends string>(
  name: string,
  raw: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T)) {
    throw new UsageError(`--${name}: expected ${choices.join(" or ")}, got "${raw}"`);
  }
  return raw as T;
}

/** The steering options: `--keep`, `--early-stopping [--patience N]`, `--class-weight`. */
function steeringOptions(v: Record<string, string | boolean | undefined>): Partial<TrainFolderOptions> {
  const patience = wholeNumberOption("patience", v.patience as string | undefined, 0);
  if (patience !== undefined && !v["early-stopping"]) {
    throw new UsageError("--patience needs --early-stopping (add it, or leave out --patience)");
  }
  const keep = choiceOption("keep", v.keep as string | undefined, ["best", "last"] as const);
  const classWeight = choiceOption(
    "class-weight",
    v["class-weight"] as string | undefined,
    [
      "balanced",
      "none",
    ] as const,
  );
  return {
    ...(keep ? { keep } : {}),
    ...(v["early-stopping"] ? { earlyStopping: { patience: patience ?? DEFAULT_PATIENCE } } : {}),
    ...(classWeight ? { classWeight } : {}),
    ...(v.deterministic ? { deterministic: true } : {}),
  };
}

/** `--early-stopping`'s patience without `--patience`. */
const DEFAULT_PATIENCE = 3;

/** `deno task train`'s command line, checked; `"help"` for `--help`. */
export function parseTrainArgs(args: string[]): TrainArgs | "help" {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: TRAIN_OPTIONS });
  if (v.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "expected the data folder DIR"
        : `expected one DIR, got ${positionals.join(" ")}`,
    );
  }
  const alpha = v.alpha === undefined ? undefined : Number(v.alpha);
  if (alpha !== undefined && !(alpha > 0)) {
    throw new UsageError(`--alpha: expected a positive width multiplier, got "${v.alpha}"`);
  }
  const validationSplit = fractionOption("validation-split", v["validation-split"], "a fraction");
  if (v.resume && v["find-lr"]) {
    throw new UsageError("--resume and --find-lr do not go together: --find-lr trains nothing to resume");
  }
  return {
    json: v.json ?? false,
    verbose: v.verbose ?? false,
    findLr: v["find-lr"] ?? false,
    options: {
      data: userSource(positionals[0]),
      epochs: wholeNumberOption("epochs", v.epochs, 1),
      fineTuneEpochs: wholeNumberOption("fine-tune-epochs", v["fine-tune-epochs"], 0),
      fineTuneAt: wholeNumberOption("fine-tune-at", v["fine-tune-at"], 0),
      alpha,
      weights: v.weights === undefined || v.weights === "imagenet"
        ? v.weights
        : v.weights === "none"
        ? null
        : userSource(v.weights),
      imageSize: parseImageSize(v["image-size"]),
      batchSize: wholeNumberOption("batch-size", v["batch-size"], 1),
      learningRate: fractionOption("learning-rate", v["learning-rate"], "a number"),
      fineTuneLearningRate: fractionOption(
        "fine-tune-learning-rate",
        v["fine-tune-learning-rate"],
        "a number",
      ),
      validationSplit,
      seed: wholeNumberOption("seed", v.seed, 0),
      out: v.out === undefined ? undefined : userPath(v.out),
      ...(v.force ? { force: true } : {}),
      ...(v["skip-empty-classes"] ? { skipEmptyClasses: true } : {}),
      ...(v.resume ? { resume: true } : {}),
      ...(v["no-review"] ? { review: false } : {}),
      ...steeringOptions(v),
    },
  };
}

/** What to do with the model just saved in `outDir`: commands to copy, each after what it is for. */
export function nextSteps(outDir: string): string {
  const dir = shownPath(outDir);
  return [
    "",
    "Next:",
    `  how it learned:     open ${path.join(dir, "report.html")} in a browser`,
    `  classify photos:    deno task predict -- --model ${dir} photo.jpg`,
    `  in a web page:      deno task serve -- --model ${dir}`,
  ].join("\n");
}

/**
 * The run's settings (`TL_*`) for what the command line left open: the alpha (`--alpha`, else `TL_ALPHA`,
 * else the alpha of the ImageNet weights at hand — offline, the mirror's), where the ImageNet weights come
 * from (`TL_WEIGHTS_URL`), the mirror (`TL_MIRROR`) and the download cache (`TL_CACHE_DIR`).
 */
async function withSettings(options: TrainFolderOptions): Promise<TrainFolderOptions> {
  const { loadConfig } = await import("../../lib/runtime/mod.ts");
  const { imagenetAlpha } = await import("../../lib/model/mod.ts");
  const { FOLDER_DEFAULTS } = await import("../../lib/tasks/mod.ts");
  const config = loadConfig();
  const imagenet = options.weights === undefined || options.weights === "imagenet";
  const rows = (options.imageSize ?? FOLDER_DEFAULTS.imageSize)[0];
  const alpha = options.alpha ?? (imagenet ? await imagenetAlpha(config, { rows }) : config.alpha);
  return {
    ...options,
    alpha,
    ...(config.weightsUrl !== undefined ? { weightsUrl: config.weightsUrl } : {}),
    mirror: config.mirror ?? null,
    cacheDir: config.cacheDir,
  };
}

/** `--find-lr`: the finder's suggestion, printed (or as JSON), and where its curve is. */
async function findLr(options: TrainFolderOptions, json: boolean): Promise<number> {
  const { findFolderLearningRate } = await import("../../lib/tasks/mod.ts");
  const { result, svgFile } = await findFolderLearningRate(options);
  const { suggestion, steep, minimum, diverged } = result;
  if (json) {
    console.log(JSON.stringify({ suggestion, steep, minimum, diverged, curve: svgFile }));
    return 0;
  }
  const rate = (r: number | undefined) => r === undefined ? "none" : r.toExponential(2);
  console.log(
    [
      `Suggested learning rate: ${rate(suggestion)} (fastai's "valley"; steepest descent ${rate(steep)}, ` +
      `a tenth of the lowest loss's ${rate(minimum)})`,
      `Curve: ${shownPath(svgFile)}`,
      ...(suggestion === undefined ? [] : [
        `Train with it: deno task train -- ${
          /^[a-z]+:\/\//i.test(options.data) ? options.data : shownPath(options.data)
        } --learning-rate ${rate(suggestion)}`,
      ]),
    ].join("\n"),
  );
  return 0;
}

/** The command that resumes a run started with `args`: the same arguments, with `--resume`. */
export function resumeCommand(args: string[]): string {
  const quote = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
  const kept = args.filter((a) => a !== "--resume" && a !== "--");
  return ["deno task train --", ...kept.map(quote), "--resume"].join(" ");
}

/**
 * Runs `train` with Ctrl-C steered: the first stops training after the current batch (its checkpoint is
 * written there), a second one ends the process at once (exit 130; the last checkpoint written stays).
 */
async function interruptible<T>(train: () => Promise<T>): Promise<T> {
  const { requestInterrupt } = await import("../../lib/runtime/mod.ts");
  let presses = 0;
  const onSigint = () => {
    if (++presses > 1) Deno.exit(130);
    requestInterrupt();
    console.error("\nStopping after the current batch… (Ctrl-C again stops at once)");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    return await train();
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

/** What to print when Ctrl-C stopped training: where, the checkpoint kept, and the command that resumes it. */
function interruptedMessage(
  e: { message: string; checkpointDir: string | null; checkpointAt: string | null },
) {
  if (e.checkpointDir === null) {
    return `${e.message}\nNo checkpoint was written, so there is nothing to resume: run the same command to start again.`;
  }
  return `${e.message}\nThe checkpoint at ${e.checkpointAt} is in ${shownPath(e.checkpointDir)}. ` +
    `Resume with:\n  ${resumeCommand(Deno.args)}`;
}

/** `trainFolder` under Ctrl-C: an interrupt exits 130 with the resume command; a refused resume is a usage error. */
async function trainInterruptibly(options: TrainFolderOptions) {
  const { trainFolder, ResumeRefused, TrainInterrupted } = await import("../../lib/tasks/mod.ts");
  try {
    return await interruptible(() => trainFolder(options));
  } catch (e) {
    if (e instanceof TrainInterrupted) {
      console.error(interruptedMessage(e));
      return 130;
    }
    if (e instanceof ResumeRefused) throw new UsageError(e.message);
    throw e;
  }
}

async function main(): Promise<number> {
  const parsed = parseCommandLine("train", HELP, () => parseTrainArgs(Deno.args));
  if (typeof parsed === "number") return parsed;
  const { json, verbose } = parsed;
  const { lineSink } = await import("../../lib/train/mod.ts");
  const options = await withSettings(parsed.options);
  const toStderr = (m: string) => console.error(m);
  if (parsed.findLr) {
    return await findLr({ ...options, ...(json ? { log: toStderr, datasetMessages: false } : {}) }, json);
  }
  const result = await trainInterruptibly({
    ...options,
    datasetMessages: verbose ? "details" : true,
    ...(json
      ? {
        log: toStderr,
        progressSink: () => lineSink(toStderr),
        verbose: 2 as const,
        datasetMessages: false,
      }
      : {}),
  });
  if (typeof result === "number") return result;
  const m = result.metadata;
  if (json) {
    console.log(JSON.stringify({
      out: result.outDir,
      classNames: m.classNames,
      imageSize: m.imageSize,
      metrics: m.metrics,
      stages: m.training?.stages,
      kept: m.training?.kept,
      earlyStopping: m.training?.earlyStopping,
      classWeight: m.training?.classWeight,
    }));
  } else console.log(nextSteps(result.outDir));
  result.model.optimizer.dispose();
  result.model.dispose();
  return 0;
}

if (import.meta.main) await runTool("train", main);
