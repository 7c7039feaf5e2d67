/**
 * {@link GraphSession}: a written graph ({@link GraphWriter}) run by TensorFlow in a session, through the
 * native backend.
 *
 * tfjs-node runs every op eagerly: one native call and one output buffer per op. A session instead hands
 * the whole graph to TensorFlow once — as a SavedModel written to a temporary folder, loaded with
 * tfjs-node's SavedModel support (its backend's `loadSavedModelMetaGraph` / `runSavedModel`, the internal
 * API under `tf.node.loadSavedModel`), the folder deleted — where grappler optimizes it; each
 * {@link GraphSession.run} is then one native call for the whole graph.
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { GraphWriter } from "./graph_writer.ts";
import type { Tensor } from "./tfjs_types.ts";

/** tfjs-node's SavedModel session API on its backend. */
interface SessionBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: Tensor[], infos: unknown[], outputs: string[]): Tensor[];
  deleteSavedModel(id: number): void;
}

/**
 * A TensorFlow session over one written graph: float32 inputs (the placeholders) → float32 outputs.
 *
 * @example Write a graph, load it once, run it as one native call
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import { FLOAT_T, GraphSession, GraphWriter } from "./mod.ts";
 *
 * const g = new GraphWriter();
 * const x = g.placeholder("x", [-1, 2]);
 * const y = g.op("double", "Mul", [x, g.scalar("two", 2)], FLOAT_T);
 * const session = GraphSession.load(g, [y]);
 * const input = tf.tensor2d([[1, 2], [3, 4]]);
 * const [output] = session.run([input]);
 * assert.deepStrictEqual(await output.array(), [[2, 4], [6, 8]]);
 * tf.dispose([input, output]);
 * session.dispose();
 * ```
 */
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
