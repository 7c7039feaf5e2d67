/**
 * `model.summary()` as TF2 Keras (tf.keras 2.15, the tutorial's output) prints it: columns
 * `Layer (type) | Output Shape | Param # | Connected to` for graph models (without `Connected to` for
 * chains), Python-style shapes `(None, 80, 80, 32)`, long cells wrapped within their column, and the
 * totals with their memory size (`Total params: 2257984 (8.61 MB)`).
 *
 * @module
 */
import type { LayersModel } from "../runtime/mod.ts";
import { print } from "../runtime/mod.ts";

type Layer = LayersModel["layers"][number];
type LayerNode = Layer["inboundNodes"][number];

/** Options of {@link printSummary}, as Keras' `model.summary` arguments. */
export interface SummaryOptions {
  /** Line width; default 98 for graph models, 65 for chains. */
  lineLength?: number;
  /** Column right edges, as fractions of `lineLength` (≤ 1) or as positions. */
  positions?: number[];
  /** Called with each line; default: the whole table printed once as one block (`print` of lib/runtime/output.ts). */
  printFn?: (line: string) => void;
}

function pythonShape(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? "None" : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
}

function outputShape(layer: Layer): string {
  const shape = layer.outputShape as (number | null)[] | (number | null)[][];
  const nested = shape.length > 0 && Array.isArray(shape[0]);
  if (nested) return `[${(shape as (number | null)[][]).map(pythonShape).join(", ")}]`;
  const text = pythonShape(shape as (number | null)[]);
  return layer.getClassName() === "InputLayer" ? `[${text}]` : text;
}

function className(layer: Layer): string {
  const name = layer.getClassName();
  // InferenceModel (inference_model.ts) is the base called with training=False, a Functional model in Keras.
  return name === "Model" || name === "InferenceModel" ? "Functional" : name;
}

/**
 * Bytes as Keras' `readable_memory_size`: `8.61 MB`, `0.00 Byte`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readableMemorySize } from "./mod.ts";
 *
 * assert.equal(readableMemorySize(4 * 2257984), "8.61 MB");
 * assert.equal(readableMemorySize(0), "0.00 Byte");
 * ```
 */
export function readableMemorySize(bytes: number): string {
  const units = ["Byte", "KB", "MB", "GB", "TB", "PB"];
  let size = bytes;
  for (const unit of units) {
    if (size / 1024 < 1) return `${size.toFixed(2)} ${unit}`;
    size /= 1024;
  }
  return `${size.toFixed(2)} ${units.at(-1)}`;
}

function modelNodes(model: LayersModel): Set<LayerNode> {
  const byDepth = model.nodesByDepth;
  return new Set(Object.values(byDepth).flat());
}

/** Keras' test: one node per depth, one input per node, no layer reused. */
function isSequentialLike(model: LayersModel, nodes: Set<LayerNode>): boolean {
  if (model.getClassName() === "Sequential") return true;
  const byDepth = model.nodesByDepth;
  if (Object.values(byDepth).some((v) => v.length > 1 || (v.length === 1 && v[0].inboundLayers.length > 1))) {
    return false;
  }
  return model.layers.every((layer) => layer.inboundNodes.filter((n) => nodes.has(n)).length <= 1);
}

function connections(layer: Layer, nodes: Set<LayerNode>): string {
  const links = layer.inboundNodes
    .filter((node) => nodes.has(node))
    .flatMap((node) =>
      node.inboundLayers.map((inbound, i) =>
        `'${inbound.name}[${node.nodeIndices[i]}][${node.tensorIndices[i]}]'`
      )
    );
  return `[${links.join(", ")}]`;
}

const BREAKS = ["),", "},", "],", "',"];

/** One table row; cells too long for their column continue on the next lines. */
function printRow(fields: string[], positions: number[], printFn: (line: string) => void) {
  const left = [...fields];
  while (left.some((s) => s.length > 0)) {
    let line = "";
    left.forEach((text, col) => {
      const last = col === positions.length - 1;
      const space = last ? 0 : 2;
      let cutoff = positions[col] - (col > 0 ? positions[col - 1] : 0) - space - (last ? 0 : 1);
      let fit = text.slice(0, cutoff);
      const breaks = BREAKS.filter((b) => fit.includes(b)).map((b) => fit.indexOf(b) + b.length);
      if (breaks.length > 0) {
        cutoff = Math.min(...breaks);
        fit = fit.slice(0, cutoff);
      }
      if (col === 0) line += " ";
      line += fit + " ".repeat(space);
      left[col] = text.slice(cutoff);
      line += " ".repeat(Math.max(0, positions[col] - line.length));
    });
    printFn(line);
  }
}

/** Prints `model`'s layer table and parameter totals as TF2 Keras' `model.summary()` does. */
export function printSummary(model: LayersModel, options: SummaryOptions = {}): void {
  if (!options.printFn) {
    // One block, not a line per row: in the Jupyter kernel a burst of lines spills into later cells.
    const lines: string[] = [];
    printSummary(model, { ...options, printFn: (line) => lines.push(line) });
    print(lines.join("\n"));
    return;
  }
  const printFn = options.printFn;
  const nodes = modelNodes(model);
  const sequential = isSequentialLike(model, nodes);
  const lineLength = options.lineLength ?? (sequential ? 65 : 98);
  let positions = options.positions ?? (sequential ? [0.45, 0.85, 1.0] : [0.3, 0.6, 0.7, 1.0]);
  if (positions.at(-1)! <= 1) positions = positions.map((p) => Math.floor(lineLength * p));
  const header = ["Layer (type)", "Output Shape", "Param #", ...(sequential ? [] : ["Connected to"])];

  printFn(`Model: "${model.name}"`);
  printFn("_".repeat(lineLength));
  printRow(header, positions, printFn);
  printFn("=".repeat(lineLength));
  for (const layer of model.layers) {
    const fields = [`${layer.name} (${className(layer)})`, outputShape(layer), String(layer.countParams())];
    printRow(sequential ? fields : [...fields, connections(layer, nodes)], positions, printFn);
    printFn(" ".repeat(lineLength));
  }
  printFn("=".repeat(lineLength));

  const count = (weights: LayersModel["weights"]) =>
    [...new Set(weights)].reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 0), 1), 0);
  const trainable = count(model.trainableWeights);
  const nonTrainable = count(model.nonTrainableWeights);
  // float32 weights: 4 bytes each.
  printFn(
    `Total params: ${trainable + nonTrainable} (${readableMemorySize(4 * (trainable + nonTrainable))})`,
  );
  printFn(`Trainable params: ${trainable} (${readableMemorySize(4 * trainable)})`);
  printFn(`Non-trainable params: ${nonTrainable} (${readableMemorySize(4 * nonTrainable)})`);
  printFn("_".repeat(lineLength));
}
