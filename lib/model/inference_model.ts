/**
 * A base model that always runs in inference mode, whatever its caller asks — generic runtime used by the
 * classifier, `fit` and the validation cache, kept apart from the tutorial's recipe (`classifier.ts`).
 *
 * Keras' `base_model(x, training=False)` keeps BatchNormalization on its moving statistics (never updated)
 * while the layers' weights may still train. TensorFlow.js drops that call argument (tfjs issue 7250): `fit`
 * runs every layer of the graph, nested models included, with `training: true`, and its BatchNormalization
 * then normalizes by batch statistics and updates its moving mean/variance even when not trainable.
 * {@link InferenceModel} pins `call` to `training: false`; it is a registered class (name
 * "InferenceModel"), so the pinning survives save/load. Gradients still flow through it to whatever weights
 * are trainable.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor } from "../runtime/mod.ts";
import { dependsOnTrainableVariable, FrozenGraph, frozenRegion, runFrom } from "../graph/mod.ts";

/**
 * A functional model that always runs in inference mode (`training: false`), whatever its caller asks.
 *
 * Its frozen part — every layer computable without a trainable weight: the whole base while it is
 * frozen, the layers before `fineTuneAt` while fine-tuning — runs as one TensorFlow graph
 * ({@link FrozenGraph}: BatchNormalization folded into the convolutions, grappler-optimized, one native
 * call instead of one per op); the rest runs eagerly from the graph's outputs, so gradients reach every
 * trainable weight. The graph is rebuilt when the frozen layers or their weights change, and skipped when the input
 * itself depends on a trainable variable. Gradients with respect to the model's *input* (e.g. saliency
 * maps) need `frozenGraph = false`.
 */
export class InferenceModel extends tf.LayersModel {
  /** The registered class name, so that a saved classifier loads back with its base pinned. */
  static override className = "InferenceModel";
  /** Run the frozen part as one TensorFlow graph (default true); false: op by op, as tfjs does. */
  frozenGraph = true;
  private compiled: FrozenGraph | null = null;

  /** Runs the model with `training: false` whatever `kwargs` says; the frozen part as one graph when it can. */
  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
    const args = { ...kwargs, training: false };
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const graph = this.frozenGraph && !dependsOnTrainableVariable(x) ? this.frozenPart() : null;
    // Inputs the graph was not written for (another dtype or image size) run op by op, as before.
    if (!graph?.accepts(x)) return super.call(inputs, args);
    return tf.tidy(() => {
      const boundary = graph.run(x);
      const feeds = new Map(graph.region.boundary.map((t, i) => [t.id, boundary[i]]));
      feeds.set(this.inputs[0].id, x); // for layers outside the region that read the input directly
      const outputs = runFrom(this, feeds, args, new Set(graph.region.nodes));
      return outputs.length === 1 ? outputs[0] : outputs;
    });
  }

  /**
   * The compiled frozen part for the current trainable flags and weights, compiled now if needed; `null`
   * when `frozenGraph` is off or nothing is frozen. Owned by this model: do not dispose it.
   */
  frozenPart(): FrozenGraph | null {
    if (!this.frozenGraph) return null;
    const region = frozenRegion(this);
    if (this.compiled?.matches(region)) return this.compiled;
    this.compiled?.dispose();
    this.compiled = region ? FrozenGraph.compile(this, region) : null;
    return this.compiled;
  }

  /** Frees the compiled frozen part, then the model's weights (tfjs' `dispose`). */
  override dispose(): ReturnType<InstanceType<typeof tf.LayersModel>["dispose"]> {
    this.compiled?.dispose();
    this.compiled = null;
    return super.dispose();
  }
}
tf.serialization.registerClass(InferenceModel);

/**
 * `base` as an {@link InferenceModel}: the same layers and weights (nothing is copied), the same name,
 * always called with `training: false` — the tutorial's `base_model(x, training=False)`.
 */
export function inferenceMode(base: LayersModel): InferenceModel {
  if (base instanceof InferenceModel) return base;
  if (base.inputs.length !== 1 || base.outputs.length !== 1) {
    throw new Error(
      `inferenceMode: expected a base model with one input and one output, got ${base.inputs.length} and ` +
        `${base.outputs.length}`,
    );
  }
  const wrapped = new InferenceModel({ inputs: base.inputs, outputs: base.outputs, name: base.name });
  wrapped.trainable = base.trainable;
  return wrapped;
}
