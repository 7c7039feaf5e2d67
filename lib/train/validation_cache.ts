/**
 * Validation from cached intermediate results of the frozen part of a model.
 *
 * The validation images never change and nothing before the first trainable weight changes during `fit`,
 * so everything up to there is a fixed function of the image. {@link CachedValidation} runs it once over
 * the validation set, keeps the results, and evaluates each epoch from them: the same loss and metrics as
 * `evaluateDataset` on the whole model (per-example means over the set), without recomputing the frozen
 * part. Two cuts:
 * - frozen base (the tutorial's first phase): the pooled features before the Dense head (a few KB per
 *   image); an epoch's validation costs one Dense layer;
 * - fine-tuning: the outputs of the base's compiled frozen part (`InferenceModel.frozenPart()`, the layers
 *   before `fineTuneAt`; ≈ 70 KB per 160×160 image at alpha 0.35, 270 KB at alpha 1.0), from which the
 *   trainable layers and the head run each epoch.
 * Every epoch it checks that no weight before the cut was replaced (a tfjs `Variable` gets a new `dataId`
 * on every `assign`) and recomputes the cache if one was.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Logs, SymbolicTensor, Tensor } from "../runtime/mod.ts";
import { InferenceModel } from "../model/mod.ts";
import { runFrom, weightFingerprint } from "../graph/mod.ts";
import type { BatchDataset } from "./batch_checks.ts";

type LayerT = LayersModel["layers"][number];

/** Above this many values per example the pooled-feature cache is not worth its memory. */
const MAX_FEATURES = 16384;
/** The same for the fine-tuning cut: 512 KB per example (the boundary of MobileNetV2's layer 100 at 160×160, alpha 1.0, is 268 KB). */
const MAX_INNER_FEATURES = 131072;
/** Examples per evaluation chunk in the fine-tuning cut (the trainable layers run on these). */
const CHUNK = 64;

/** The layers after the cut, when they form a single chain ending at the model's output. */
function headChain(model: LayersModel, cut: number): LayerT[] | null {
  const layers = model.layers.slice(cut + 1);
  let previous = model.layers[cut];
  for (const layer of layers) {
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1 || nodes[0].inboundLayers[0] !== previous) {
      return null;
    }
    previous = layer;
  }
  return previous === model.outputLayers?.[0] ? layers : null;
}

/** Cached-feature validation of a compiled single-input, single-output model; see the module notes. */
export class CachedValidation {
  /** One tensor per cut tensor, all examples along the first axis. */
  private features?: Tensor[];
  private labels?: Tensor;
  private fingerprint: unknown[] = [];

  private constructor(
    private readonly model: LayersModel,
    private readonly validation: BatchDataset,
    private readonly trunk: LayersModel,
    private readonly frozen: LayerT[],
    private readonly head: LayerT[],
    /** Fine-tuning cut: the base whose frozen part's outputs are cached (the first layer of `head`). */
    private readonly base?: InferenceModel,
  ) {}

  /**
   * A cache for `model` (compiled) and `validation` (`{xs, ys}` batches), or `null` when it does not apply:
   * the first trainable layer is the first layer, or a nested model other than an `InferenceModel` with a
   * compiled frozen part, the layers after the cut are not a plain chain, or the cached values would be
   * large (> 16384 values per example for pooled features, > 131072 inside the base).
   */
  static create(model: LayersModel, validation: BatchDataset): CachedValidation | null {
    if (!model.lossFunctions?.length || model.inputs.length !== 1 || model.outputs.length !== 1) return null;
    const first = model.layers.findIndex((l) => l.trainable && l.trainableWeights.length > 0);
    if (first <= 0) return null;
    const frozen = model.layers.slice(0, first);
    if (frozen.some((l) => l.trainable && l.trainableWeights.length > 0)) return null;
    const trunk = () =>
      tf.model({ inputs: model.inputs, outputs: model.layers[first - 1].output as SymbolicTensor });
    const base = model.layers[first];
    if (base instanceof InferenceModel) {
      // Fine-tuning: cut at the base's compiled frozen part.
      const after = headChain(model, first);
      const region = base.frozenPart()?.region;
      if (!after || after.some((l) => l instanceof tf.LayersModel) || !region) return null;
      const perExample = region.boundary.reduce(
        (sum, t) => sum + t.shape.slice(1).reduce((a: number, d) => a * (d ?? Infinity), 1),
        0,
      );
      if (!(perExample <= MAX_INNER_FEATURES)) return null;
      return new CachedValidation(model, validation, trunk(), frozen, [base, ...after], base);
    }
    const head = headChain(model, first - 1);
    if (head === null || head.some((l) => l instanceof tf.LayersModel)) return null;
    const perExample = (model.layers[first - 1].output as SymbolicTensor).shape.slice(1);
    if (
      perExample.some((d) => d === null) ||
      perExample.reduce((a: number, d) => a * (d ?? 1), 1) > MAX_FEATURES
    ) {
      return null;
    }
    return new CachedValidation(model, validation, trunk(), frozen, head);
  }

