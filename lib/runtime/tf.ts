/**
 * The one import point for TensorFlow.js: the tfjs-node native backend (TensorFlow's C library).
 *
 * Deno's `node:util` lacks helpers that tfjs-node calls (`isNullOrUndefined`; tfjs issue 8609), so they
 * are patched in before tfjs-node loads. If the native addon is missing this module throws; it never
 * falls back to the pure-JS backend.
 *
 * @module
 */
import util from "node:util";
import { ignoreDeprecation, withNativeLogLevel } from "./quiet_startup.ts";

type NodeTf = typeof import("@tensorflow/tfjs-node");

const nodeUtil = util as unknown as Record<string, unknown>;
nodeUtil.isNullOrUndefined ??= (x: unknown) => x === null || x === undefined;
nodeUtil.isArray ??= Array.isArray;

// TensorFlow's C++ INFO logs (oneDNN, CPU feature notes) would fill every command's and notebook cell's
// stderr; level 1 hides INFO only, so TensorFlow's warnings and errors still show.
if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "1");
// vega's node-fetch requires `punycode`: a deprecation in a dependency, nothing the user can act on.
ignoreDeprecation("DEP0040");

/** Thrown when the tfjs-node native backend cannot be loaded. */
export class NativeBackendError extends Error {
  constructor(detail: string, options?: ErrorOptions) {
    super(
      `The TensorFlow native backend (tfjs-node) is not installed or cannot load: run \`deno task setup\` ` +
        `in the project folder, then retry. (${detail})`,
      options,
    );
    this.name = "NativeBackendError";
  }
}

async function loadNative(): Promise<NodeTf> {
  let mod: NodeTf;
  try {
    // The INFO lines TensorFlow logs while it loads come before it reads TF_CPP_MIN_LOG_LEVEL.
    mod = await withNativeLogLevel(() => import("@tensorflow/tfjs-node"));
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new NativeBackendError(message, { cause: e });
  }
  // tfjs-node registers and selects "tensorflow" on import; anything else means a silent fallback.
  if (mod.getBackend() !== "tensorflow") {
    throw new NativeBackendError(`active backend is "${mod.getBackend()}", expected "tensorflow"`);
  }
  return mod;
}

/** TensorFlow.js with the tfjs-node API (`tf.node`, `tf.io.fileSystem`, …) on the native backend. */
export const tf: NodeTf = await loadNative();
registerNativeKernels(tf);
nativeRelu6(tf);
batchNormAsScaleShift(tf);
disposeTapeOnError(tf);

/** Version of the TensorFlow C library the native backend runs (e.g. `"2.21.0"`). */
export function tensorflowVersion(): string {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  const version = backend.binding?.TF_Version;
  if (typeof version !== "string") throw new NativeBackendError("the addon did not report TF_Version");
  return version;
}

/**
 * `condition ? a : b` with `condition` broadcast against `a` and `b` (TensorFlow's `SelectV2`), e.g. a
 * `[batch, 1, 1, 1]` mask choosing whole images — without materializing the mask at full size, which
 * `tf.where` does.
 */
export function selectBroadcast<T extends import("@tensorflow/tfjs-node").Tensor>(
  condition: import("@tensorflow/tfjs-node").Tensor,
  a: T,
  b: T,
): T {
  if (condition.dtype !== "bool") {
    throw new Error(`selectBroadcast: condition must be bool, got ${condition.dtype}`);
  }
  return tf.engine().runKernel("SelectV2", { condition, t: a, e: b }) as T;
}

/** What the kernels below use of tfjs-node's backend: its C binding and eager op execution. */
type Backend = {
  binding: Record<string, number>;
  executeSingleOutput(name: string, attrs: unknown[], inputs: unknown[]): unknown;
};
/** A TF_ATTR_TYPE op attribute for a tfjs dtype. */
function typeAttr(name: string, dtype: string, b: Backend) {
  if (dtype !== "float32" && dtype !== "int32") {
    throw new Error(`native kernel: dtype ${dtype} not supported (float32 or int32 expected)`);
  }
  return {
    name,
    type: b.binding.TF_ATTR_TYPE,
    value: dtype === "float32" ? b.binding.TF_FLOAT : b.binding.TF_INT32,
  };
}

