/**
 * `deno task bench`: this project against Python Keras, the tutorial's workload on the same machine.
 *
 *     deno task bench [--epochs 3] [--rounds 1] [--threads] [--profile] [--experiment eager] [--no-keras] [--no-cpu]
 *     deno task bench --large 20000 [--epochs 1] [--no-keras]
 *     deno task bench --onednn both --no-cpu          # also the step times with oneDNN off and on
 *
 * Runs, each in its own process, alternating our side (`bench/train_bench.ts`) and Keras' side
 * (`tools/keras/keras_tutorial.py` in `.venv-keras`, made by `bash tools/setup/keras_venv.sh`) on the same `TL_*`
 * data and weights (default: the offline copies in `../shared`, alpha 0.35):
 * 1. the decode-only input pipeline (ours cold and cached, Keras' tf.data);
 * 2. compute-only: one training step on a fixed batch, frozen and fine-tuning;
 * 3. `--rounds` × (frozen + fine-tuning phases of `--epochs` epochs each), the order of the two sides
 *    swapped every round;
 * 4. one frozen training step of the same script on the pure-JS `cpu` backend and on the native backend
 *    (`bench/backend_step.ts`; `--cpu-finetune` adds a fine-tuning step, minutes on `cpu`);
 * 5. with `--threads`, the step times again under `TF_NUM_INTRAOP_THREADS` / `TF_NUM_INTEROP_THREADS`
 *    settings; with `--profile`, where our step's time goes, and the prototype that runs the next batch's
 *    rotation inside the step's session call (`bench/augment_overlap.ts`); with `--experiment eager`,
 *    steps and epochs of our side once more op by op (`ours+eager`), with `--experiment uncompiled` once
 *    more with tfjs' own training step instead of the compiled one (`ours+uncompiled`,
 *    lib/train/train_graph.ts), to show what each buys.
 *
 * The step-only run also measures the machine's ceiling (sustained GFLOP/s of a large matmul and
 * convolution on the native backend, `bench/flops.ts`); each phase's achieved GFLOP/s is the model's
 * FLOPs per training image × images/s, for both sides (same model, same FLOPs).
 *
 * With `--large N`, instead of 2–5: a generated folder of N training images (the training set's files
 * hard-linked under new names, `bench/large_folder.ts`) trained on for `--epochs` frozen epochs by both
 * sides with their default settings: epoch seconds, peak RSS beside our cache's memory budget.
 *
 * Every result line carries `machine` (CPU model, vector flags, cores, whether TensorFlow's oneDNN is on and
 * why; `bench/machine.ts`). By default each side runs as its users run it: ours with oneDNN on (the
 * project's default, `lib/runtime/tf.ts`), Keras as TensorFlow decides from the CPU (a
 * `TF_ENABLE_ONEDNN_OPTS` in the environment applies to both). With `--onednn on|off` every process runs
 * with `TF_ENABLE_ONEDNN_OPTS=1|0`;
 * with `--onednn both`, the step times (and `--profile`) are measured once more under each setting.
 *
 * Prints every result as a JSON line, then one `ratio` line per phase (ours/Keras, medians of the epoch
 * seconds, CPU seconds beside wall seconds) and Markdown tables; everything is written to `out/bench.json`
 * and to `bench/results/<machine kind>.json` (one file per kind of CPU, e.g. `amd-epyc_avx2.json`; the
 * latest run of that kind; `_onednn-on|off` and `_largeN` suffixes for those runs; `--no-save` skips it).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, parseOptions, UsageError, wholeNumberOption } from "../lib/cli/mod.ts";
import { machineInfo } from "./machine.ts";
import { onednnTable, profileTable } from "./tables.ts";

// Not lib/runtime's PROJECT_ROOT: that module loads TensorFlow, and `--help` must answer before setup.
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

type Row = Record<string, any>;

const HELP = `Usage: deno task bench [-- options]

Times this project against Python Keras on the tutorial's workload, on this machine: the input
pipeline, one training step, --rounds of training (frozen then fine-tuning, --epochs each), and the
native backend against plain JavaScript. Prints JSON lines, then ours/Keras ratios and a table; writes
everything to out/bench.json. Takes several minutes.

The Keras side needs .venv-keras (\`bash tools/setup/keras_venv.sh\`), else it is skipped. Data and weights:
the TL_* variables (see \`deno task run --help\`), by default the copies in ../shared (alpha 0.35).

Options:
  --epochs N         epochs per training phase (default 3)
  --rounds N         training rounds, the two sides' order swapped every round (default 1; 0: no
                     training, only the input pipeline, step times and what the other options add)
  --seed N           seed of both sides (default 1)
  --no-keras         only our side
  --no-cpu           skip the plain-JavaScript backend step
  --cpu-finetune     also a fine-tuning step on the plain-JavaScript backend (minutes)
  --threads          step times again under TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS settings
  --profile          where our training step's time goes (a table: wall and CPU ms per part), and
                     the next batch's rotation run inside the step's session call (a prototype)
  --onednn MODE      default (each side's own: ours on, as lib/runtime/tf.ts sets it; Keras as
                     TensorFlow decides from the CPU; TF_ENABLE_ONEDNN_OPTS in the environment
                     sets both), on, off, or both (step times and --profile again with
                     TF_ENABLE_ONEDNN_OPTS=0 and =1 on both sides, side by side)
  --experiment E     also our side op by op (eager) or with tfjs' own training step (uncompiled)
  --large N          instead: N generated training images, --epochs frozen epochs on both sides
  --large-dir DIR    where --large's folder is made (default: a temporary folder)
  --out FILE         default out/bench.json
  --no-save          do not also write bench/results/<machine kind>.json
  -h, --help         show this help`;

function parseBenchArgs(argv: string[]) {
  const { values } = parseOptions({
    args: argv,
    options: {
      epochs: { type: "string", default: "3" },
      rounds: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      threads: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      onednn: { type: "string", default: "default" },
      "no-save": { type: "boolean", default: false },
      "no-keras": { type: "boolean", default: false },
      "no-cpu": { type: "boolean", default: false },
      "cpu-finetune": { type: "boolean", default: false },
      experiment: { type: "string" },
      large: { type: "string" },
      "large-dir": { type: "string" },
      out: { type: "string", default: path.join(PROJECT_ROOT, "out", "bench.json") },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help" as const;
  wholeNumberOption("epochs", values.epochs, 1);
  wholeNumberOption("rounds", values.rounds, 0);
  wholeNumberOption("seed", values.seed, 0);
  wholeNumberOption("large", values.large, 1);
  if (!["default", "on", "off", "both"].includes(values.onednn)) {
    throw new UsageError(`--onednn: expected default, on, off or both, got "${values.onednn}"`);
  }
  if (values.experiment !== undefined && !["eager", "uncompiled"].includes(values.experiment)) {
    throw new UsageError(`--experiment: expected eager or uncompiled, got "${values.experiment}"`);
  }
  return values;
}

// The user's own setting, read before anything of lib/ loads: lib/runtime/tf.ts sets the variable (oneDNN on
// by default), and the Keras side must not inherit that from this process.
const userOnednn = Deno.env.get("TF_ENABLE_ONEDNN_OPTS");
const parsed = parseCommandLine("bench", HELP, () => parseBenchArgs(Deno.args));
if (typeof parsed === "number") Deno.exit(parsed);
const args = parsed;
// Loaded once the command line is known to be good: --help answers without TensorFlow or setup.
const { benchSettings, round, settingsEnv, stats, tutorialRoot } = await import("./workload.ts");
const { largeFolder } = await import("./large_folder.ts");
const epochs = Number(args.epochs);
const rounds = Number(args.rounds);

const settings = benchSettings();
/** `TF_ENABLE_ONEDNN_OPTS` forced on both sides by `--onednn on|off` or the user's environment, if any. */
const forcedOnednn = args.onednn === "on" ? "1" : args.onednn === "off" ? "0" : userOnednn;
const baseEnv = settingsEnv(settings);
/**
 * A side's `TF_ENABLE_ONEDNN_OPTS`: the forced value, else its own default — ours `1` (lib/runtime/tf.ts),
 * Keras' none (TensorFlow decides from the CPU, as for any Keras user).
 */
