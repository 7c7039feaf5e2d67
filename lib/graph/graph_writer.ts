/**
 * {@link GraphWriter}: a TensorFlow graph (GraphDef) written node by node from TypeScript, and its
 * serialization as a SavedModel that `GraphSession` loads.
 *
 * tfjs-node ships the generated protobuf classes of TensorFlow's GraphDef and SavedModel messages
 * (`proto/api_pb`, used by its own SavedModel loader); this module is the one place that uses them. Node
 * names are made valid for TensorFlow and unique; attributes are typed ({@link Attr}); constants are
 * written little-endian, as TensorFlow reads `tensor_content`.
 *
 * @module
 */
import { createRequire } from "node:module";

/** tfjs-node's generated protobuf classes for TensorFlow's GraphDef / SavedModel messages. */
// deno-lint-ignore no-explicit-any
const pb: any = createRequire(import.meta.resolve("@tensorflow/tfjs-node"))("./proto/api_pb");

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error(
    "lib/graph/graph_writer.ts: tensor_content is little-endian; big-endian platforms are not supported",
  );
}

/** TensorFlow's `DataType` for float32 (a node's `{ type: DT_FLOAT }` attribute). */
export const DT_FLOAT: number = pb.DataType.DT_FLOAT;
/** TensorFlow's `DataType` for int32. */
export const DT_INT32: number = pb.DataType.DT_INT32;
/** TensorFlow's `DataType` for uint8 (decoded images, which tfjs has no dtype for). */
export const DT_UINT8: number = pb.DataType.DT_UINT8;
/** TensorFlow's `DataType` for strings (encoded image files). */
export const DT_STRING: number = pb.DataType.DT_STRING;
/** TensorFlow's `DataType` for booleans. */
export const DT_BOOL: number = pb.DataType.DT_BOOL;
/** `{T: float32}`, the type attribute of most float ops. */
export const FLOAT_T: { T: Attr } = { T: { type: DT_FLOAT } };

/** A node attribute: a dtype, a string, a bool, an int, a float, a list of ints, or a shape (−1: unknown size). */
export type Attr =
  | { type: number }
  | { i: number }
  | { s: string }
  | { b: boolean }
  | { f: number }
  | { ints: number[] }
  | { shape: number[] };

const utf8 = new TextEncoder();

function shapeProto(shape: number[]) {
  const s = new pb.TensorShape();
  for (const size of shape) {
    const dim = new pb.TensorShape.Dim();
    dim.setSize(size);
    s.addDim(dim);
  }
  return s;
}

function attrValue(a: Attr) {
  const v = new pb.AttrValue();
  if ("type" in a) v.setType(a.type);
  else if ("s" in a) v.setS(utf8.encode(a.s));
  else if ("b" in a) v.setB(a.b);
  else if ("i" in a) v.setI(a.i);
  else if ("f" in a) v.setF(a.f);
  else if ("ints" in a) {
    const list = new pb.AttrValue.ListValue();
    list.setIList(a.ints);
    v.setList(list);
  } else v.setShape(shapeProto(a.shape));
  return v;
}

/**
 * Builds a GraphDef node by node; node names are made valid for TensorFlow and unique.
 *
 * @example A graph that doubles its input; each name asked for is made valid and unique
 * ```ts
 * import assert from "node:assert";
 * import { FLOAT_T, GraphWriter } from "./mod.ts";
 *
 * const g = new GraphWriter();
 * const x = g.placeholder("x", [-1, 2]);
 * const y = g.op("x doubled", "Mul", [x, g.scalar("two", 2)], FLOAT_T);
 * assert.strictEqual(y, "x_doubled");
 * assert.strictEqual(g.op("x doubled", "Identity", [y], FLOAT_T), "x_doubled_1");
 * assert.deepStrictEqual([g.inputs, g.size], [["x"], 4]);
 * ```
 */
export class GraphWriter {
  private readonly graph = new pb.GraphDef();
  private readonly names = new Set<string>();
  /** Placeholders in order of creation: the session's inputs. */
  readonly inputs: string[] = [];

  constructor() {
    const versions = new pb.VersionDef();
    // Any TensorFlow from 2.0 on reads producer 1000; none of the ops written here changed since.
    versions.setProducer(1000);
    this.graph.setVersions(versions);
  }

  /** Nodes so far. */
  get size(): number {
    return this.graph.getNodeList().length;
  }

  /** Adds a node; returns its unique name (= its first output). */
  op(name: string, op: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const base = name.replace(/[^A-Za-z0-9_.\-/]/g, "_").replace(/^[^A-Za-z0-9.]/, "n");
    let unique = base;
    for (let i = 1; this.names.has(unique); i++) unique = `${base}_${i}`;
    this.names.add(unique);
    const node = new pb.NodeDef();
    node.setName(unique);
    node.setOp(op);
    node.setInputList(inputs);
    const map = node.getAttrMap();
    for (const [k, a] of Object.entries(attrs)) map.set(k, attrValue(a));
    this.graph.addNode(node);
    return unique;
  }

  /** A float32 input of `shape` (−1 for a size given at run time). */
  placeholder(name: string, shape: number[]): string {
    const node = this.op(name, "Placeholder", [], { dtype: { type: DT_FLOAT }, shape: { shape } });
    this.inputs.push(node);
    return node;
  }

  /** A float32 or int32 constant. */
  constant(name: string, values: Float32Array | Int32Array, shape: number[]): string {
    const dtype = values instanceof Float32Array ? DT_FLOAT : DT_INT32;
    const tensor = new pb.Tensor();
    tensor.setDtype(dtype);
    tensor.setTensorShape(shapeProto(shape));
    tensor.setTensorContent(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
    const value = new pb.AttrValue();
    value.setTensor(tensor);
    const node = this.op(name, "Const", [], { dtype: { type: dtype } });
    this.graph.getNodeList().at(-1).getAttrMap().set("value", value);
    return node;
  }

  /** A float32 scalar constant. */
  scalar(name: string, value: number): string {
    return this.constant(name, new Float32Array([value]), []);
  }

  /** The graph as a SavedModel (tag `serve`, signature `serving_default` over `inputs` → `outputs`). */
  savedModel(outputs: string[]): Uint8Array {
    const info = (name: string) => {
      const t = new pb.TensorInfo();
      t.setName(`${name}:0`);
      t.setDtype(DT_FLOAT);
      return t;
    };
    const signature = new pb.SignatureDef();
    for (const i of this.inputs) signature.getInputsMap().set(i, info(i));
    for (const o of outputs) signature.getOutputsMap().set(o, info(o));
    signature.setMethodName("tensorflow/serving/predict");
    const meta = new pb.MetaGraphDef();
    const metaInfo = new pb.MetaGraphDef.MetaInfoDef();
    metaInfo.addTags("serve");
    meta.setMetaInfoDef(metaInfo);
    meta.setGraphDef(this.graph);
    meta.getSignatureDefMap().set("serving_default", signature);
    const saved = new pb.SavedModel();
    saved.setSavedModelSchemaVersion(1);
    saved.addMetaGraphs(meta);
    return saved.serializeBinary();
  }
}
