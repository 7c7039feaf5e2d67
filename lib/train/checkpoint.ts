/**
 * Training checkpoints: everything needed to continue a run as if it had not stopped — the model's weights,
 * the optimizer's slots, β powers, step count and rate, the epoch and stage reached, the history so far and
 * the random state — in one file, `<dir>/checkpoint.tlckpt`, written atomically (a temporary sibling,
 * flushed, then renamed over the old one: a kill at any moment leaves the previous checkpoint whole).
 *
 * The file (format {@link CHECKPOINT_FORMAT}, version {@link CHECKPOINT_VERSION}):
 * - 8 bytes `TLCKPT01`; a little-endian uint32: the header's length; the header, UTF-8 JSON
 *   ({@link CheckpointHeader}); zero bytes up to a multiple of 8;
 * - the data: every tensor's float32 values, little-endian, back to back, where the header's
 *   {@link TensorRecord}s say (byte offsets into the data). The header holds the data's length and
 *   SHA-256, checked on reading.
 *
 * {@link loadCheckpoint} refuses, naming the difference, a file of another format or version, a damaged
 * file, a model whose weights differ in name, shape or number (weights are matched by name, so a model
 * whose layers were frozen or unfrozen since — tfjs then lists its weights in another order — loads too), an optimizer of another class or another
 * set of trainable weights, and a checkpoint whose `fingerprint` (what the caller says the run depends on:
 * data folder, options…) differs from the one expected.
 *
 * @module
 */
import path from "node:path";
import type { LayersModel, Optimizer, Tensor, Variable } from "../runtime/mod.ts";
import { tf } from "../runtime/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import {
  ensureSlot,
  iterationsOf,
  learningRateOf,
  optimizerVariables,
  setIterations,
  setLearningRate,
  tfjsInternals,
} from "../model/mod.ts";
import type { OptimizerVariables } from "../model/mod.ts";
import type { History } from "./fit.ts";
import { type RandomState, randomState, setRandomState } from "./random_state.ts";

/** The checkpoint's file name inside its folder. */
export const CHECKPOINT_FILE = "checkpoint.tlckpt";
/** The header's `format`. */
export const CHECKPOINT_FORMAT = "transfer-learning-train-checkpoint";
/** The header's `version`: files of a later version are refused. */
export const CHECKPOINT_VERSION = 1;
const MAGIC = "TLCKPT01";

type LayerVariable = LayersModel["weights"][number];

/** Where one tensor's values are in the data section. */
export interface TensorRecord {
  /** The weight (`layer/weight`, e.g. `dense/kernel`) or slot (`dense/kernel/m`) it belongs to. */
  name: string;
  /** The tensor's shape. */
  shape: number[];
  /** Byte offset into the data section (float32, little-endian). */
  offset: number;
}

/** The optimizer's part of a checkpoint. */
export interface OptimizerRecord {
  /** tfjs' class name (`Adam`, `RMSProp`, `SGD`). */
  className: string;
  /** The rate at saving (`reduceLROnPlateau` may have lowered it). */
  learningRate: number;
  /** Steps taken (`optimizer.iterations`). */
  iterations: number;
  /** Slot lists (Adam: m, v; RMSprop: rms, momentum), each by trainable-variable position. */
  slots: TensorRecord[][];
  /** Optimizer-wide variables (Adam's β1ᵗ, β2ᵗ). */
  state: TensorRecord[];
}

/** What the caller says a run depends on (data folder, options…): compared key by key on loading. */
export type CheckpointFingerprint = Record<string, string | number | boolean>;

/** The JSON header of a checkpoint file; see the module notes. `E`: the caller's own state's type. */
export interface CheckpointHeader<E = unknown> {
  /** Always {@link CHECKPOINT_FORMAT}. */
  format: typeof CHECKPOINT_FORMAT;
  /** {@link CHECKPOINT_VERSION} when written. */
  version: number;
  /** ISO 8601 time of writing. */
  savedAt: string;
  /** The last epoch completed (0-based): continue with `initialEpoch: epoch + 1`. */
  epoch: number;
  /** The caller's name for the training stage (e.g. `frozen`, `fine-tuning`). */
  stage: string;
  /** The model's name and every weight (`model.weights` order). */
  model: { name: string; weights: TensorRecord[] };
  /** The optimizer's state, or null when none was saved. */
  optimizer: OptimizerRecord | null;
  /** The history of the epochs so far, if the caller saved it. */
  history: History | null;
  /** The random state at saving ({@link randomState}). */
  randomState: RandomState | null;
  /** What the run depends on, as the caller described it. */
  fingerprint: CheckpointFingerprint;
  /**
   * The caller's own state (JSON), typed by the caller (`trainFolder`: its `TrainProgress`); absent in
   * files written without one.
   */
  extra?: E | null;
  /** Length of the data section in bytes. */
  dataBytes: number;
  /** SHA-256 of the data section, hex. */
  sha256: string;
}

