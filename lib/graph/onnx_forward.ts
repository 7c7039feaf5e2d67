/**
 * A functional tfjs-layers model written into an ONNX graph: its image input transposed once from NHWC to
 * NCHW, then its layer calls in order, each through its kind's writer ({@link ONNX_LAYER_KINDS}), every
 * convolution whose output only feeds an inference BatchNormalization folded into it — the same choice of
 * convolutions as the TensorFlow graphs make ({@link foldableConvolutions}).
 *
 * @module
 */
import { foldableConvolutions, useCounts } from "./forward_writer.ts";
import { ONNX_LAYER_KINDS, onnxUnsupported } from "./onnx_layer_kinds.ts";
import type { GraphNode, Layer } from "./model_nodes.ts";
import { nodesInOrder } from "./model_nodes.ts";
import type { OnnxWriter } from "./onnx_writer.ts";
import type { LayersModel } from "./tfjs_types.ts";

/**
 * Throws when a layer of `model` cannot be written into ONNX, naming every such layer and its kind, and
 * when the model is not one image input (`[batch, height, width, channels]`, sizes known) to one output
 * `[batch, logits]`. Returns the model's layer calls in order.
 */
export function checkOnnxExportable(model: LayersModel): GraphNode[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      `model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs: the ONNX ` +
        `export writes models of one image input and one output`,
    );
  }
  const [, h, w, c] = model.inputs[0].shape;
  if (model.inputs[0].shape.length !== 4 || !h || !w || !c) {
    throw new Error(
      `model "${model.name}": input shape [${
        model.inputs[0].shape.map((d) => d ?? "null")
      }]; the ONNX export ` +
        `needs images [batch, height, width, channels] of a known size`,
    );
  }
  const output = model.outputs[0];
  if (output.shape.length !== 2) {
    throw new Error(
      `model "${model.name}": output shape [${output.shape.map((d) => d ?? "null")}]; the ONNX export ` +
        `writes classifiers, whose output is [batch, logits]`,
    );
  }
  const nodes = nodesInOrder(model);
  const problems = nodes.map(onnxUnsupported).filter((p): p is string => p !== null);
  if (problems.length) {
    throw new Error(`model "${model.name}" cannot be exported to ONNX: ${problems.join("; ")}`);
  }
  return nodes;
}

/**
 * Writes `model`'s forward pass on graph tensor `input` (NHWC images, as the model takes them) and returns
 * the name of the output tensor. Checks the model first ({@link checkOnnxExportable}).
 */
export function writeOnnxForward(w: OnnxWriter, model: LayersModel, input: string): string {
  const nodes = checkOnnxExportable(model);
  const folds = foldableConvolutions(nodes, useCounts(nodes, model.outputs), () => true);
  const foldedInto = new Map<GraphNode, GraphNode>([...folds].map(([conv, bn]) => [bn, conv]));
  const names = new Map<number, string>();
  names.set(model.inputs[0].id, w.node("to_nchw", "Transpose", [input], { perm: { ints: [0, 3, 1, 2] } }));
  for (const node of nodes) {
    if (folds.has(node)) continue;
    const source = foldedInto.get(node) ?? node;
    const xs = source.inputTensors.map((t) => {
      const name = names.get(t.id);
      if (name === undefined) throw new Error(`layer "${source.outboundLayer.name}": input written after it`);
      return name;
    });
    const folded: Layer | undefined = source === node ? undefined : node.outboundLayer;
    const y = ONNX_LAYER_KINDS[source.outboundLayer.getClassName()].write(w, source, xs, folded);
    names.set(node.outputTensors[0].id, y);
  }
  return names.get(model.outputs[0].id)!;
}
