/**
 * The random numbers of training, made repeatable: seeded dropout that draws a new mask every step, and
 * Keras' `keras.utils.set_random_seed` ({@link setRandomSeed}) for everything drawn without a seed.
 *
 * - **Seeded dropout.** tfjs' `Dropout({ seed })` passes its seed to every draw, so it drops the *same*
 *   units at every step; Keras 3's `Dropout(seed=…)` keeps a seed generator that advances per call. Here a
 *   seeded `Dropout` layer draws its `t`-th training mask with {@link dropoutSeed}`(seed, t)` — `t = 0`
 *   is the seed itself, so the first mask is tfjs' own — on both training paths: the compiled step feeds
 *   that draw, and the eager step (tfjs' own) gets the layer's seed set to it for the step
 *   ({@link withDropoutSeeds}). The count `t` is per layer and part of {@link RandomState}.
 * - **Everything unseeded** (tfjs' initializers, unseeded `Dropout`, unseeded augmentation, a dataset
 *   without a seed) draws its seed from `Math.random`. {@link setRandomSeed} replaces `Math.random` with a
 *   seeded generator (sfc32) until `setRandomSeed(null)`, so two runs that make the same calls draw the
 *   same numbers; its state is part of {@link RandomState} too.
 *
 * {@link randomState} / {@link setRandomState} read and restore both for checkpoints and the learning-rate
 * finder, together with the state of any layer that offers one (`getRandomState()` / `setRandomState()`).
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";

type Layer = LayersModel["layers"][number];
/** A `Dropout` layer as tfjs keeps it: `seed` is read at each call. */
type DropoutLayer = Layer & { seed?: number; rate: number };

const MAX_SEED = 2 ** 32 - 1;