/** What {@link saveCheckpoint} saves. `E`: the type of the caller's own state. */
export interface CheckpointState<E = unknown> {
  /** The model whose weights are saved. */
  model: LayersModel;
  /** Default `model.optimizer`; `null`: none. */
  optimizer?: Optimizer | null;
  /** The last epoch completed (0-based). */
  epoch: number;
  /** Default `""`. */
  stage?: string;
  /** The history of the epochs so far (default none). */
  history?: History | null;
  /** Default: the model's current {@link randomState}. */
  randomState?: RandomState | null;
  /** What the run depends on (data folder, options…), checked on loading; default `{}`. */
  fingerprint?: CheckpointFingerprint;
  /** The caller's own state, plain JSON (default none). */
  extra?: E | null;
}

/** The weight's name in checkpoints: `layer/weight` as Keras names it. */
function weightName(w: LayersModel["weights"][number]): string {
  return w.originalName ?? w.name;
}

/** Collects tensors into the data section, recording where each goes. */
class DataWriter {
  readonly parts: Float32Array[] = [];
  bytes = 0;

  add(name: string, t: Tensor): TensorRecord {
    const values = t.dataSync() as Float32Array;
    const record = { name, shape: [...t.shape], offset: this.bytes };
    this.parts.push(values);
    this.bytes += values.byteLength;
    return record;
  }
}

function optimizerRecord(optimizer: Optimizer, model: LayersModel, data: DataWriter): OptimizerRecord {
  const o = optimizerVariables(optimizer);
  if (typeof o === "string") throw new Error(`saveCheckpoint: cannot save the ${o}`);
  const trainable = tfjsInternals.collectedTrainableWeights(model) ?? [];
  return {
    className: o.className,
    learningRate: learningRateOf(optimizer),
    iterations: iterationsOf(optimizer),
    slots: o.slotLists.map((list, k) =>
      list.map((s, i) =>
        data.add(`${trainable[i] ? weightName(trainable[i]) : i}/${o.suffixes[k]}`, s.variable)
      )
    ),
    state: o.state.map((v, i) => data.add(`state${i}`, v)),
  };
}

/** The whole file: magic, header length, header, padding, data. */
/** SHA-256 of `bytes`, hex. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function fileBytes<E>(header: Omit<CheckpointHeader<E>, "dataBytes" | "sha256">, data: DataWriter) {
  const body = new Uint8Array(data.bytes);
  let at = 0;
  for (const p of data.parts) {
    body.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  const digest = await sha256(body);
  const json = new TextEncoder().encode(
    JSON.stringify({ ...header, dataBytes: body.length, sha256: digest }),
  );
  const start = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(start + body.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(body, start);
  return out;
}

/**
 * Writes `state` to `<dir>/checkpoint.tlckpt` atomically (the previous checkpoint stays whole until the new
 * one is complete); returns the file's path. Float32 weights only (a tfjs model's are).
 */
export async function saveCheckpoint<E>(dir: string, state: CheckpointState<E>): Promise<string> {
  const { model, epoch } = state;
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new Error(
      `saveCheckpoint: epoch must be the last completed epoch (a whole number ≥ 0), got ${epoch}`,
    );
  }
  const data = new DataWriter();
  const weights = model.weights.map((w) => data.add(weightName(w), w.read()));
  const optimizer = state.optimizer === undefined ? model.optimizer : state.optimizer;
  const header = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    epoch,
    stage: state.stage ?? "",
    model: { name: model.name, weights },
    optimizer: optimizer ? optimizerRecord(optimizer, model, data) : null,
    history: state.history ?? null,
    randomState: state.randomState === undefined ? randomState(model) : state.randomState,
    fingerprint: state.fingerprint ?? {},
    extra: state.extra ?? null,
  } satisfies Omit<CheckpointHeader<E>, "dataBytes" | "sha256">;
  const file = path.join(dir, CHECKPOINT_FILE);
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(file, await fileBytes(header, data));
  return file;
}

/** A checkpoint file read and checked: its header and its data section. */
export interface CheckpointFile {
  /** The file's path. */
  file: string;
  /** Its header. */
  header: CheckpointHeader;
  /** Its data section. */
  data: Uint8Array;
}

