/**
 * What machine a bench result comes from: CPU model, the vector extensions that change TensorFlow's
 * kernels, core count, and whether TensorFlow's oneDNN optimizations are on — so that a result is never
 * read as if it came from another kind of CPU.
 *
 * TensorFlow's x86 Linux builds (2.9 and later, including the 2.21 that tfjs-node runs here and the one in
 * `.venv-keras`) decide once per process in `IsMKLEnabled()` (`tensorflow/core/util/util.cc`): oneDNN is on
 * by default only when the CPU has one of AVX512_VNNI, AVX512_BF16, AVX_VNNI, AMX_TILE, AMX_INT8 or
 * AMX_BF16, and `TF_ENABLE_ONEDNN_OPTS` (`0`/`1`, `false`/`true`) overrides that default either way. An
 * AVX2-only CPU (this project's AMD EPYC build machine) therefore runs Eigen's kernels unless the variable
 * says `1`; an Intel Xeon with AVX-512 VNNI runs oneDNN's unless it says `0`.
 *
 * @module
 */
import fs from "node:fs";

/** The CPU and TensorFlow settings one bench result was measured with (a JSON field of every result). */
export interface MachineInfo {
  /** `model name` of `/proc/cpuinfo` (e.g. `"AMD EPYC"`, `"Intel(R) Xeon(R) …"`). */
  cpuModel: string;
  /** `vendor_id` of `/proc/cpuinfo` (`AuthenticAMD`, `GenuineIntel`). */
  vendor: string;
  /** The vector flags that matter to TensorFlow's kernels: `avx`, `fma`, `avx2`, `avx512*`, `avx_vnni`, `amx*`. */
  vectorFlags: string[];
  /** Logical CPUs this process may use. */
  cores: number;
  /** Whether TensorFlow's oneDNN optimizations are on in a process started with this environment. */
  onednn: boolean;
  /** Why: `"default (…)"` from the CPU flags, or `"TF_ENABLE_ONEDNN_OPTS=…"`. */
  onednnReason: string;
  /** A file-name-safe name of the machine kind (vendor, model, widest vector extension), e.g. `amd-epyc_avx2`. */
  kind: string;
}

/** CPU features for which TensorFlow turns oneDNN on by default (`IsMKLEnabled`, util.cc). */
export const ONEDNN_DEFAULT_FLAGS = [
  "avx512_vnni",
  "avx512_bf16",
  "avx_vnni",
  "amx_tile",
  "amx_int8",
  "amx_bf16",
];

const VECTOR_FLAG = /^(avx|avx2|fma|f16c|avx512.*|avx_vnni.*|amx.*)$/;

/** TensorFlow's reading of `TF_ENABLE_ONEDNN_OPTS` (`ReadBoolFromEnvVar`): undefined when unset or unreadable. */
export function onednnSetting(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  const v = value.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return undefined;
}

/** Whether oneDNN is on for a CPU with `flags` under `env`'s `TF_ENABLE_ONEDNN_OPTS`, and why. */
export function onednnState(flags: string[], envValue: string | undefined): { on: boolean; reason: string } {
  const set = onednnSetting(envValue);
  if (set !== undefined) return { on: set, reason: `TF_ENABLE_ONEDNN_OPTS=${envValue}` };
  const features = ONEDNN_DEFAULT_FLAGS.filter((f) => flags.includes(f));
  return features.length
    ? { on: true, reason: `default (CPU has ${features.join(", ")})` }
    : { on: false, reason: `default (CPU has none of ${ONEDNN_DEFAULT_FLAGS.join(", ")})` };
}

/** The machine-kind name: vendor + model words + the widest vector extension (`avx512`, `avx2`, …). */
export function machineKind(cpuModel: string, flags: string[]): string {
  const model = cpuModel.toLowerCase()
    .replace(/\((r|tm)\)|cpu|processor|@.*$|\d+-core/g, " ")
    .replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  const widest = flags.some((f) => f.startsWith("amx"))
    ? "amx"
    : flags.some((f) => f.startsWith("avx512"))
    ? "avx512"
    : flags.includes("avx2")
    ? "avx2"
    : flags.includes("avx")
    ? "avx"
    : "sse";
  return `${model || "unknown-cpu"}_${widest}`;
}

/** Parses `/proc/cpuinfo`'s first processor: model, vendor and vector flags. */
export function parseCpuinfo(text: string): { cpuModel: string; vendor: string; vectorFlags: string[] } {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1].trim() ?? "";
  const flags = field("flags").split(/\s+/).filter((f) => VECTOR_FLAG.test(f));
  return {
    cpuModel: field("model name") || "unknown",
    vendor: field("vendor_id") || "unknown",
    vectorFlags: flags,
  };
}

/** This machine as seen by a process started with `env` (default: this process's environment). */
export function machineInfo(env: { get(key: string): string | undefined } = Deno.env): MachineInfo {
  let text = "";
  try {
    text = fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch { /* not Linux: model and flags unknown */ }
  const cpu = parseCpuinfo(text);
  const onednn = onednnState(cpu.vectorFlags, env.get("TF_ENABLE_ONEDNN_OPTS"));
  return {
    ...cpu,
    cores: navigator.hardwareConcurrency,
    onednn: onednn.on,
    onednnReason: onednn.reason,
    kind: machineKind(cpu.cpuModel, cpu.vectorFlags),
  };
}
