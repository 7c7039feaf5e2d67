/**
 * TensorFlow graphs written from TypeScript and run as one native call: what makes the frozen part of a
 * model, the optimizer update and the training step run as TensorFlow runs Keras, rather than op by op as
 * tfjs-node does.
 *
 * Separation of concerns:
 *
 * GraphWriter (`graph_writer.ts`):
 *   - a GraphDef node by node: valid, unique node names; typed attributes ({@link Attr}); constants
 *   - its serialization as a SavedModel (tfjs-node's protobuf classes are used nowhere else)
 *
 * GraphSession (`graph_session.ts`):
 *   - loading a written graph into TensorFlow (tfjs-node's SavedModel session API), running it, closing it
 *
 * Layer kinds (`layer_kinds.ts`, the one table {@link LAYER_KINDS}) and model nodes (`model_nodes.ts`):
 *   - which Keras layers can be written, and each one's forward and backward writer
 *   - a functional model's layer calls in execution order ({@link nodesInOrder})
 *
 * Forward writer (`forward_writer.ts`):
 *   - a sequence of layer calls written forward, convolutions folded with the BatchNormalization after them
 *
 * Frozen graph (`frozen_graph.ts`), with `run_from.ts` and `gradient_tape.ts`:
 *   - which layers need no trainable weight ({@link frozenRegion}), compiled as a snapshot of their weights
 *     ({@link FrozenGraph}), and when that snapshot is stale ({@link FrozenGraph.matches})
 *   - the eager continuation from its outputs ({@link runFrom}), and when it must not be used because a
 *     gradient has to flow through it ({@link dependsOnTrainableVariable})
 *
 * ONNX (`onnx_writer.ts`, `onnx_layer_kinds.ts`, `onnx_forward.ts`, `onnx_session.ts`, `onnx_reader.ts`):
 *   - an ONNX graph node by node and its `ModelProto` bytes ({@link OnnxWriter}), through the one table of
 *     layer kinds it can write ({@link ONNX_LAYER_KINDS}, folding BatchNormalization as above)
 *   - a model's forward pass in it ({@link writeOnnxForward}); ONNX Runtime to run it ({@link OnnxSession});
 *     what a file holds ({@link readOnnxSummary})
 *   - `lib/model/onnx_export.ts` makes a classifier's whole inference model of them
 *
 * Who hooks these into TensorFlow.js — not this folder:
 *   - `lib/model/inference_model.ts`: `InferenceModel.call` runs the frozen part of the base through a
 *     {@link FrozenGraph} (made, cached and rebuilt there) and the rest with {@link runFrom}.
 *   - `lib/train/`: the compiled training step (`train_graph.ts`) writes its whole graph through the layer
 *     kinds' forward and backward writers and {@link writeForward}; `fit` puts it in place of tfjs'
 *     `makeTrainFunction` for the run. The validation cache reuses {@link runFrom} and
 *     {@link weightFingerprint}.
 *   - `lib/model/optimizers.ts`: `GraphRMSPropOptimizer` runs its update as one {@link GraphSession}.
 *   - `lib/data/batch_decoder.ts`: decodes a batch of images in one {@link GraphSession}.
 *
 * The tfjs internals read here, each in one module: `proto/api_pb` (graph_writer), the backend's SavedModel
 * API (graph_session), `nodesByDepth` (model_nodes), the engine's gradient tape (gradient_tape), a
 * variable's `dataId` (frozen_graph's {@link weightFingerprint}).
 *
 * @example The frozen part of a model as one graph: same outputs as running it op by op
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import type { SymbolicTensor, Tensor } from "../runtime/mod.ts";
 * import { FrozenGraph, frozenRegion } from "./mod.ts";
 *
 * const input = tf.input({ shape: [8, 8, 3] });
 * const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", useBias: false });
 * const bn = tf.layers.batchNormalization();
 * const model = tf.model({ inputs: input, outputs: bn.apply(conv.apply(input)) as SymbolicTensor });
 * model.trainable = false;
 *
 * const graph = FrozenGraph.compile(model, frozenRegion(model))!;
 * const x = tf.randomUniform([2, 8, 8, 3]);
 * const [fromGraph] = graph.run(x); // BatchNormalization folded into the convolution
 * const eager = model.predict(x) as Tensor;
 * assert.ok(tf.max(tf.abs(tf.sub(fromGraph, eager))).dataSync()[0] < 1e-5);
 * tf.dispose([x, fromGraph, eager]);
 * graph.dispose();
 * ```
 *
 * @module
 */
export {
  type Attr,
  DT_BOOL,
  DT_FLOAT,
  DT_INT32,
  DT_STRING,
  DT_UINT8,
  FLOAT_T,
  GraphWriter,
} from "./graph_writer.ts";
export { GraphSession } from "./graph_session.ts";
export { type GraphNode, type Layer, nodesInOrder } from "./model_nodes.ts";
export {
  type Backward,
  type Emitter,
  type Forward,
  LAYER_KINDS,
  type LayerConfig,
  type LayerKind,
  unsupported,
} from "./layer_kinds.ts";
export { foldableConvolutions, useCounts, writeForward } from "./forward_writer.ts";
export { FrozenGraph, type FrozenRegion, frozenRegion, weightFingerprint } from "./frozen_graph.ts";
export { runFrom } from "./run_from.ts";
export { dependsOnTrainableVariable } from "./gradient_tape.ts";
export { type OnnxAttr, type OnnxDim, type OnnxModelOptions, OnnxWriter } from "./onnx_writer.ts";
export { ONNX_LAYER_KINDS, type OnnxLayerKind, onnxUnsupported } from "./onnx_layer_kinds.ts";
export { checkOnnxExportable, writeOnnxForward } from "./onnx_forward.ts";
export { type OnnxOutput, OnnxSession, type OnnxSessionOptions } from "./onnx_session.ts";
export { type OnnxModelSummary, type OnnxValueSummary, readOnnxSummary } from "./onnx_reader.ts";