/** The seed of the `step`-th training mask of a `Dropout` layer seeded with `seed` (`step` 0: `seed` itself). */
export function dropoutSeed(seed: number, step: number): number {
  if (step === 0) return seed;
  // A 32-bit mix (murmur3's finalizer) of seed and step: neighbouring seeds give unrelated streams.
  let h = (seed ^ Math.imul(step, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Training masks drawn so far by each seeded `Dropout` layer. */
const masksDrawn = new WeakMap<Layer, number>();

/** The seed of `layer`'s next training mask, advancing its count; `undefined` for an unseeded layer. */
export function nextDropoutSeed(layer: Layer): number | undefined {
  const seed = (layer as DropoutLayer).seed;
  if (seed === undefined || seed === null) return undefined;
  const step = masksDrawn.get(layer) ?? 0;
  masksDrawn.set(layer, step + 1);
  return dropoutSeed(seed, step);
}

/** The seed of `layer`'s next training mask without advancing (for a look that does not train). */
export function peekDropoutSeed(layer: Layer): number | undefined {
  const seed = (layer as DropoutLayer).seed;
  return seed === undefined || seed === null ? undefined : dropoutSeed(seed, masksDrawn.get(layer) ?? 0);
}

/** Every layer of `model`, nested models' layers included, depth first. */
export function allLayers(model: LayersModel): Layer[] {
  return model.layers.flatMap((l) => [l, ...(l instanceof tf.LayersModel ? allLayers(l) : [])]);
}

/** The seeded `Dropout` layers of `model` (nested models included). */
export function seededDropouts(model: LayersModel): Layer[] {
  return allLayers(model).filter((l) =>
    l.getClassName() === "Dropout" && typeof (l as DropoutLayer).seed === "number"
  );
}

/**
 * Runs `step` (one eager training step) with each of `layers` (seeded `Dropout`s) seeded for its next
 * mask, then puts their own seeds back.
 */
export function withDropoutSeeds<T>(layers: Layer[], step: () => T): T {
  const own = layers.map((l) => (l as DropoutLayer).seed);
  layers.forEach((l) => (l as DropoutLayer).seed = nextDropoutSeed(l));
  try {
    return step();
  } finally {
    layers.forEach((l, i) => (l as DropoutLayer).seed = own[i]);
  }
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator): four 32-bit words of state. */
class Sfc32 {
  constructor(readonly s: Uint32Array) {}

  static seeded(seed: number): Sfc32 {
    const g = new Sfc32(new Uint32Array([0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0]));
    for (let i = 0; i < 15; i++) g.next(); // mixes the seed through the state
    return g;
  }

  /** A uniform draw in [0, 1) with 32 random bits, as `Math.random` is used. */
  next(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t / 4294967296;
  }
}

const nativeRandom = Math.random;
let generator: Sfc32 | null = null;
let globalSeed: number | null = null;

/**
 * Keras' `keras.utils.set_random_seed(seed)`: from now on `Math.random` is a generator seeded with `seed`
 * (a whole number 0 … 2³² − 1), so every draw made without a seed of its own — tfjs' initializers, unseeded
 * dropout and augmentation, datasets without a seed — repeats from run to run. `null` puts the native
 * `Math.random` back.
 */
export function setRandomSeed(seed: number | null): void {
  if (seed === null) {
    Math.random = nativeRandom;
    generator = null;
    globalSeed = null;
    return;
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new Error(`setRandomSeed: seed must be a whole number from 0 to 2^32 − 1, got ${seed}`);
  }
  useGenerator(Sfc32.seeded(seed));
  globalSeed = seed;
}

function useGenerator(g: Sfc32): void {
  generator = g;
  Math.random = () => g.next();
}

/** The seed given to {@link setRandomSeed}, or `null` while `Math.random` is the native one. */
export function randomSeed(): number | null {
  return globalSeed;
}

/** A layer that keeps random state of its own (e.g. an augmentation layer counting its draws). */
export interface RandomStatefulLayer {
  /** The layer's random state, as plain numbers. */
  getRandomState(): number[];
  /** Puts back a state {@link getRandomState} returned. */
  setRandomState(state: number[]): void;
}

function isRandomStateful(layer: unknown): layer is RandomStatefulLayer {
  const l = layer as Partial<RandomStatefulLayer>;
  return typeof l.getRandomState === "function" && typeof l.setRandomState === "function";
}

/** Where training's random numbers stand: enough to continue a run as if it had not stopped. */
export interface RandomState {
  /** The seed of {@link setRandomSeed}, or `null` (native `Math.random`, which cannot be continued). */
  seed: number | null;
  /** The seeded generator's four 32-bit words, or `null` with the native `Math.random`. */
  generator: number[] | null;
  /** Per seeded `Dropout` layer (by layer name): the training masks it has drawn. */
  dropoutMasks: Record<string, number>;
  /** Per layer that keeps random state of its own ({@link RandomStatefulLayer}), by layer name. */
  layers: Record<string, number[]>;
}

/** The current {@link RandomState} of training `model`. */
export function randomState(model: LayersModel): RandomState {
  const dropoutMasks: Record<string, number> = {};
  for (const l of seededDropouts(model)) dropoutMasks[l.name] = masksDrawn.get(l) ?? 0;
  const layers: Record<string, number[]> = {};
  for (const l of allLayers(model)) if (isRandomStateful(l)) layers[l.name] = [...l.getRandomState()];
  return { seed: globalSeed, generator: generator ? [...generator.s] : null, dropoutMasks, layers };
}

/**
 * The layers `names` stand for in `candidates`: by name when every name is there, else by order — tfjs
 * numbers unnamed layers per process (`dropout_3`), so a model built again in the same process has other
 * names, in the same order. Missing names with another count of candidates are an error.
 */
function layersByName(model: LayersModel, names: string[], candidates: Layer[], what: string): Layer[] {
  const byName = new Map(candidates.map((l) => [l.name, l]));
  if (names.every((n) => byName.has(n))) return names.map((n) => byName.get(n)!);
  if (names.length === candidates.length) return candidates;
  const missing = names.find((n) => !byName.has(n));
  throw new Error(
    `setRandomState: model "${model.name}" has no layer "${missing}" (${what}: ${names.length} saved, ` +
      `${candidates.length} here)`,
  );
}

/**
 * Puts back a {@link RandomState} of `model`: layers matched by name, else by order (see
 * `layersByName`); a state for layers the model does not have is an error.
 */
export function setRandomState(model: LayersModel, state: RandomState): void {
  const dropouts = Object.entries(state.dropoutMasks);
  const dropoutLayers = layersByName(
    model,
    dropouts.map(([n]) => n),
    seededDropouts(model),
    "seeded Dropout",
  );
  const stateful = Object.entries(state.layers);
  const statefulLayers = layersByName(
    model,
    stateful.map(([n]) => n),
    allLayers(model).filter(isRandomStateful),
    "layers with a random state",
  );
  dropouts.forEach(([, count], i) => masksDrawn.set(dropoutLayers[i], count));
  stateful.forEach(([name, s], i) => {
    const l = statefulLayers[i];
    if (!isRandomStateful(l)) throw new Error(`setRandomState: layer "${name}" keeps no random state`);
    l.setRandomState(s);
  });
  if (state.generator === null) {
    setRandomSeed(null);
    return;
  }
  if (state.generator.length !== 4) throw new Error("setRandomState: the generator state must be 4 words");
  useGenerator(new Sfc32(new Uint32Array(state.generator)));
  globalSeed = state.seed;
}
