/**
 * Keras-2 `save_weights` HDF5 files (the layout of Keras' published ImageNet weights), read and written
 * with h5wasm (the HDF5 C library compiled to WebAssembly).
 *
 * Layout: root attribute `layer_names` (every layer, weightless ones included), per layer a group with
 * attribute `weight_names` (e.g. `bn_Conv1/gamma:0`), and the datasets at `<layer>/<weight name>`, i.e.
 * `<layer>/<layer>/<weight>:0`. Kernels are in Keras' layout, which is also tfjs-layers'.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import h5wasm from "h5wasm/node";
import { type LayersModel, tf } from "../runtime/mod.ts";

type Layer = LayersModel["layers"][number];

/** One weight of a layer as stored in the file. */
export interface H5Weight {
  /** As in the layer's `weight_names`, e.g. `"bn_Conv1/gamma:0"`. */
  name: string;
  /** The stored shape (Keras' layout, which is also tfjs-layers'). */
  shape: number[];
  /** The values, row-major. */
  values: Float32Array;
}

/** The contents of a Keras-2 weights file. */
export interface KerasH5Weights {
  /** The file read. */
  file: string;
  /** Root attribute `layer_names`, in the file's order. */
  layerNames: string[];
  /** Weights per layer name, in each layer's `weight_names` order (weightless layers: `[]`). */
  layers: Map<string, H5Weight[]>;
  /** Root attribute `keras_version`, when present. */
  kerasVersion?: string;
  /** Root attribute `backend` (e.g. `"tensorflow"`), when present. */
  backend?: string;
}

type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

/** The part of h5wasm's module that switches HDF5's error reporting between stderr and exceptions. */
interface ErrorHandlers {
  activate_throwing_error_handler(): number;
  deactivate_throwing_error_handler(): number;
}
let ready: Promise<unknown> | undefined;
let h5Module: ErrorHandlers | undefined;
function h5(): Promise<unknown> {
  return ready ??= h5wasm.ready.then((m) => (h5Module = m as unknown as ErrorHandlers));
}

/**
 * The weight's role within its layer — `kernel`, `depthwise_kernel`, `bias`, `gamma`, `beta`,
 * `moving_mean`, `moving_variance` — from a Keras (`bn_Conv1/gamma:0`) or tfjs (`bn_Conv1/gamma_3`) name.
 */
export function weightSuffix(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1).replace(/:\d+$/, "").replace(/_\d+$/, "");
}

/** A string-array attribute as Keras writes it, including its chunked form (`name0`, `name1`, …). */
function stringsAttribute(group: H5Group, name: string): string[] | undefined {
  const attrs = group.attrs;
  const asStrings = (value: unknown): string[] => {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.map(String);
    if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<unknown>).length === 0) return [];
    throw new Error(`attribute ${name} of ${group.path} is not a list of strings`);
  };
  if (name in attrs) return asStrings(attrs[name].value);
  if (!(`${name}0` in attrs)) return undefined;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...asStrings(attrs[`${name}${i}`].value));
  return out;
}

