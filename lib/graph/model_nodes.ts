/**
 * A tfjs-layers functional model as the graph of layer calls it is: {@link GraphNode}s (one call of a layer,
 * with its input and output symbolic tensors) in the order tfjs-layers runs them ({@link nodesInOrder}).
 * Reads `nodesByDepth`, a field tfjs-layers' `LayersModel` has but does not declare; this module is the one
 * place that does.
 *
 * @module
 */
import type { LayersModel, SymbolicTensor } from "./tfjs_types.ts";

/** A layer of a tfjs-layers model (tfjs exports no type of that name). */
export type Layer = LayersModel["layers"][number];

/** tfjs-layers' graph node: one call of a layer inside a functional model. */
export interface GraphNode {
  /** The layer called. */
  outboundLayer: Layer;
  /** The call's inputs. */
  inputTensors: SymbolicTensor[];
  /** The call's outputs. */
  outputTensors: SymbolicTensor[];
  /** The keyword arguments of the call (e.g. `training`). */
  callArgs?: Record<string, unknown>;
}

type Functional = LayersModel & { nodesByDepth: Record<string, GraphNode[]> };

/** The nodes of `model`'s graph in execution order (deepest first, as tfjs-layers runs them). */
export function nodesInOrder(model: LayersModel): GraphNode[] {
  const byDepth = (model as Functional).nodesByDepth;
  return Object.keys(byDepth).map(Number).sort((a, b) => b - a).flatMap((d) => byDepth[d]);
}