const onednnOf = (side: string): string | undefined => forcedOnednn ?? (side === "keras" ? undefined : "1");
/** A subprocess's whole environment: this one's, the settings, its side's oneDNN setting, then `env`. */
function sideEnv(side: string, env: Record<string, string>): Record<string, string> {
  const all: Record<string, string> = { ...Deno.env.toObject(), ...baseEnv, TF_CPP_MIN_LOG_LEVEL: "2" };
  delete all.TF_ENABLE_ONEDNN_OPTS;
  const onednn = onednnOf(side);
  if (onednn !== undefined) all.TF_ENABLE_ONEDNN_OPTS = onednn;
  return { ...all, ...env };
}
/** The machine as a subprocess sees it (its oneDNN setting included). */
const envOf = (env: Record<string, string>) => ({ get: (k: string) => env[k] });
const machine = machineInfo(envOf(sideEnv("ours", {})));
const kerasMachine = machineInfo(envOf(sideEnv("keras", {})));
const python = path.join(PROJECT_ROOT, ".venv-keras", "bin", "python");
const haveKeras = !args["no-keras"] && fs.existsSync(python);
if (!args["no-keras"] && !haveKeras) {
  console.error(`No ${python}: Keras side skipped (create it with \`bash tools/setup/keras_venv.sh\`).`);
}
const results: Row[] = [];
/** `--experiment eager|uncompiled`: also run our side op by op / with tfjs' own step (see train_bench.ts). */
const exp = args.experiment ? ["--experiment", args.experiment] : [];

