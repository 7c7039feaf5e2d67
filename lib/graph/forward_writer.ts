/**
 * Writing a model's forward pass into a graph: the layer calls in order, each through its kind's forward
 * writer (`layer_kinds.ts`), with every convolution whose output only feeds an inference
 * BatchNormalization folded into it (`W·s`, `(b − mean)·s + β` with `s = γ/√(var + ε)`), as TensorFlow's
 * grappler folds them for Keras.
 *
 * Shared by the frozen graph (`frozen_graph.ts`: all of it constants) and the compiled training step
 * (`lib/train/train_graph.ts`: constants and fed variables, then the backward pass), so that both fold the
 * same convolutions the same way.
 *
 * @module
 */
import { type Emitter, type Forward, LAYER_KINDS, type LayerConfig } from "./layer_kinds.ts";
import type { GraphNode } from "./model_nodes.ts";

/**
 * How many times each tensor (by id) is consumed by `nodes` or as one of the `outputs`.
 *
 * @example Tensor 1 feeds two layer calls and is an output
 * ```ts
 * import assert from "node:assert";
 * import { useCounts } from "./mod.ts";
 *
 * const call = (inputs: number[]) => ({ inputTensors: inputs.map((id) => ({ id })) });
 * const uses = useCounts([call([0]), call([1]), call([1, 2])], [{ id: 1 }]);
 * assert.deepStrictEqual([...uses], [[0, 1], [1, 3], [2, 1]]);
 * ```
 */
export function useCounts(
  nodes: readonly { inputTensors: readonly { id: number }[] }[],
  outputs: readonly { id: number }[],
): Map<number, number> {
  const uses = new Map<number, number>();
  for (const n of nodes) for (const t of n.inputTensors) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  for (const t of outputs) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  return uses;
}

/**
 * The convolutions of `nodes` whose output goes only into an inference BatchNormalization, which their
 * forward writer then folds (`W·s`, `(b − mean)·s + β`): convolution node → that BatchNormalization node.
 * Both must be constant (`constant`), the convolution linear, its output used once (`uses`: consumers per
 * tensor id) and not `needed` elsewhere.
 */
export function foldableConvolutions(
  nodes: GraphNode[],
  uses: ReadonlyMap<number, number>,
  constant: (node: GraphNode) => boolean,
  needed: ReadonlySet<number> = new Set(),
): Map<GraphNode, GraphNode> {
  const consumer = new Map<number, GraphNode>();
  for (const n of nodes) for (const t of n.inputTensors) consumer.set(t.id, n);
  const folds = new Map<GraphNode, GraphNode>();
  for (const node of nodes) {
    const layer = node.outboundLayer;
    if (!LAYER_KINDS[layer.getClassName()]?.foldsBatchNorm || !constant(node)) continue;
    const out = node.outputTensors[0];
    const next = consumer.get(out.id);
    if (
      (layer.getConfig() as LayerConfig).activation === "linear" && uses.get(out.id) === 1 &&
      !needed.has(out.id) &&
      next?.outboundLayer.getClassName() === "BatchNormalization" && constant(next)
    ) folds.set(node, next);
  }
  return folds;
}

/**
 * Writes the forward pass of `nodes` in order, each convolution of `folds` together with the
 * BatchNormalization it folds into (written where that BatchNormalization stands). `names` maps tensor ids
 * to graph names (the inputs must be there) and receives each node's output; returns each written node's
 * {@link Forward}.
 */
export function writeForward(
  nodes: GraphNode[],
  folds: ReadonlyMap<GraphNode, GraphNode>,
  names: Map<number, string>,
  emitterFor: (node: GraphNode) => Emitter,
): Map<GraphNode, Forward> {
  const foldedInto = new Map([...folds].map(([conv, bn]) => [bn, conv]));
  const forwards = new Map<GraphNode, Forward>();
  for (const node of nodes) {
    if (folds.has(node)) continue;
    const source = foldedInto.get(node) ?? node;
    const xs = source.inputTensors.map((t) => names.get(t.id)!);
    const fwd = LAYER_KINDS[source.outboundLayer.getClassName()].forward(
      emitterFor(node),
      source,
      xs,
      source === node ? undefined : node.outboundLayer,
    );
    forwards.set(node, fwd);
    names.set(node.outputTensors[0].id, fwd.y);
  }
  return forwards;
}
