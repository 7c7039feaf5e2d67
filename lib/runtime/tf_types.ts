/**
 * The TensorFlow.js types the project names, importable as types (`import type { Tensor } from
 * "lib/runtime/mod.ts"`): each is TensorFlow.js' own type, under its own name.
 *
 * The generic ones (`Tensor<R>`, `Variable<R>`, `data.Dataset<T>`) are spelled through the functions that
 * return them (`tf.zeros`, `tf.variable`, `tf.data.array`): written as `Tensor<R>` of the npm package,
 * `deno doc --lint` follows the reference into tfjs' declarations and reports each of them as an
 * undocumented part of this project's API.
 *
 * @module
 */
import type * as tfjs from "@tensorflow/tfjs-node";
import type { tf } from "./tf.ts";

/** The TensorFlow.js API as tfjs-node exports it: the type of `tf`. */
export type TensorFlow = typeof tfjs;
/** The rank of a tensor (`"R0"` … `"R6"`), TensorFlow.js' `Rank`. */
export type Rank = tfjs.Rank;
/** An element type: `"float32"`, `"int32"`, `"bool"`, `"complex64"` or `"string"`. */
export type DataType = tfjs.DataType;
/** A layer's shape with `null` for unknown dimensions (the batch), as tfjs-layers writes it. */
export type Shape = tfjs.Shape;
/** TensorFlow.js' `Tensor` (of rank `R`). */
export type Tensor<R extends Rank = Rank> = ReturnType<typeof tf.zeros<R>>;
/** A rank-0 tensor. */
export type Scalar = tfjs.Scalar;
/** A rank-1 tensor. */
export type Tensor1D = tfjs.Tensor1D;
/** A rank-2 tensor. */
export type Tensor2D = tfjs.Tensor2D;
/** A rank-3 tensor, e.g. one image `[height, width, channels]`. */
export type Tensor3D = tfjs.Tensor3D;
/** A rank-4 tensor, e.g. a batch of images `[batch, height, width, channels]`. */
export type Tensor4D = tfjs.Tensor4D;
/** Tensors nested in arrays and objects, as datasets yield them. */
export type TensorContainer = tfjs.TensorContainer;
/** Tensors by name. */
export type NamedTensorMap = tfjs.NamedTensorMap;
/** TensorFlow.js' `Variable`: a mutable tensor (weights, optimizer slots). */
export type Variable<R extends Rank = Rank> = ReturnType<typeof tf.variable<R>>;
/** tfjs-layers' model (`tf.model`, `tf.loadLayersModel`). */
export type LayersModel = tfjs.LayersModel;
/** tfjs-layers' `Sequential` model. */
export type Sequential = tfjs.Sequential;
/** A symbolic tensor of the functional API (`tf.input`, `layer.apply`). */
export type SymbolicTensor = tfjs.SymbolicTensor;
/** TensorFlow.js' optimizer base class. */
export type Optimizer = tfjs.Optimizer;
/** The hooks of a `tf.CustomCallback`. */
export type CustomCallbackArgs = tfjs.CustomCallbackArgs;
/** Logs handed to callbacks: metric name → value. */
export type Logs = tfjs.Logs;

/** tfjs-data's types. */
export declare namespace data {
  /** tfjs-data's `Dataset` of elements `T`. */
  export type Dataset<T extends TensorContainer> = ReturnType<typeof tf.data.array<T>>;
}
