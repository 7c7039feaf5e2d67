/**
 * {@link OnnxSession}: an ONNX model run by ONNX Runtime (`onnxruntime-node`, its CPU execution provider) —
 * the check that an exported model computes what TensorFlow.js computes, and the other runtime it can be
 * measured against. ONNX Runtime is loaded on first use, so that importing `lib/graph/` does not load it.
 *
 * @module
 */
import type * as Ort from "onnxruntime-node";

/** Options of {@link OnnxSession.create}. */
export interface OnnxSessionOptions {
  /** Threads ONNX Runtime uses inside one operator (default: its own choice, the physical cores). */
  intraOpThreads?: number;
}

/** A float32 result: its values and dimensions. */
export interface OnnxOutput {
  /** The values, row-major. */
  data: Float32Array;
  /** The dimensions. */
  dims: number[];
}

/**
 * One ONNX model loaded into ONNX Runtime: one float32 input → its first output.
 *
 * @example Run an exported model
 * ```ts ignore
 * import { OnnxSession } from "./mod.ts";
 *
 * const session = await OnnxSession.create(await Deno.readFile("model.onnx"));
 * const { data, dims } = await session.run(new Float32Array(224 * 224 * 3), [1, 224, 224, 3]);
 * await session.release();
 * ```
 */
export class OnnxSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
  ) {}

  /** Loads `model` (an ONNX `ModelProto`'s bytes); ONNX Runtime checks it and says what is wrong. */
  static async create(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const ort = await import("onnxruntime-node");
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    });
    return new OnnxSession(ort, session);
  }

  /** The graph's input names. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** The graph's output names. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model on `data` of `dims` (the first input); returns the first output. */
  async run(data: Float32Array, dims: number[]): Promise<OnnxOutput> {
    const feeds = { [this.session.inputNames[0]]: new this.ort.Tensor("float32", data, dims) };
    const results = await this.session.run(feeds);
    const out = results[this.session.outputNames[0]];
    try {
      if (out.type !== "float32") throw new Error(`ONNX output ${out.type}, expected float32`);
      return { data: (out.data as Float32Array).slice(), dims: [...out.dims] };
    } finally {
      for (const t of Object.values(results)) t.dispose();
    }
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