/**
 * Kernels tfjs-node 4.22 lacks or gets wrong on the native backend, mapped onto TensorFlow's own ops:
 * - `SelectV2` (for {@link selectBroadcast}): TensorFlow's broadcasting select, which tfjs lacks.
 * - `Transform` (`tf.image.transform`, used by RandomRotation) is not registered at all: run
 *   `ImageProjectiveTransformV3`, the op Keras' augmentation layers use.
 * - `ResizeBilinearGrad` drops `half_pixel_centers`, so gradients of a half-pixel resize were those of a
 *   different resize (and took the wrong shape for non-square images).
 */
function registerNativeKernels(t: NodeTf) {
  t.registerKernel({
    kernelName: "Transform",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as Backend;
      const { image, transforms } = inputs as unknown as {
        image: import("@tensorflow/tfjs-node").Tensor4D;
        transforms: unknown;
      };
      const { interpolation, fillMode, fillValue, outputShape } = attrs as unknown as {
        interpolation: string;
        fillMode: string;
        fillValue: number;
        outputShape?: [number, number];
      };
      const [, height, width] = image.shape;
      const shape = t.tensor1d(outputShape ?? [height, width], "int32");
      const fill = t.scalar(fillValue, "float32");
      try {
        return b.executeSingleOutput("ImageProjectiveTransformV3", [
          typeAttr("dtype", image.dtype, b),
          { name: "interpolation", type: b.binding.TF_ATTR_STRING, value: interpolation.toUpperCase() },
          { name: "fill_mode", type: b.binding.TF_ATTR_STRING, value: fillMode.toUpperCase() },
        ], [image, transforms, shape, fill]) as never;
      } finally {
        shape.dispose();
        fill.dispose();
      }
    },
  });
  t.registerKernel({
    kernelName: "SelectV2",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as Backend;
      const { condition, t: a, e } = inputs as unknown as Record<string, { dtype: string }>;
      return b.executeSingleOutput("SelectV2", [typeAttr("T", a.dtype, b)], [condition, a, e]) as never;
    },
  });
  t.registerGradient({
    kernelName: "SelectV2",
    inputsToSave: ["condition"],
    gradFunc: (dy, saved) => {
      const g = dy as import("@tensorflow/tfjs-node").Tensor;
      const mask = t.cast(saved[0], g.dtype);
      return { t: () => t.mul(g, mask), e: () => t.mul(g, t.sub(1, mask)) };
    },
  });
  t.unregisterKernel("ResizeBilinearGrad", "tensorflow");
  t.registerKernel({
    kernelName: "ResizeBilinearGrad",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as Backend;
      const { images, dy } = inputs as unknown as { images: { dtype: string }; dy: unknown };
      const { alignCorners, halfPixelCenters } = attrs as unknown as {
        alignCorners: boolean;
        halfPixelCenters: boolean;
      };
      return b.executeSingleOutput("ResizeBilinearGrad", [
        typeAttr("T", images.dtype, b),
        { name: "align_corners", type: b.binding.TF_ATTR_BOOL, value: alignCorners },
        { name: "half_pixel_centers", type: b.binding.TF_ATTR_BOOL, value: halfPixelCenters },
      ], [dy, images]) as never;
    },
  });
}

/**
 * ReLU6 as TensorFlow runs it. tfjs-layers' `ReLU` layer with `maxValue` computes
 * `clipByValue(relu(x), 0, maxValue)` — three native ops (tfjs-node's ClipByValue is Minimum + Maximum), a
 * third of MobileNetV2's forward time — and tfjs' `relu6` gradient is five small ops. Keras 3 runs one
 * `relu6` op for `max_value == 6`, and TensorFlow differentiates it with `Relu6Grad` (gradient 1 for
 * 0 < x < 6, 0 elsewhere); so does this, with the native ops.
 */
function nativeRelu6(t: NodeTf) {
  type ReLULayer = { call(inputs: unknown, kwargs: unknown): unknown; maxValue?: number };
  type Tensor = import("@tensorflow/tfjs-node").Tensor;
  const proto = Object.getPrototypeOf(t.layers.reLU({ maxValue: 6 })) as ReLULayer;
  const call = proto.call;
  proto.call = function (this: ReLULayer, inputs: unknown, kwargs: unknown) {
    if (this.maxValue !== 6) return call.call(this, inputs, kwargs);
    return t.relu6((Array.isArray(inputs) ? inputs[0] : inputs) as Tensor);
  };
  t.registerKernel({
    kernelName: "Relu6GradNative",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as Backend;
      const { dy, x } = inputs as unknown as { dy: Tensor; x: Tensor };
      return b.executeSingleOutput("Relu6Grad", [typeAttr("T", x.dtype, b)], [dy, x]) as never;
    },
  });
  // Gradients are global; other backends (the CPU parity tests) get the same rule from tfjs ops.
  t.registerGradient({
    kernelName: "Relu6",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({
      x: () =>
        t.getBackend() === "tensorflow"
          ? t.engine().runKernel("Relu6GradNative", { dy: dy as Tensor, x: saved[0] }) as Tensor
          : t.mul(dy as Tensor, t.cast(t.logicalAnd(t.greater(saved[0], 0), t.less(saved[0], 6)), "float32")),
    }),
  });
}

