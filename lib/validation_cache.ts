/**
 * Validation from cached features while everything before the trainable head is frozen — the tutorial's
 * first phase.
 *
 * With the base frozen, the classifier up to its first trainable layer (augmentation — off outside
 * training —, `preprocess_input`, the base in inference mode, pooling, dropout) is a fixed function of the
 * image. {@link CachedValidation} runs it once over the validation set, keeps the features (a few KB per
 * image), and evaluates each epoch with the head alone: the same loss and metrics as `evaluateDataset` on
 * the whole model (per-example means over the set), for the cost of a Dense layer. Every epoch it checks
 * that no weight before the head was replaced (a tfjs `Variable` gets a new `dataId` on every `assign`)
 * and recomputes the features if one was.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { data, LayersModel, Logs, SymbolicTensor, Tensor } from "./tf.ts";

type Dataset = data.Dataset<any>;
type LayerT = LayersModel["layers"][number];
type CompiledModel = LayersModel & {
  lossFunctions?: ((yTrue: Tensor, yPred: Tensor) => Tensor)[];
  metricsTensors?: [(yTrue: Tensor, yPred: Tensor) => Tensor, number][];
  metricsNames?: string[];
};

/** Above this many values per example the cache is not worth its memory (and the head is not light). */
const MAX_FEATURES = 16384;

/** The layers after the cut, when they form a single chain ending at the model's output. */
function headChain(model: LayersModel, cut: number): LayerT[] | null {
  const layers = model.layers.slice(cut + 1);
  let previous = model.layers[cut];
  for (const layer of layers) {
    const nodes = (layer as unknown as { inboundNodes: { inboundLayers: LayerT[] }[] }).inboundNodes;
    if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1 || nodes[0].inboundLayers[0] !== previous) {
      return null;
    }
    previous = layer;
  }
  return previous === model.outputLayers?.[0] ? layers : null;
}

/** Cached-feature validation of a compiled single-input, single-output model; see the module notes. */
export class CachedValidation {
  private features?: Tensor;
  private labels?: Tensor;
  private fingerprint: unknown[] = [];

  private constructor(
    private readonly model: CompiledModel,
    private readonly validation: Dataset,
    private readonly trunk: LayersModel,
    private readonly frozen: LayerT[],
    private readonly head: LayerT[],
  ) {}

  /**
   * A cache for `model` (compiled) and `validation` (`{xs, ys}` batches), or `null` when it does not apply:
   * the first trainable layer is the first layer or inside a nested model (fine-tuning), the layers from it
   * on are not a plain chain, or the features would be large (> 16384 values per example).
   */
  static create(model: LayersModel, validation: Dataset): CachedValidation | null {
    const m = model as CompiledModel;
    if (!m.lossFunctions?.length || model.inputs.length !== 1 || model.outputs.length !== 1) return null;
    const first = model.layers.findIndex((l) => l.trainable && l.trainableWeights.length > 0);
    if (first <= 0) return null;
    const frozen = model.layers.slice(0, first);
    if (frozen.some((l) => l.trainable && l.trainableWeights.length > 0)) return null;
    const head = headChain(model, first - 1);
    if (head === null || head.some((l) => l instanceof tf.LayersModel)) return null;
    const perExample = (model.layers[first - 1].output as SymbolicTensor).shape.slice(1);
    if (
      perExample.some((d) => d === null) ||
      perExample.reduce((a: number, d) => a * (d ?? 1), 1) > MAX_FEATURES
    ) {
      return null;
    }
    const trunk = tf.model({
      inputs: model.inputs,
      outputs: model.layers[first - 1].output as SymbolicTensor,
    });
    return new CachedValidation(m, validation, trunk, frozen, head);
  }

  private currentFingerprint(): unknown[] {
    return this.frozen.flatMap((l) =>
      l.weights.map((w) => (w as unknown as { read(): Tensor }).read().dataId)
    );
  }

  private stale(): boolean {
    const now = this.currentFingerprint();
    return this.features === undefined || now.length !== this.fingerprint.length ||
      now.some((id, i) => id !== this.fingerprint[i]);
  }

  private async computeFeatures(): Promise<void> {
    this.disposeFeatures();
    const features: Tensor[] = [];
    const labels: Tensor[] = [];
    await this.validation.forEachAsync((batch: { xs: Tensor; ys: Tensor }) => {
      // forEachAsync disposes each element afterwards: keep copies.
      features.push(tf.tidy(() => this.trunk.apply(batch.xs, { training: false }) as Tensor));
      labels.push(batch.ys.clone());
    });
    if (features.length === 0) throw new Error("CachedValidation: the validation dataset is empty");
    this.features = tf.concat(features);
    this.labels = tf.concat(labels);
    tf.dispose([...features, ...labels]);
    this.fingerprint = this.currentFingerprint();
  }

  /** `{val_loss, val_<metric>…}` over the whole validation set, as `fit` reports them. */
  async evaluate(): Promise<Record<string, number>> {
    if (this.stale()) await this.computeFeatures();
    const m = this.model;
    const names = m.metricsNames ?? ["loss"];
    const values = tf.tidy(() => {
      let y = this.features!;
      for (const layer of this.head) y = layer.apply(y, { training: false }) as Tensor;
      const out = [tf.mean(m.lossFunctions![0](this.labels!, y))];
      for (const [fn] of m.metricsTensors ?? []) out.push(tf.mean(fn(this.labels!, y)));
      return out;
    });
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
    return this.features?.shape[0] ?? 0;
  }

  private disposeFeatures() {
    tf.dispose([this.features!, this.labels!].filter(Boolean));
    this.features = this.labels = undefined;
  }

  /** Frees the cached features (the trunk model shares the classifier's layers and weights). */
  dispose(): void {
    this.disposeFeatures();
  }
}