/** The script of each of our sides. */
const SCRIPTS = {
  ours: "train_bench.ts",
  backend: "backend_step.ts",
  overlap: "augment_overlap.ts",
} as const;

/** Runs one side as a subprocess; returns its JSON lines (stderr goes to ours). */
async function run(
  side: "ours" | "keras" | "backend" | "overlap",
  argv: string[],
  env: Record<string, string> = {},
) {
  const [cmd, pre] = side === "keras"
    ? [python, [path.join(PROJECT_ROOT, "tools", "keras", "keras_tutorial.py")]]
    : [Deno.execPath(), [
      "run",
      "-A",
      path.join(PROJECT_ROOT, "bench", SCRIPTS[side]),
    ]];
  const started = performance.now();
  const out = await new Deno.Command(cmd, {
    args: [...pre, ...argv],
    env: sideEnv(side, env),
    clearEnv: true,
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    // Its own error is on stderr already (inherited): no stack trace of ours on top.
    console.error(`bench: ${side} ${argv.join(" ")} failed (exit ${out.code}):\n${text.slice(-2000)}`);
    Deno.exit(1);
  }
  const rows = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Row);
  const experiment = argv.includes("--experiment") ? argv[argv.indexOf("--experiment") + 1] : undefined;
  for (const r of rows) {
    if (env.TF_ENABLE_ONEDNN_OPTS !== undefined) r.onednn_env = env.TF_ENABLE_ONEDNN_OPTS;
    else if (Object.keys(env).length) r.threads_env = env;
    r.machine = machineInfo(envOf(sideEnv(side, env)));
    if (experiment && r.side === "ours") r.side = `ours+${experiment}`;
    results.push(r);
    console.log(JSON.stringify(r));
  }
  console.error(`[bench] ${side} ${argv.join(" ")}: ${((performance.now() - started) / 1e3).toFixed(0)}s`);
  return rows;
}

const loadStart = Deno.loadavg();
const oneDnnState = `oneDNN ours ${machine.onednn ? "on" : "off"} (${machine.onednnReason}), Keras ${
  kerasMachine.onednn ? "on" : "off"
} (${kerasMachine.onednnReason})`;
console.error(
  `[bench] ${machine.cpuModel} (${machine.vectorFlags.join(" ")}), ${oneDnnState}; ` +
    `${navigator.hardwareConcurrency} CPUs, load ${loadStart.map((l) => l.toFixed(2)).join(" ")}; ` +
    `alpha ${settings.alpha}, data ${settings.dataUrl}, weights ${settings.weightsUrl ?? "imagenet"}`,
);

// 1. Input pipeline alone.
await run("ours", ["--decode-only", "--seed", args.seed!]);
if (haveKeras) await run("keras", ["--decode-only", "--seed", args.seed!]);

// With --large: a generated large folder, trained on by both sides (instead of 2–5).
const large = args.large === undefined ? undefined : Number(args.large);
if (large !== undefined) {
  const dir = largeFolder(await tutorialRoot(settings), large, args["large-dir"]);
  const argv = ["--epochs", String(epochs), "--phase", "frozen", "--seed", args.seed!, "--data-dir", dir];
  await run("ours", argv);
  if (haveKeras) await run("keras", [...argv, "--no-test"]);
}