/** Reads and checks `<dir>/checkpoint.tlckpt` (format, version, checksum); an error names the file and problem. */
export async function readCheckpoint(dir: string): Promise<CheckpointFile> {
  const file = path.join(dir, CHECKPOINT_FILE);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`no checkpoint in ${dir} (${CHECKPOINT_FILE} is missing)`);
    }
    throw e;
  }
  const bad = (why: string) => new Error(`${file} is not a usable checkpoint: ${why}`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad(`it does not start with ${MAGIC}`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  } catch {
    throw bad("its header is not JSON");
  }
  if (header.format !== CHECKPOINT_FORMAT) throw bad(`format ${JSON.stringify(header.format)}`);
  if (header.version > CHECKPOINT_VERSION) {
    throw bad(
      `version ${header.version} is newer than this program's (${CHECKPOINT_VERSION}): update the project`,
    );
  }
  const data = bytes.subarray(Math.ceil((12 + length) / 8) * 8);
  const sha = await sha256(data);
  if (data.length !== header.dataBytes || sha !== header.sha256) throw bad("its data is damaged (checksum)");
  return { file, header, data };
}

/** Options of {@link loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** The model to load the weights into: the same architecture (names and shapes) as the one saved. */
  model: LayersModel;
  /** Default `model.optimizer`: compiled as the saved one was (class, trainable weights); `null`: skip. */
  optimizer?: Optimizer | null;
  /** What this run depends on; each key must equal the checkpoint's. */
  fingerprint?: CheckpointFingerprint;
  /** Put back the random state (default true). */
  restoreRandomState?: boolean;
}

/** What a loaded checkpoint says about the run. */
export type LoadedCheckpoint<E = unknown> = Pick<
  CheckpointHeader<E>,
  "epoch" | "stage" | "history" | "randomState" | "fingerprint" | "savedAt" | "extra"
>;

/** The values of `record` from the data section, as a tensor. */
function tensorOf(data: Uint8Array, record: TensorRecord): Tensor {
  const n = record.shape.reduce((a, b) => a * b, 1);
  const copy = data.slice(record.offset, record.offset + 4 * n);
  return tf.tensor(new Float32Array(copy.buffer, 0, n), record.shape, "float32");
}

