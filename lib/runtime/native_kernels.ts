/**
 * What tfjs-node 4.22 lacks or gets wrong on the native backend, put right with TensorFlow's own ops.
 * `lib/runtime/tf.ts` installs all of it ({@link installNativeKernels}) once the backend is loaded:
 * - `SelectV2` (for {@link selectBroadcast}): TensorFlow's broadcasting select, which tfjs lacks.
 * - `Transform` (`tf.image.transform`, used by RandomRotation) is not registered at all: run
 *   `ImageProjectiveTransformV3`, the op Keras' augmentation layers use.
 * - `ResizeBilinearGrad` drops `half_pixel_centers`, so gradients of a half-pixel resize were those of a
 *   different resize (and took the wrong shape for non-square images).
 * - ReLU6 as one native op with TensorFlow's gradient; inference batch normalization as a multiply and an
 *   add; the gradient tape freed when a gradient computation throws.
 *
 * @module
 */
import type { Tensor, Tensor4D, TensorFlow } from "./tf_types.ts";

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

/** The TensorFlow.js the kernels were installed into (for {@link selectBroadcast}). */
let installed: TensorFlow | undefined;

/** Installs every kernel and fix of this module into `t` (tfjs-node, "tensorflow" backend). */
export function installNativeKernels(t: TensorFlow): void {
  registerTransform(t);
  registerSelectV2(t);
  registerResizeBilinearGrad(t);
  nativeRelu6(t);
  batchNormAsScaleShift(t);
  disposeTapeOnError(t);
  installed = t;
}

/**
 * `condition ? a : b` with `condition` broadcast against `a` and `b` (TensorFlow's `SelectV2`), e.g. a
 * `[batch, 1, 1, 1]` mask choosing whole images — without materializing the mask at full size, which
 * `tf.where` does.
 */
export function selectBroadcast<T extends Tensor>(condition: Tensor, a: T, b: T): T {
  if (condition.dtype !== "bool") {
    throw new Error(`selectBroadcast: condition must be bool, got ${condition.dtype}`);
  }
  if (installed === undefined) throw new Error("selectBroadcast: import lib/runtime/tf.ts first");
  return installed.engine().runKernel("SelectV2", { condition, t: a, e: b }) as T;
}

/** `tf.image.transform` as `ImageProjectiveTransformV3`. */
function registerTransform(t: TensorFlow) {
  t.registerKernel({
    kernelName: "Transform",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as Backend;
      const { image, transforms } = inputs as unknown as { image: Tensor4D; transforms: unknown };
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
}

/** TensorFlow's `SelectV2` and its gradient. */
function registerSelectV2(t: TensorFlow) {
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
      const g = dy as Tensor;
      const mask = t.cast(saved[0], g.dtype);
      return { t: () => t.mul(g, mask), e: () => t.mul(g, t.sub(1, mask)) };
    },
  });
}

/** `ResizeBilinearGrad` with `half_pixel_centers` passed on. */
function registerResizeBilinearGrad(t: TensorFlow) {
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
function nativeRelu6(t: TensorFlow) {
  type ReLULayer = { call(inputs: unknown, kwargs: unknown): unknown; maxValue?: number };
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
 * 2.21) is many times slower than the same arithmetic as two broadcast ops (docs/performance.md). The
 * gradient stays tfjs' own (`FusedBatchNorm`'s registered gradient), which only needs the kernel's inputs.
 */
function batchNormAsScaleShift(t: TensorFlow) {
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
  registerBatchNormGradient(t);
}

/**
 * tfjs' own gradient computes x − mean and dy·scale up front and tiles 1/√(var + ε) to the full activation
 * shape for dx (≈ 8 passes over the activation per layer); this one makes one pass per requested input:
 * dx = dy·s, dβ = Σdy, dγ = Σdy·(x − mean)/√(var + ε).
 */
function registerBatchNormGradient(t: TensorFlow) {
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
function disposeTapeOnError(t: TensorFlow) {
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
