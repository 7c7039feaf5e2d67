/**
 * {@link readOnnxSummary}: what an ONNX file holds, read back with the same protobuf classes that
 * `onnx_writer.ts` writes with (`onnx-proto`, loaded on first use) — to tell a file this project wrote from
 * any other before replacing it, and for tests to look inside an export.
 *
 * @module
 */
import type { onnx as OnnxTypes } from "onnx-proto";

/** A graph input or output: its name and dimensions (a string for a size given at run time). */
export interface OnnxValueSummary {
  /** The tensor's name. */
  name: string;
  /** Its dimensions: a size, or the name of a size given at run time (e.g. `"N"`). */
  dims: (number | string)[];
}

/** The parts of an ONNX `ModelProto` that say what it is and what it computes. */
export interface OnnxModelSummary {
  /** `producer_name`. */
  producer: string;
  /** `ir_version`. */
  irVersion: number;
  /** The default domain's opset version (0 when none is imported). */
  opset: number;
  /** The graph's inputs that are not initializers. */
  inputs: OnnxValueSummary[];
  /** The graph's outputs. */
  outputs: OnnxValueSummary[];
  /** How many nodes of each operator the graph has. */
  opCounts: Record<string, number>;
  /** The `group` attribute of each `Conv` node, in graph order. */
  convGroups: number[];
  /** `metadata_props`. */
  metadata: Record<string, string>;
}

/**
 * A summary of the ONNX model in `bytes`; throws when they are not one.
 *
 * @example An exported graph read back
 * ```ts
 * import assert from "node:assert";
 * import { OnnxWriter, readOnnxSummary } from "./mod.ts";
 *
 * const w = new OnnxWriter();
 * w.output(w.node("y", "Relu", [w.input("x", ["N", 2])]), ["N", 2]);
 * const bytes = await w.encode({ opset: 13, irVersion: 7, graphName: "g", producer: "me", metadata: { a: "1" } });
 * const summary = await readOnnxSummary(bytes);
 * assert.deepStrictEqual([summary.producer, summary.opset, summary.opCounts], ["me", 13, { Relu: 1 }]);
 * assert.deepStrictEqual(summary.inputs, [{ name: "x", dims: ["N", 2] }]);
 * ```
 */
export async function readOnnxSummary(bytes: Uint8Array): Promise<OnnxModelSummary> {
  const { onnx } = (await import("onnx-proto")).default;
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new Error("not an ONNX model: no graph");
  // Decoded messages are full instances: their repeated fields are arrays, possibly empty.
  const graph = model.graph as OnnxTypes.GraphProto;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const value = (v: OnnxTypes.IValueInfoProto): OnnxValueSummary => ({
    name: v.name ?? "",
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam ? d.dimParam : Number(d.dimValue)),
  });
  const opCounts: Record<string, number> = {};
  const nodes = graph.node as OnnxTypes.NodeProto[];
  for (const n of nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  const convGroups = nodes.filter((n) => n.opType === "Conv")
    .map((n) => Number(n.attribute.find((a) => a.name === "group")?.i ?? 1));
  return {
    producer: model.producerName,
    irVersion: Number(model.irVersion),
    opset: Number(model.opsetImport.find((o) => !o.domain)?.version ?? 0),
    inputs: graph.input.filter((v) => !initializers.has(v.name)).map(value),
    outputs: graph.output.map(value),
    opCounts,
    convGroups,
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value])),
  };
}