// 2. Compute only.
if (large === undefined) await run("ours", ["--step-only", "--seed", args.seed!]);
if (haveKeras && large === undefined) await run("keras", ["--step-only", "--seed", args.seed!]);
if (exp.length && large === undefined) await run("ours", ["--step-only", "--seed", args.seed!, ...exp]);

// 3. Training, alternating.
for (let r = 0; r < (large === undefined ? rounds : 0); r++) {
  const order = r % 2 === 0 ? ["ours", "keras"] as const : ["keras", "ours"] as const;
  for (const side of order) {
    if (side === "ours") {
      await run("ours", ["--epochs", String(epochs), "--seed", args.seed!]);
      if (exp.length) await run("ours", ["--epochs", String(epochs), "--seed", args.seed!, ...exp]);
    } else if (haveKeras) {
      await run("keras", ["--epochs", String(epochs), "--phase", "both", "--no-test", "--seed", args.seed!]);
    }
  }
}

// 4. What the native backend buys.
if (!args["no-cpu"] && large === undefined) {
  const phases = args["cpu-finetune"] ? "frozen,finetune" : "frozen";
  await run("backend", ["--backend", "tensorflow", "--phases", phases]);
  await run("backend", ["--backend", "cpu", "--phases", phases]);
}

// 5. Threads and profile.
if (args.threads && large === undefined) {
  for (const [intra, inter] of [["1", "1"], ["2", "1"], ["1", "2"], ["2", "2"]]) {
    const env = { TF_NUM_INTRAOP_THREADS: intra, TF_NUM_INTEROP_THREADS: inter };
    await run("ours", ["--step-only", "--seed", args.seed!], env);
    if (haveKeras) await run("keras", ["--step-only", "--seed", args.seed!], env);
  }
}
// With --onednn both, the profile runs below, once per setting.
if (args.profile && large === undefined && args.onednn !== "both") {
  await run("ours", ["--profile", "--seed", args.seed!]);
  await run("overlap", []); // the next batch's augmentation inside the step's session call: a prototype
}
// oneDNN off and on, side by side (TensorFlow reads the variable once, at start: one process each).
if (args.onednn === "both" && large === undefined) {
  for (const value of ["0", "1"]) {
    const env = { TF_ENABLE_ONEDNN_OPTS: value };
    await run("ours", ["--step-only", "--seed", args.seed!], env);
    if (haveKeras) await run("keras", ["--step-only", "--seed", args.seed!], env);
    if (args.profile) await run("ours", ["--profile", "--seed", args.seed!], env);
    if (args.profile) await run("overlap", [], env);
  }
}

// Summary: per side and phase, pooled over rounds.
const epochRows = (side: string, phase: string) =>
  results.filter((r) => r.kind === "epoch" && r.side === side && r.phase === phase);
const stepRow = (side: string, phase: string) =>
  results.find((r) =>
    r.kind === "step" && r.side === side && r.phase === phase && !r.threads_env && r.onednn_env === undefined
  );
/** The model's training FLOPs per image in a phase (the same model on both sides), GFLOP. */
const gflop = (phase: string): number | undefined =>
  results.find((r) => r.side === "ours" && r.phase === phase && typeof r.gflop_per_image === "number")
    ?.gflop_per_image;
