/**
 * {@link dependsOnTrainableVariable}: whether a tensor lies on the path of a gradient being computed. It
 * reads tfjs' engine state (`gradientDepth`, the active tape), which tfjs does not declare; this module is
 * the one place that does.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Tensor } from "./tfjs_types.ts";

/**
 * Whether `x` was computed (on the active gradient tape) from a trainable variable — then gradients must
 * flow through the frozen part and it has to run eagerly. Outside a gradient computation: `false`.
 */
export function dependsOnTrainableVariable(x: Tensor): boolean {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth: number; activeTape?: { inputs: Record<string, Tensor>; outputs: Tensor[] }[] };
  }).state;
  if (!state || state.gradientDepth === 0) return false;
  if (!state.activeTape) return true;
  const trainable = new Set<number>();
  for (const v of Object.values(tf.engine().registeredVariables)) if (v.trainable) trainable.add(v.id);
  if (trainable.has(x.id)) return true;
  const producer = new Map<number, Tensor[]>();
  for (const node of state.activeTape) {
    for (const o of node.outputs) if (o) producer.set(o.id, Object.values(node.inputs));
  }
  const seen = new Set<number>();
  const stack = [x.id];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const input of producer.get(id) ?? []) {
      if (!input) continue;
      if (trainable.has(input.id)) return true;
      stack.push(input.id);
    }
  }
  return false;
}
