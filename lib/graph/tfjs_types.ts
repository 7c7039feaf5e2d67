/**
 * The TensorFlow.js types this folder's public API names, under tfjs' names. They are TensorFlow.js' own
 * (documented there, imported from `lib/runtime/mod.ts` everywhere else), so they are marked internal:
 * `deno doc --lint` then takes them as documented rather than asking `lib/graph/mod.ts` to re-export tfjs.
 *
 * @module
 */
import type * as tfjs from "../runtime/mod.ts";

/** @internal TensorFlow.js' `Tensor`. */
export type Tensor = tfjs.Tensor;
/** @internal TensorFlow.js' `LayersModel`. */
export type LayersModel = tfjs.LayersModel;
/** @internal TensorFlow.js' `SymbolicTensor`. */
export type SymbolicTensor = tfjs.SymbolicTensor;
