/**
 * {@link OnnxWriter}: an ONNX graph written node by node from TypeScript, and its serialization as an ONNX
 * `ModelProto` — the counterpart of `graph_writer.ts` for ONNX.
 *
 * The bytes are encoded by the protobufjs classes the `onnx-proto` package generates from ONNX's published
 * `onnx.proto`; this module is the one place that uses them. They are loaded only when a model is encoded
 * ({@link OnnxWriter.encode}), so that importing `lib/graph/` does not load them. Tensor and node names are
 * unique; weights are written as `raw_data`, little-endian, as ONNX stores it.
 *
 * @module
 */
import type { onnx as OnnxTypes } from "onnx-proto";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error(
    "lib/graph/onnx_writer.ts: ONNX raw_data is little-endian; big-endian platforms are not supported",
  );
}

/** A node attribute: an int, a float, a string or a list of ints. */
export type OnnxAttr = { i: number } | { f: number } | { s: string } | { ints: number[] };

/** A dimension of a graph input or output: a size, or a name for a size given at run time (`"N"`). */
export type OnnxDim = number | string;

/** One node of the graph (an operator call with one output). */
interface OnnxNodeSpec {
  name: string;
  opType: string;
  inputs: string[];
  output: string;
  attrs: Record<string, OnnxAttr>;
}

/** A constant tensor of the graph (an initializer). */
interface Initializer {
  name: string;
  dims: number[];
  type: "float32" | "int64";
  bytes: Uint8Array;
}

/** A graph input or output. */
interface ValueSpec {
  name: string;
  dims: OnnxDim[];
}

/** Options of {@link OnnxWriter.encode}. */
export interface OnnxModelOptions {
  /** The default domain's operator set version (`opset_import`), e.g. 13. */
  opset: number;
  /** ONNX's IR version of the file; must suit the opset (13–14: 7, 15–18: 8, 19–20: 9, 21: 10). */
  irVersion: number;
  /** The graph's name. */
  graphName: string;
  /** What wrote the file (`producer_name`). */
  producer: string;
  /** A description of the model (`doc_string`). */
  docString?: string;
  /** `metadata_props`: string keys and values a reader of the file can look up. */
  metadata?: Record<string, string>;
}

const bytesOf = (a: Float32Array | BigInt64Array) =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/**
 * Builds an ONNX graph node by node; tensor names asked for are made unique (a node's name is its output's).
 *
 * @example A graph that doubles its input, run by nothing here: only its bytes
 * ```ts
 * import assert from "node:assert";
 * import { OnnxWriter } from "./mod.ts";
 *
 * const w = new OnnxWriter();
 * const x = w.input("x", ["N", 2]);
 * const y = w.node("double", "Mul", [x, w.floats("two", new Float32Array([2]), [])]);
 * assert.strictEqual(w.node("double", "Identity", [y]), "double_1");
 * w.output(y, ["N", 2]);
 * const bytes = await w.encode({ opset: 13, irVersion: 7, graphName: "g", producer: "example" });
 * assert.ok(bytes.length > 40);
 * ```
 */
export class OnnxWriter {
  private readonly names = new Set<string>();
  private readonly nodes: OnnxNodeSpec[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];

  /** Nodes so far. */
  get size(): number {
    return this.nodes.length;
  }

  /** `name`, or `name_1`, `name_2`, … when taken. */
  private unique(name: string): string {
    let out = name;
    for (let i = 1; this.names.has(out); i++) out = `${name}_${i}`;
    this.names.add(out);
    return out;
  }

  /** A float32 graph input of `dims` (a string for a size given at run time); returns its name. */
  input(name: string, dims: OnnxDim[]): string {
    const unique = this.unique(name);
    this.inputs.push({ name: unique, dims });
    return unique;
  }

  /** Marks tensor `name` (float32, `dims`) as a graph output. */
  output(name: string, dims: OnnxDim[]): void {
    this.outputs.push({ name, dims });
  }

  /** Adds a node of operator `opType` (default domain) with one output; returns the output's name. */
  node(name: string, opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}): string {
    const output = this.unique(name);
    this.nodes.push({ name: output, opType, inputs, output, attrs });
    return output;
  }

  /** A float32 constant of `dims`. */
  floats(name: string, values: Float32Array, dims: number[]): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dims, type: "float32", bytes: bytesOf(values) });
    return unique;
  }

  /** An int64 constant of `dims` (shapes, pads). */
  ints(name: string, values: number[], dims: number[]): string {
    const unique = this.unique(name);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name: unique, dims, type: "int64", bytes: bytesOf(data) });
    return unique;
  }

  /** A float32 scalar constant. */
  scalar(name: string, value: number): string {
    return this.floats(name, new Float32Array([value]), []);
  }

  /** The `ModelProto`'s bytes (loads the protobuf classes on first use). */
  async encode(options: OnnxModelOptions): Promise<Uint8Array> {
    const { onnx } = (await import("onnx-proto")).default;
    const graph = onnx.GraphProto.create({
      name: options.graphName,
      node: this.nodes.map((n) => nodeProto(onnx, n)),
      initializer: this.initializers.map((t) =>
        onnx.TensorProto.create({
          name: t.name,
          dims: t.dims,
          dataType: t.type === "float32" ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
          rawData: t.bytes,
        })
      ),
      input: this.inputs.map((v) => valueInfo(onnx, v)),
      output: this.outputs.map((v) => valueInfo(onnx, v)),
    });
    const model = onnx.ModelProto.create({
      irVersion: options.irVersion,
      opsetImport: [{ domain: "", version: options.opset }],
      producerName: options.producer,
      docString: options.docString ?? "",
      graph,
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function nodeProto(onnx: typeof OnnxTypes, n: OnnxNodeSpec): OnnxTypes.NodeProto {
  const T = onnx.AttributeProto.AttributeType;
  const attribute = Object.entries(n.attrs).map(([name, a]) => {
    if ("i" in a) return { name, type: T.INT, i: a.i };
    if ("f" in a) return { name, type: T.FLOAT, f: a.f };
    if ("s" in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
    return { name, type: T.INTS, ints: a.ints };
  });
  return onnx.NodeProto.create({
    name: n.name,
    opType: n.opType,
    input: n.inputs,
    output: [n.output],
    attribute,
  });
}

function valueInfo(onnx: typeof OnnxTypes, v: ValueSpec): OnnxTypes.ValueInfoProto {
  const dim = v.dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d });
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } },
  });
}