const ceiling = results.find((r) => r.kind === "ceiling");
const summary: Row[] = [];
for (const phase of ["frozen", "finetune"]) {
  const line: Row = { kind: "ratio", phase };
  const sides = ["ours", ...(exp.length ? [`ours+${args.experiment}`] : []), "keras"];
  for (const side of sides) {
    const rows = epochRows(side, phase);
    if (rows.length === 0) {
      // --rounds 0: the step times alone.
      const step = stepRow(side, phase);
      if (step) {
        line[side] = { step_seconds: step.median_seconds, step_cpu_seconds: step.cpu_seconds_per_step };
      }
      continue;
    }
    const s = stats(rows.map((r) => r.seconds));
    const t = stats(rows.map((r) => r.train_seconds));
    line[side] = {
      epochs: rows.length,
      median_epoch_seconds: s.median,
      min_epoch_seconds: s.min,
      max_epoch_seconds: s.max,
      median_train_seconds: t.median,
      median_cpu_seconds: stats(rows.map((r) => r.cpu_seconds)).median,
      train_images_per_second: round(rows[0].train_images_per_second * rows[0].train_seconds / t.median, 1),
      train_gflops: gflop(phase) === undefined
        ? undefined
        : round(gflop(phase)! * rows[0].train_images_per_second * rows[0].train_seconds / t.median, 1),
      peak_rss_mb: Math.max(...rows.map((r) => r.peak_rss_mb ?? 0)),
      step_seconds: stepRow(side, phase)?.median_seconds,
      step_cpu_seconds: stepRow(side, phase)?.cpu_seconds_per_step,
      step_gflops: gflop(phase) === undefined || !stepRow(side, phase)
        ? undefined
        : round(gflop(phase)! * stepRow(side, phase)!.batch_size / stepRow(side, phase)!.median_seconds, 1),
    };
  }
  for (const side of sides.filter((x) => x.startsWith("ours") && line[x] && line.keras)) {
    const suffix = side === "ours" ? "" : `_${side.slice(5)}`;
    line[`epoch_ratio${suffix}`] = round(
      line[side].median_epoch_seconds / line.keras.median_epoch_seconds,
      3,
    );
    line[`train_ratio${suffix}`] = round(
      line[side].median_train_seconds / line.keras.median_train_seconds,
      3,
    );
    if (line[side].step_seconds && line.keras.step_seconds) {
      line[`step_ratio${suffix}`] = round(line[side].step_seconds / line.keras.step_seconds, 3);
    }
    if (line[side].median_cpu_seconds && line.keras.median_cpu_seconds) {
      line[`cpu_ratio${suffix}`] = round(line[side].median_cpu_seconds / line.keras.median_cpu_seconds, 3);
    }
    if (line[side].step_cpu_seconds && line.keras.step_cpu_seconds) {
      line[`step_cpu_ratio${suffix}`] = round(line[side].step_cpu_seconds / line.keras.step_cpu_seconds, 3);
    }
  }
  summary.push(line);
  console.log(JSON.stringify(line));
}
const loadEnd = Deno.loadavg();

