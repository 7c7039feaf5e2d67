/**
 * TensorFlow graphs written from TypeScript and run in a TensorFlow session, through the native backend.
 *
 * tfjs-node runs every op eagerly: one native call (≈ 20 µs of overhead) and one output buffer per op.
 * A {@link GraphWriter} builds a GraphDef node by node (tfjs-node ships the protobuf classes for it);
 * {@link GraphSession.load} hands it to TensorFlow as a SavedModel (written to a temporary folder, loaded
 * with tfjs-node's SavedModel support, deleted), where grappler optimizes it once; each
 * {@link GraphSession.run} is then one native call for the whole graph. Used for the frozen part of a
 * model (`frozen_graph.ts`), the optimizer update (`optimizers.ts`) and the whole training step
 * (`train_graph.ts`).
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { tf } from "../runtime/mod.ts";
import type { Tensor } from "../runtime/mod.ts";

/** tfjs-node's generated protobuf classes for TensorFlow's GraphDef / SavedModel messages. */
// deno-lint-ignore no-explicit-any
const pb: any = createRequire(import.meta.resolve("@tensorflow/tfjs-node"))("./proto/api_pb");

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error(
    "lib/graph/graph_session.ts: tensor_content is little-endian; big-endian platforms are not supported",
  );
}

/** TensorFlow's DataType enum values used here. */
export const DT_FLOAT = pb.DataType.DT_FLOAT as number;
export const DT_INT32 = pb.DataType.DT_INT32 as number;
export const DT_UINT8 = pb.DataType.DT_UINT8 as number;
export const DT_STRING = pb.DataType.DT_STRING as number;
export const DT_BOOL = pb.DataType.DT_BOOL as number;
/** `{T: float32}`, the type attribute of most float ops. */
export const FLOAT_T = { T: { type: DT_FLOAT } };

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

/** Builds a GraphDef node by node; node names are made valid for TensorFlow and unique. */
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

/** tfjs-node's SavedModel session API on its backend. */
interface SessionBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: Tensor[], infos: unknown[], outputs: string[]): Tensor[];
  deleteSavedModel(id: number): void;
}

/** A TensorFlow session over one written graph: float32 inputs (the placeholders) → float32 outputs. */
export class GraphSession {
  private disposed = false;
  private readonly inputInfos: { name: string; dtype: "float32"; tfDtype: "DT_FLOAT" }[];
  private readonly outputNames: string[];

  private constructor(
    private readonly backend: SessionBackend,
    private readonly id: number,
    inputs: string[],
    outputs: string[],
    /** Nodes of the graph as written (TensorFlow's optimizer rewrites it on the first run). */
    readonly nodes: number,
  ) {
    this.inputInfos = inputs.map((name) => ({ name: `${name}:0`, dtype: "float32", tfDtype: "DT_FLOAT" }));
    this.outputNames = outputs.map((o) => `${o}:0`);
  }

  /** Loads `graph` into a new session whose `run` returns the first output of each of `outputs`. */
  static load(graph: GraphWriter, outputs: string[]): GraphSession {
    const backend = tf.backend() as unknown as SessionBackend;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-graph-"));
    try {
      fs.writeFileSync(path.join(dir, "saved_model.pb"), graph.savedModel(outputs));
      const id = backend.loadSavedModelMetaGraph(dir, "serve");
      return new GraphSession(backend, id, [...graph.inputs], outputs, graph.size);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs the graph on float32 `inputs` (one per placeholder, in order); new tensors, one per output — or
   * one per name of `outputs` (a subset of the graph's nodes, e.g. gradients fetched for a test).
   */
  run(inputs: Tensor[], outputs?: string[]): Tensor[] {
    if (this.disposed) throw new Error("GraphSession.run: the session was disposed");
    if (inputs.length !== this.inputInfos.length) {
      throw new Error(`GraphSession.run: expected ${this.inputInfos.length} inputs, got ${inputs.length}`);
    }
    const names = outputs ? outputs.map((o) => `${o}:0`) : this.outputNames;
    return this.backend.runSavedModel(this.id, inputs, this.inputInfos, names);
  }

  /** Closes the session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.deleteSavedModel(this.id);
  }
}
