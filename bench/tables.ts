/**
 * The bench's Markdown tables beyond the main one: where a step's time goes (`--profile`) and the step
 * times with TensorFlow's oneDNN off and on (`--onednn both`). Both read the JSON result lines.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;

const fmt = (x: unknown, d = 1) => typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "–";

/** What each `profile` field measures, in the order the table lists them. */
const PROFILE_PARTS: [string, string][] = [
  ["compiled_step_ms", "compiled step (the default): augmentation + one session call"],
  ["augmentation_ms", "  augmentation alone (RandomFlip + RandomRotation, eager)"],
  ["compiled_graph_call_ms", "  session call: forward + backward + optimizer + metrics (difference)"],
  ["train_on_batch_ms", "tfjs' own step (op by op around the frozen graph)"],
  ["forward_ms", "  forward, training (augmentation included)"],
  ["forward_without_augmentation_ms", "  forward without augmentation (difference)"],
  ["base_forward_inference_ms", "  the base alone, inference (frozen graph)"],
  ["backward_ms", "  backward (difference)"],
  ["optimizer_ms", "  optimizer update"],
  ["metrics_ms", "  loss + accuracy"],
  ["copy_in_ms", "JS → native copy of one batch (3.3 MB)"],
  ["read_back_loss_ms", "one tiny op + read-back (call overhead)"],
];

/** `--profile`: one table per oneDNN setting, wall and CPU ms per part, frozen and fine-tuning. */
export function profileTable(results: Row[]): string[] {
  const profiles = results.filter((r) => r.kind === "profile");
  const settings = [...new Set(profiles.map((r) => r.onednn_env ?? "default"))];
  return settings.flatMap((setting) => {
    const of = (phase: string) =>
      profiles.find((r) => r.phase === phase && (r.onednn_env ?? "default") === setting);
    const [frozen, finetune] = [of("frozen"), of("finetune")];
    const oneDnn = setting === "default" ? "as TensorFlow decides" : `TF_ENABLE_ONEDNN_OPTS=${setting}`;
    const kernels = (r?: Row) =>
      (r?.top_kernels ?? []).slice(0, 5).map((k: Row) => `${k.name} ${fmt(k.ms)} ms`).join(", ");
    return [
      `Where a step's time goes (batch ${
        frozen?.batch_size ?? "?"
      }, oneDNN ${oneDnn}; ms per step, CPU ms = both cores):`,
      "",
      "| part | frozen wall ms | frozen CPU ms | fine-tuning wall ms | fine-tuning CPU ms |",
      "| --- | --- | --- | --- | --- |",
      ...PROFILE_PARTS.map(([key, label]) =>
        `| ${label} | ${fmt(frozen?.[key])} | ${fmt(frozen?.cpu_ms?.[key])} | ${fmt(finetune?.[key])} | ${
          fmt(finetune?.cpu_ms?.[key])
        } |`
      ),
      "",
      `tfjs' own step, top kernels: frozen ${kernels(frozen)}; fine-tuning ${kernels(finetune)}`,
      `eager kernels left in the compiled step: frozen ${frozen?.compiled_kernel_calls ?? "–"}, fine-tuning ${
        finetune?.compiled_kernel_calls ?? "–"
      } (all of them the augmentation)`,
      "",
    ];
  });
}

/** `--onednn both`: each side's step with oneDNN off and on, wall (CPU) seconds and on/off ratios. */
export function onednnTable(results: Row[]): string[] {
  const steps = results.filter((r) => r.kind === "step" && r.onednn_env !== undefined);
  if (steps.length === 0) return [];
  const lines = [
    "One training step with oneDNN off and on (TF_ENABLE_ONEDNN_OPTS=0 / 1), s per step, wall (CPU):",
    "",
    "| side | phase | oneDNN off | oneDNN on | on/off wall | on/off CPU |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const side of ["ours", "keras"]) {
    for (const phase of ["frozen", "finetune"]) {
      const at = (v: string) => steps.find((r) => r.side === side && r.phase === phase && r.onednn_env === v);
      const [off, on] = [at("0"), at("1")];
      if (!off || !on) continue;
      lines.push(
        `| ${side} | ${phase} | ${fmt(off.median_seconds, 3)} (${fmt(off.cpu_seconds_per_step, 3)}) | ${
          fmt(on.median_seconds, 3)
        } (${fmt(on.cpu_seconds_per_step, 3)}) | ${fmt(on.median_seconds / off.median_seconds, 2)} | ${
          fmt(on.cpu_seconds_per_step / off.cpu_seconds_per_step, 2)
        } |`,
      );
    }
  }
  return lines;
}