function stringAttribute(group: H5Group, name: string): string | undefined {
  const value = group.attrs[name]?.value;
  return typeof value === "string" ? value : undefined;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5's signature is at byte 0, or 512, 1024, 2048… after a user block. */
function isHdf5(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const head = new Uint8Array(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      fs.readSync(fd, head, 0, 8, offset);
      if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** The innermost line of an HDF5 error stack, without its source location: the actual cause. */
function hdf5Message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const causes = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return causes.at(-1) ?? text.split("\n")[0];
}

function openH5(file: string, mode: "r" | "w"): InstanceType<typeof h5wasm.File> {
  if (mode === "r") {
    if (!fs.existsSync(file)) throw new Error(`${file}: no such weights file`);
    if (!isHdf5(file)) throw new Error(`${file}: not an HDF5 file (no HDF5 signature)`);
  }
  // HDF5 prints its whole error stack (~20 lines) to stderr when an open fails; make it throw instead,
  // and report its innermost message (e.g. "truncated file: eof = 5000, … stored_eof = 2021256").
  const action = mode === "r" ? "read" : "write";
  let f: InstanceType<typeof h5wasm.File>;
  h5Module?.activate_throwing_error_handler();
  try {
    f = new h5wasm.File(file, mode);
  } catch (e) {
    throw new Error(`${file}: HDF5 cannot open it (${action}): ${hdf5Message(e)}`, { cause: e });
  } finally {
    h5Module?.deactivate_throwing_error_handler();
  }
  if (f.file_id < 0n) throw new Error(`${file}: HDF5 cannot open it (${action})`);
  return f;
}

/** Reads every layer's weights from a Keras-2 `save_weights` HDF5 file. */
export async function readKerasH5Weights(file: string): Promise<KerasH5Weights> {
  await h5();
  const f = openH5(file, "r");
  try {
    const layerNames = stringsAttribute(f, "layer_names");
    if (layerNames === undefined) {
      throw new Error(
        `${file}: not a Keras-2 save_weights HDF5 file (no root attribute layer_names; ` +
          `Keras 3 ".weights.h5" files use another layout)`,
      );
    }
    const layers = new Map<string, H5Weight[]>();
    for (const layer of layerNames) {
      const group = f.get(layer);
      if (!(group instanceof h5wasm.Group)) {
        throw new Error(`${file}: layer_names lists "${layer}" but it has no group`);
      }
      const weightNames = stringsAttribute(group, "weight_names") ?? [];
      layers.set(
        layer,
        weightNames.map((name) => {
          const ds = group.get(name) as H5Dataset | null;
          if (!(ds instanceof h5wasm.Dataset)) {
            throw new Error(`${file}: layer "${layer}" has no dataset "${name}"`);
          }
          const raw = ds.value;
          if (!(raw instanceof Float32Array || raw instanceof Float64Array)) {
            throw new Error(`${file}: ${layer}/${name} holds ${ds.dtype}, expected floats`);
          }
          return {
            name,
            shape: ds.shape ?? [],
            values: raw instanceof Float32Array ? raw : Float32Array.from(raw),
          };
        }),
      );
    }
    return {
      file,
      layerNames,
      layers,
      kerasVersion: stringAttribute(f, "keras_version"),
      backend: stringAttribute(f, "backend"),
    };
  } finally {
    f.close();
  }
}

/** Keras 3 names a DepthwiseConv2D's kernel `kernel`, Keras 2 and tfjs `depthwise_kernel`. */
const sameRole = (a: string, b: string) =>
  a.replace(/^depthwise_kernel$/, "kernel") === b.replace(/^depthwise_kernel$/, "kernel");
const sameShape = (a: readonly (number | null)[], b: readonly (number | null)[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);
const fmt = (shape: readonly (number | null)[]) => `[${shape.join(", ")}]`;

/**
 * A weight whose shape in the file differs from the model's: callers that know the architecture (e.g.
 * `mobileNetV2`, for weights of another width) add what to do.
 */
export class WeightShapeError extends Error {
  /** `"WeightShapeError"`. */
  override name = "WeightShapeError";
  /** The file, layer and weight, and the two shapes that differ. */
  constructor(
    readonly file: string,
    readonly layer: string,
    readonly weight: string,
    readonly modelShape: readonly (number | null)[],
    readonly fileShape: readonly number[],
  ) {
    super(
      `${file}: layer "${layer}" weight "${weight}": model shape ${fmt(modelShape)}, file shape ${
        fmt(fileShape)
      }`,
    );
  }
}

/**
 * Loads a Keras-2 weights file (a path) or its contents into `model`, matching layers by name and each
 * layer's weights by role (`kernel`, `bias`, `gamma`, …). Everything is checked before anything is set: a
 * model layer missing from the file, a file layer with weights that the model lacks, or a shape that
 * differs is an error naming the layer (and both shapes: a {@link WeightShapeError}); the model is then left
 * unchanged.
 */
export async function loadKerasH5Weights(model: LayersModel, source: string | KerasH5Weights): Promise<void> {
  const stored = typeof source === "string" ? await readKerasH5Weights(source) : source;
  const file = stored.file;
  const plan: { layer: Layer; values: H5Weight[] }[] = [];
  const modelLayers = new Set<string>();
  for (const layer of model.layers) {
    modelLayers.add(layer.name);
    const wanted = layer.weights;
    if (wanted.length === 0) continue;
    const have = stored.layers.get(layer.name);
    if (have === undefined) {
      throw new Error(
        `${file}: no weights for layer "${layer.name}" (model shapes ${
          wanted.map((w) => fmt(w.shape)).join(", ")
        })`,
      );
    }
    const values = wanted.map((w) => {
      const role = weightSuffix(w.originalName ?? w.name);
      const match = have.filter((h) => sameRole(weightSuffix(h.name), role));
      if (match.length !== 1) {
        throw new Error(
          `${file}: layer "${layer.name}" needs weight "${role}" ${fmt(w.shape)}; the file has ` +
            `${have.map((h) => `${h.name} ${fmt(h.shape)}`).join(", ") || "no weights"}`,
        );
      }
      if (!sameShape(match[0].shape, w.shape)) {
        throw new WeightShapeError(file, layer.name, role, w.shape, match[0].shape);
      }
      return match[0];
    });
    if (have.length !== wanted.length) {
      throw new Error(
        `${file}: layer "${layer.name}" has ${have.length} weights in the file (${
          have.map((h) => h.name).join(", ")
        }), ` +
          `the model ${wanted.length}`,
      );
    }
    plan.push({ layer, values });
  }
  const extra = [...stored.layers].filter(([name, ws]) => ws.length > 0 && !modelLayers.has(name)).map((
    [n],
  ) => n);
  if (extra.length > 0) {
    throw new Error(`${file}: weights for layers the model "${model.name}" lacks: ${extra.join(", ")}`);
  }
  for (const { layer, values } of plan) {
    const tensors = values.map((v) => tf.tensor(v.values, v.shape, "float32"));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}

/** Writes `model`'s weights as Keras-2 `save_weights` does (atomically: temporary file, then rename). */
export async function saveKerasH5Weights(model: LayersModel, file: string): Promise<void> {
  await h5();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${Deno.pid}`;
  const f = openH5(tmp, "w");
  try {
    const strings = (list: string[]) =>
      `S${Math.max(1, ...list.map((s) => new TextEncoder().encode(s).length))}`;
    const layerNames = model.layers.map((l) => l.name);
    f.create_attribute("layer_names", layerNames, [layerNames.length], strings(layerNames));
    f.create_attribute("backend", "tensorflow");
    f.create_attribute("keras_version", `tfjs-layers ${tf.version_layers}`);
    for (const layer of model.layers) {
      const group = f.create_group(layer.name);
      const weights = layer.weights;
      const names = weights.map((w) => `${layer.name}/${weightSuffix(w.originalName ?? w.name)}:0`);
      if (names.length > 0) group.create_attribute("weight_names", names, [names.length], strings(names));
      else group.create_attribute("weight_names", new Float64Array(0), [0], "<d");
      for (let i = 0; i < names.length; i++) {
        // read() is the variable's own tensor: not disposed here.
        const data = weights[i].read().dataSync() as Float32Array;
        const parts = names[i].split("/");
        let parent = group;
        for (const part of parts.slice(0, -1)) {
          parent = parent.get(part) as H5Group | null ?? parent.create_group(part);
        }
        parent.create_dataset({
          name: parts.at(-1)!,
          data,
          shape: weights[i].shape as number[],
          dtype: "<f",
        });
      }
    }
  } catch (e) {
    f.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  f.close();
  fs.renameSync(tmp, file);
}