const fmt = (x: unknown, d = 2) => typeof x === "number" ? x.toFixed(d) : "–";
const table = [
  "| phase | side | epoch s, median (min–max) | training part s | ours/Keras epoch | CPU s per epoch | ours/Keras CPU | step s (CPU s) | ours/Keras step (CPU) | GFLOP/s training part · step | peak RSS MB |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...summary.flatMap((l) =>
    Object.entries(l).filter(([, v]) => typeof v === "object").map(([side, v]) => {
      const k = l.keras;
      const ratio = (a?: number, b?: number) => (side === "keras" || !a || !b ? "" : fmt(a / b));
      return `| ${l.phase} | ${side} | ${fmt(v.median_epoch_seconds, 1)} (${fmt(v.min_epoch_seconds, 1)}–${
        fmt(v.max_epoch_seconds, 1)
      }) | ${fmt(v.median_train_seconds, 1)} | ${ratio(v.median_epoch_seconds, k?.median_epoch_seconds)} | ${
        fmt(v.median_cpu_seconds, 1)
      } | ${ratio(v.median_cpu_seconds, k?.median_cpu_seconds)} | ${fmt(v.step_seconds, 3)} (${
        fmt(v.step_cpu_seconds, 3)
      }) | ${ratio(v.step_seconds, k?.step_seconds)}${
        side === "keras" ? "" : ` (${ratio(v.step_cpu_seconds, k?.step_cpu_seconds)})`
      } | ${fmt(v.train_gflops, 1)} · ${fmt(v.step_gflops, 1)} | ${fmt(v.peak_rss_mb, 0)} |`;
    })
  ),
];
table.push("", ...profileTable(results), "", ...onednnTable(results));
const decode = (side: string) => results.find((r) => r.kind === "decode" && r.side === side);
const cpu = results.filter((r) => r.kind === "backend_step");
const extra = [
  ...(ceiling
    ? [
      `machine ceiling (native backend, this run): ${fmt(ceiling.ceiling_gflops, 1)} GFLOP/s (2048² matmul ${
        fmt(ceiling.matmul_gflops, 1)
      }, 3×3 conv ${fmt(ceiling.conv_gflops, 1)}); training FLOPs per image: frozen ${
        fmt(gflop("frozen"), 4)
      } GFLOP, fine-tuning ${fmt(gflop("finetune"), 4)} GFLOP`,
    ]
    : []),
  `decode-only images/s: ours ${fmt(decode("ours")?.images_per_second, 0)} cold, ${
    fmt(decode("ours")?.cached_images_per_second, 0)
  } cached, ${fmt(decode("ours")?.stream_images_per_second, 0)} without a cache; Keras tf.data ${
    fmt(decode("keras")?.images_per_second, 0)
  }; per CPU second: ours ${fmt(decode("ours")?.images_per_cpu_second, 0)} filling the cache, ${
    fmt(decode("ours")?.stream_images_per_cpu_second, 0)
  } without one, Keras ${fmt(decode("keras")?.images_per_cpu_second, 0)} (ours/Keras ${
    fmt(decode("keras") && decode("ours")?.images_per_cpu_second / decode("keras")!.images_per_cpu_second)
  })`,
  ...cpu.map((r) => `one ${r.phase} step, ${r.label}: ${fmt(r.median_seconds, 3)} s`),
  ...results.filter((r) => r.kind === "augment_overlap").map((r) =>
    `next batch's rotation beside the frozen forward pass${
      r.onednn_env === undefined ? "" : ` (TF_ENABLE_ONEDNN_OPTS=${r.onednn_env})`
    }: one after the other ${fmt(r.sequential.wall_ms_median, 1)} ms (CPU ${
      fmt(r.sequential.cpu_ms_per_step, 1)
    }), in one session call ${fmt(r.fused.wall_ms_median, 1)} ms (CPU ${fmt(r.fused.cpu_ms_per_step, 1)})`
  ),
  ...(large === undefined ? [] : ["ours", "keras"].flatMap((side) => {
    const rows = epochRows(side, "frozen");
    if (rows.length === 0) return [];
    const budget = rows.at(-1)!.cache_budget_mb;
    return [
      `large folder, ${large} training images, ${side}: epoch ${
        rows.map((r) => fmt(r.seconds, 1)).join(", ")
      } s (train ${rows.map((r) => fmt(r.train_images_per_second, 0)).join(", ")} images/s), peak RSS ${
        fmt(Math.max(...rows.map((r) => r.peak_rss_mb ?? 0)), 0)
      } MB${
        budget === undefined
          ? ""
          : `, cache budget ${fmt(budget, 0)} MB, cache ${fmt(rows.at(-1)!.cache_mb, 0)} MB`
      }`,
    ];
  })),
  `machine: ${machine.cpuModel}, ${machine.vendor}, flags ${
    machine.vectorFlags.join(" ")
  }, ${machine.cores} cores; ` +
  `${oneDnnState}; TensorFlow ${
    results.find((r) => r.environment?.tensorflow)?.environment.tensorflow ?? "?"
  }, tfjs ${results.find((r) => r.environment?.tfjs)?.environment.tfjs ?? "?"}`,
  `${navigator.hardwareConcurrency} CPUs; load average ${
    loadStart.map((l) => l.toFixed(2)).join(" ")
  } at start, ${loadEnd.map((l) => l.toFixed(2)).join(" ")} at end`,
];
console.error(["", ...table, "", ...extra].join("\n"));

const report = JSON.stringify(
  {
    machine,
    settings,
    epochs,
    rounds,
    large,
    onednn: args.onednn,
    loadStart,
    loadEnd,
    ceiling,
    summary,
    table,
    results,
  },
  null,
  1,
);
const outputs = [args.out!];
if (!args["no-save"]) {
  // A forced oneDNN setting is another configuration of the same machine: its own file.
  const forced = args.onednn === "on" || args.onednn === "off" ? `_onednn-${args.onednn}` : "";
  const name = `${machine.kind}${forced}${large === undefined ? "" : `_large${large}`}.json`;
  outputs.push(path.join(PROJECT_ROOT, "bench", "results", name));
}
for (const file of outputs) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, report);
  fs.renameSync(`${file}.tmp`, file);
  console.error(`[bench] wrote ${file}`);
}