  /** Identities of the weights before the cut (and of the base's compiled frozen part). */
  private currentFingerprint(): unknown[] {
    const ids = weightFingerprint(this.frozen);
    // The compiled part is rebuilt (a new object) whenever its layers or weights change.
    if (this.base) ids.push(this.base.frozenPart());
    return ids;
  }

  /** Whether the cache is missing or a weight before the cut changed since it was computed. */
  private stale(): boolean {
    const now = this.currentFingerprint();
    return this.features === undefined || now.length !== this.fingerprint.length ||
      now.some((id, i) => id !== this.fingerprint[i]);
  }

  /** The cached tensors for one batch of images: the trunk's output, or the base's frozen-part outputs. */
  private cut(xs: Tensor): Tensor[] {
    return tf.tidy(() => {
      const y = this.trunk.apply(xs, { training: false }) as Tensor;
      if (!this.base) return [y];
      const graph = this.base.frozenPart();
      if (!graph) throw new Error("CachedValidation: the base no longer has a frozen part");
      return graph.run(y);
    });
  }

  /** Runs the frozen part over the validation set once and keeps its outputs and the labels. */
  private async computeFeatures(): Promise<void> {
    this.disposeFeatures();
    const batches: Tensor[][] = [];
    const labels: Tensor[] = [];
    try {
      await this.validation.forEachAsync((batch: { xs: Tensor; ys: Tensor }) => {
        // forEachAsync disposes each element afterwards: keep copies.
        batches.push(this.cut(batch.xs));
        labels.push(batch.ys.clone());
      });
    } catch (e) {
      tf.dispose([...batches.flat(), ...labels]); // a failing batch: free what was cached so far
      throw e;
    }
    if (batches.length === 0) throw new Error("CachedValidation: the validation dataset is empty");
    this.features = batches[0].map((_, k) => tf.concat(batches.map((b) => b[k])));
    this.labels = tf.concat(labels);
    tf.dispose([...batches.flat(), ...labels]);
    this.fingerprint = this.currentFingerprint();
  }

  /** The model's outputs for examples [start, start + size) of the cache. */
  private headOutput(start: number, size: number): Tensor {
    const slices = this.features!.map((f) => f.slice(start, size));
    let y: Tensor;
    let rest = this.head;
    if (this.base) {
      const region = this.base.frozenPart()!.region;
      const feeds = new Map(region.boundary.map((t, i) => [t.id, slices[i]]));
      y = runFrom(this.base, feeds, { training: false }, new Set(region.nodes))[0];
      rest = this.head.slice(1);
    } else {
      y = slices[0];
    }
    for (const layer of rest) y = layer.apply(y, { training: false }) as Tensor;
    return y;
  }

  /** `{val_loss, val_<metric>…}` over the whole validation set, as `fit` reports them. */
  async evaluate(): Promise<Record<string, number>> {
    if (this.stale()) await this.computeFeatures();
    const m = this.model;
    const names = m.metricsNames ?? ["loss"];
    const n = this.labels!.shape[0];
    const chunk = this.base ? CHUNK : n;
    const fns = [m.lossFunctions![0], ...(m.metricsTensors ?? []).map(([fn]) => fn)];
    // Per-example values summed chunk by chunk, then divided by the count: the means over the whole set.
    const sums: Tensor[] = fns.map(() => tf.scalar(0));
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const next = tf.tidy(() => {
        const y = this.headOutput(start, size);
        const labels = this.labels!.slice(start, size);
        return fns.map((fn, k) => tf.add(sums[k], tf.sum(fn(labels, y))));
      });
      tf.dispose(sums.splice(0, sums.length, ...next));
    }
    const values = sums.map((s) => tf.div(s, n));
    tf.dispose(sums);
    const numbers = await Promise.all(values.map(async (v) => (await v.data())[0]));
    tf.dispose(values);
    return Object.fromEntries(numbers.map((v, i) => [`val_${names[i]}`, v]));
  }

  /** A callback that adds the validation results to each epoch's logs; list it before loggers and History. */
  callback(): InstanceType<typeof tf.Callback> {
    const evaluate = () => this.evaluate();
    return new (class extends tf.Callback {
      override async onEpochEnd(_epoch: number, logs?: Logs): Promise<void> {
        if (logs) Object.assign(logs, await evaluate());
      }
    })();
  }

  /** Images currently cached. */
  get size(): number {
    return this.labels?.shape[0] ?? 0;
  }

  /** Frees the cached tensors. */
  private disposeFeatures(): void {
    tf.dispose([...this.features ?? [], ...this.labels ? [this.labels] : []]);
    this.features = this.labels = undefined;
  }

  /** Frees the cached features (the trunk model shares the classifier's layers and weights). */
  dispose(): void {
    this.disposeFeatures();
  }
}