function sameShape(a: readonly (number | null)[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws unless `model`'s weights are the checkpoint's, in name, shape and number. */
function checkModel(c: CheckpointFile, model: LayersModel): void {
  const saved = c.header.model.weights;
  const here = model.weights;
  const k = saved.findIndex((r, i) =>
    !here[i] || weightName(here[i]) !== r.name || !sameShape(here[i].shape, r.shape)
  );
  if (k < 0 && saved.length === here.length) return;
  const at = k >= 0 ? k : Math.min(saved.length, here.length);
  const describe = (name?: string, shape?: readonly (number | null)[]) =>
    name ? `${name} [${shape}]` : "nothing";
  throw new Error(
    `${c.file} is a checkpoint of another model: weight #${at} is ${
      describe(saved[at]?.name, saved[at]?.shape)
    } ` +
      `there and ${
        describe(here[at] && weightName(here[at]), here[at]?.shape)
      } here (${saved.length} weights ` +
      `there, ${here.length} here) — load it into the model it was made with, or start the training over`,
  );
}

/**
 * For each of `model`'s weights, the index of its record in the checkpoint: by name when the names match
 * one to one with the same shapes — tfjs lists trainable weights first, so unfreezing layers reorders
 * `model.weights` — else by position, throwing (`checkModel`) unless names and shapes agree there.
 */
function weightOrder(c: CheckpointFile, model: LayersModel): number[] {
  const saved = c.header.model.weights;
  const here = model.weights;
  const byName = new Map(saved.map((r, i) => [r.name, i]));
  if (saved.length === here.length && byName.size === saved.length) {
    const order = here.map((w) => byName.get(weightName(w)) ?? -1);
    if (order.every((k, i) => k >= 0 && sameShape(here[i].shape, saved[k].shape))) return order;
  }
  checkModel(c, model);
  return here.map((_, i) => i);
}

/** The first key on which two fingerprints differ, with both values (`undefined`: a key one of them lacks). */
export interface FingerprintDifference {
  /** The key. */
  key: string;
  /** The checkpoint's value. */
  saved: CheckpointFingerprint[string] | undefined;
  /** This run's value. */
  expected: CheckpointFingerprint[string] | undefined;
}

/**
 * Where `saved` (a checkpoint's fingerprint) and `expected` (this run's) first differ, or `undefined`: on the
 * keys of `expected`, or with `everyKey` on the keys of either (a key only the checkpoint has then counts).
 */
export function fingerprintDifference(
  saved: CheckpointFingerprint,
  expected: CheckpointFingerprint,
  options: { everyKey?: boolean } = {},
): FingerprintDifference | undefined {
  const keys = options.everyKey
    ? new Set([...Object.keys(expected), ...Object.keys(saved)])
    : Object.keys(expected);
  for (const key of keys) {
    if (saved[key] !== expected[key]) return { key, saved: saved[key], expected: expected[key] };
  }
  return undefined;
}

/** Throws unless each key of `expected` has the same value in the checkpoint. */
function checkFingerprint(c: CheckpointFile, expected: CheckpointFingerprint): void {
  const d = fingerprintDifference(c.header.fingerprint, expected);
  if (d === undefined) return;
  throw new Error(
    `${c.file} was made with ${d.key} = ${JSON.stringify(d.saved)}, but this run has ${
      JSON.stringify(d.expected)
    }: ` +
      `resume with the same ${d.key}, or start the training over`,
  );
}

/**
 * Checks the optimizer's record against `optimizer` (class, trainable weights) and returns the function that
 * puts it in (slots by trainable-variable position).
 */
function optimizerRestorer(
  c: CheckpointFile,
  record: OptimizerRecord,
  model: LayersModel,
  optimizer: Optimizer,
): () => void {
  const o = optimizerVariables(optimizer);
  if (typeof o === "string") throw new Error(`loadCheckpoint: cannot restore the ${o}`);
  if (o.className !== record.className) {
    throw new Error(
      `${c.file} holds the state of a ${record.className} optimizer (stage "${c.header.stage}"), but the model ` +
        `is compiled with ${o.className}: compile it as for that stage before loading`,
    );
  }
  const trainable = tfjsInternals.collectedTrainableWeights(model) ?? [];
  const mismatch = record.slots.find((list) =>
    list.length > trainable.length || list.some((r, i) => !sameShape(trainable[i].shape, r.shape))
  );
  if (mismatch || record.state.length !== o.state.length) {
    throw new Error(
      `${c.file}: the optimizer was saved for other trainable weights (${mismatch?.length} slots; the ` +
        `model trains ${trainable.length}): set the same layers trainable (stage "${c.header.stage}") and ` +
        `compile before loading`,
    );
  }
  return () => applyOptimizer(c, record, o, trainable, optimizer);
}

/** Writes the checked optimizer record into the optimizer's variables. */
function applyOptimizer(
  c: CheckpointFile,
  record: OptimizerRecord,
  o: OptimizerVariables,
  trainable: LayerVariable[],
  optimizer: Optimizer,
): void {
  record.slots.forEach((list, k) => {
    for (const extra of o.slotLists[k].splice(list.length)) extra.variable.dispose();
    list.forEach((r, i) =>
      assignFrom(ensureSlot(o, k, i, (trainable[i].read() as Variable).name), c.data, r)
    );
  });
  record.state.forEach((r, i) => assignFrom(o.state[i], c.data, r));
  setIterations(optimizer, record.iterations);
  setLearningRate(optimizer, record.learningRate);
}

function assignFrom(target: { assign(t: Tensor): void }, data: Uint8Array, record: TensorRecord): void {
  const t = tensorOf(data, record);
  target.assign(t);
  t.dispose();
}

/**
 * Reads `<dir>/checkpoint.tlckpt`, checks it against `options` (see the module notes) and loads it: the
 * model's weights, the optimizer's state and the random state. Returns the epoch, stage and history to
 * continue from. Nothing is changed when a check fails.
 */
export async function loadCheckpoint<E = unknown>(
  dir: string,
  options: LoadCheckpointOptions,
): Promise<LoadedCheckpoint<E>> {
  const c = await readCheckpoint(dir);
  const { model } = options;
  const order = weightOrder(c, model);
  checkFingerprint(c, options.fingerprint ?? {});
  const optimizer = options.optimizer === undefined ? model.optimizer : options.optimizer;
  const restore = optimizer && c.header.optimizer
    ? optimizerRestorer(c, c.header.optimizer, model, optimizer)
    : undefined;
  restore?.();
  model.weights.forEach((w, i) => {
    const t = tensorOf(c.data, c.header.model.weights[order[i]]);
    w.write(t);
    t.dispose();
  });
  if ((options.restoreRandomState ?? true) && c.header.randomState) {
    setRandomState(model, c.header.randomState);
  }
  const { epoch, stage, history, randomState: random, fingerprint, savedAt } = c.header;
  return {
    epoch,
    stage,
    history,
    randomState: random,
    fingerprint,
    savedAt,
    extra: c.header.extra as E ?? null,
  };
}
