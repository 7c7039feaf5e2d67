/**
 * {@link runFrom}: a functional model run eagerly from tensors fed in the middle of its graph — the
 * continuation after a frozen graph (`frozen_graph.ts`) has computed the region it replaces, as
 * tfjs-layers' own executor would run those layers.
 *
 * @module
 */
import type { LayersModel, Tensor } from "./tfjs_types.ts";
import { nodesInOrder } from "./model_nodes.ts";

/**
 * Runs `model` from `feeds` (boundary tensors by symbolic-tensor id) through the layers that are not
 * fed, as tfjs-layers' own executor does; returns the model's outputs. `kwargs` go to every layer call.
 * The nodes of `skip` (a compiled region, whose used outputs are fed) are never run.
 */
export function runFrom(
  model: LayersModel,
  feeds: Map<number, Tensor>,
  kwargs: Record<string, unknown>,
  skip: ReadonlySet<unknown> = new Set(),
): Tensor[] {
  const values = new Map(feeds);
  const needed = new Set(model.outputs.map((t) => t.id));
  for (const node of nodesInOrder(model)) {
    if (skip.has(node) || node.outputTensors.every((t) => values.has(t.id))) continue;
    if (node.outboundLayer.getClassName() === "InputLayer") continue;
    const inputs = node.inputTensors.map((t) => values.get(t.id));
    if (inputs.some((t) => t === undefined)) continue;
    const args = { ...node.callArgs, ...kwargs };
    const y = node.outboundLayer.apply(inputs.length === 1 ? inputs[0]! : inputs as Tensor[], args);
    const ys = Array.isArray(y) ? y : [y];
    node.outputTensors.forEach((t, i) => values.set(t.id, ys[i] as Tensor));
  }
  return [...needed].map((id) => {
    const t = values.get(id);
    if (!t) {
      throw new Error(`runFrom: model "${model.name}" output ${id} could not be computed from the feeds`);
    }
    return t;
  });
}