/**
 * Inference-mode batch normalization as one multiply and one add: `x · s + (offset − mean · s)` with
 * `s = scale / √(variance + ε)` computed on the per-channel vectors. tfjs-node runs `tf.batchNorm` as
 * TensorFlow's `FusedBatchNorm` (`is_training=false`), which on some CPUs (seen on AMD EPYC with TensorFlow
 * 2.21) takes 20× longer than the same arithmetic as two broadcast ops — 190 ms instead of 10 ms for one of
 * MobileNetV2's 80×80×96 activations of a 32-image batch. The gradient stays tfjs' own (`FusedBatchNorm`'s
 * registered gradient), which only needs the kernel's inputs.
 */
function batchNormAsScaleShift(t: NodeTf) {
  type Tensor = import("@tensorflow/tfjs-node").Tensor;
  t.unregisterKernel("FusedBatchNorm", "tensorflow");
  t.registerKernel({
    kernelName: "FusedBatchNorm",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs }) => {
      const { x, mean, variance, scale, offset } = inputs as unknown as Record<string, Tensor | undefined>;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      return t.tidy(() => {
        let s = t.rsqrt(t.add(variance!, t.scalar(varianceEpsilon)));
        if (scale) s = t.mul(s, scale);
        const shift = offset ? t.sub(offset, t.mul(mean!, s)) : t.neg(t.mul(mean!, s));
        return t.add(t.mul(x!, s), shift);
      }) as never;
    },
  });
  // tfjs' own gradient computes x − mean and dy·scale up front and tiles 1/√(var + ε) to the full
  // activation shape for dx (≈ 8 passes over the activation per layer); this one makes one pass per
  // requested input: dx = dy·s, dβ = Σdy, dγ = Σdy·(x − mean)/√(var + ε).
  t.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as Tensor[];
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const g = dy as Tensor;
      const axes = t.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (v: Tensor) => t.reshape(axes.length ? t.sum(v, axes) : v, mean.shape);
      const inv = () => t.rsqrt(t.add(variance, t.scalar(varianceEpsilon)));
      const s = () => (scale ? t.mul(inv(), scale) : inv());
      const dyCentered = () => reduce(t.mul(g, t.sub(x, mean)));
      return {
        x: () => t.mul(g, s()),
        mean: () => t.neg(t.mul(reduce(g), s())),
        variance: () => t.mul(dyCentered(), t.mul(s(), t.mul(t.square(inv()), t.scalar(-0.5)))),
        scale: () => t.mul(dyCentered(), inv()),
        offset: () => reduce(g),
      };
    },
  });
}

/**
 * A gradient computation that throws (a bad batch in `fit`, a layer rejecting its input) leaves the
 * gradient tape's saved tensors alive in tfjs-core: they are `keep`-ed for the backward pass, which only
 * then disposes them — 49 tensors per failed step of the tutorial's model. Dispose them when it throws.
 */
function disposeTapeOnError(t: NodeTf) {
  type Node = { saved?: { dispose(): void }[] };
  const engine = t.engine() as unknown as {
    gradients: (...args: unknown[]) => unknown;
    state: { gradientDepth: number; activeTape: Node[] | null };
  };
  const gradients = engine.gradients;
  engine.gradients = function (this: typeof engine, ...args: unknown[]) {
    try {
      return gradients.apply(this, args);
    } catch (e) {
      if (this.state.gradientDepth === 0 && this.state.activeTape) {
        for (const node of this.state.activeTape) for (const tensor of node.saved ?? []) tensor.dispose();
        this.state.activeTape = null;
      }
      throw e;
    }
  };
}

export default tf;

/** TensorFlow.js types (`Tensor`, `Tensor4D`, `LayersModel`, `Rank`, …), importable as types: `import type { Tensor } from "./tf.ts"`. */
export type * from "@tensorflow/tfjs-node";
