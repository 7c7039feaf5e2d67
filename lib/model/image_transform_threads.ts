/**
 * {@link transformImages} over a whole batch on several threads, called synchronously like the native op
 * it replaces: the batch is copied into shared memory, the calling thread and the worker threads
 * (`image_transform_worker.ts`) take its images one by one from a shared counter, and the caller waits for
 * the workers (`Atomics.wait`) before it returns the result.
 *
 * Why threads: TensorFlow runs its kernels on all cores, and the augmentation runs between training steps,
 * when those cores are otherwise idle; one JavaScript thread alone would give back part of what the cheaper
 * sampling saves (issue 26). Why a counter rather than equal shares: on a machine shared with other work a
 * descheduled worker then takes fewer images instead of making the caller wait for its share. Workers come
 * from `node:worker_threads` because they can be `unref`ed: an idle one neither keeps a command from exiting
 * nor a test from ending. Anything that goes wrong with a worker (it cannot start, fails or does not answer)
 * makes the caller resample the whole batch itself and the pool stop using workers, so a result is always
 * complete.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { transformImages, type TransformJob } from "./image_transform.ts";

/** A worker's status word: the job is done. */
export const WORKER_DONE = 1;
/** A worker's status word: the job failed (the caller resamples the batch itself). */
export const WORKER_FAILED = 2;

/**
 * What a worker is sent. Images are handed out one at a time from a shared counter, so that a thread the
 * system runs less (other work on the machine) takes fewer of them instead of making the others wait.
 */
export interface TransformRequest {
  /** The whole batch's job (`first` 0, `last` the batch size): the images come from the counter. */
  job: TransformJob;
  /** The batch's pixels (`length` float32 values). */
  input: SharedArrayBuffer;
  /** The result, where the worker writes its images (`length` float32 values, the batch's layout). */
  output: SharedArrayBuffer;
  /**
   * Int32 words: `[0]` the next image to take (`Atomics.add`), `[1 + slot]` this worker's status: 0 while
   * running, then {@link WORKER_DONE} or {@link WORKER_FAILED}.
   */
  control: SharedArrayBuffer;
  /** This worker's status word is `control[1 + slot]`. */
  slot: number;
  /** Float32 values of the batch. */
  length: number;
}

/** One batch's resampling: a {@link TransformJob} without the image range, which the threads share out. */
export type BatchTransform = Omit<TransformJob, "first" | "last">;

/** How {@link transformBatch} splits the work. */
export interface TransformThreadsOptions {
  /** Threads in all, the caller's included; default the CPU count (at most 8); 1 runs on the caller alone. */
  threads?: number;
  /** Pixels (images × height × width) below which the caller works alone; default 65,536. */
  minPixels?: number;
  /**
   * Where to write the result (as many values as `src`), reused from an earlier batch instead of new memory;
   * workers write into it only if a `SharedArrayBuffer` backs it. Default: a new array.
   */
  output?: Float32Array;
}

/** How long the caller waits for a worker before resampling the batch itself. */
const WORKER_TIMEOUT_MS = 10_000;
/** Workers at most: the defaults' 8 threads less the caller. */
const MAX_WORKERS = 7;

/** The workers and the shared memory they read from, made on first use and kept for the process. */
const pool: { workers: Worker[]; input: SharedArrayBuffer; control: Int32Array } = {
  workers: [],
  input: new SharedArrayBuffer(0),
  control: new Int32Array(new SharedArrayBuffer(4 * (1 + MAX_WORKERS))),
};
/** Set when a worker could not start or failed: from then on the caller works alone. */
let broken = false;

function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_WORKERS + 1, navigator.hardwareConcurrency || 1));
}

/** `count` started workers (fewer if one cannot start: the pool is then no longer used). */
function workers(count: number): Worker[] {
  try {
    while (pool.workers.length < count) {
      const worker = new Worker(new URL("./image_transform_worker.ts", import.meta.url));
      worker.unref(); // an idle worker keeps neither a command nor a test running
      worker.on("error", () => (broken = true));
      pool.workers.push(worker);
    }
  } catch {
    broken = true;
  }
  return broken ? [] : pool.workers.slice(0, count);
}

/** Takes images from the shared counter and resamples them, until none is left. */
export function takeImages(
  src: Float32Array,
  dst: Float32Array,
  job: TransformJob,
  control: Int32Array,
): void {
  for (let i = Atomics.add(control, 0, 1); i < job.last; i = Atomics.add(control, 0, 1)) {
    transformImages(src, dst, { ...job, first: i, last: i + 1 });
  }
}

/**
 * Resamples every image of `src` (`spec.shape`, NHWC float32) by its transform into a new array, as
 * `ImageProjectiveTransformV3` does, on up to `options.threads` threads. With workers the array is backed
 * by a `SharedArrayBuffer` (they write into it directly); nothing else keeps it.
 */
export function transformBatch(
  src: Float32Array,
  spec: BatchTransform,
  options: TransformThreadsOptions = {},
): Float32Array {
  const [n, h, w] = spec.shape;
  const { threads = defaultThreads(), minPixels = 65_536, output } = options;
  if (output !== undefined && output.length !== src.length) {
    throw new Error(`transformBatch: output has ${output.length} values, the batch ${src.length}`);
  }
  const job: TransformJob = { ...spec, first: 0, last: n };
  const shared = output === undefined || output.buffer instanceof SharedArrayBuffer;
  const helpers = broken || !shared || n < 2 || n * h * w < minPixels
    ? []
    : workers(Math.min(threads, n, MAX_WORKERS + 1) - 1);
  if (helpers.length === 0) {
    const dst = output ?? new Float32Array(src.length);
    transformImages(src, dst, job);
    return dst;
  }
  const dst = output ?? new Float32Array(new SharedArrayBuffer(src.length * 4));
  const input = sharedInput(src);
  const control = pool.control;
  control.fill(0);
  helpers.forEach((worker, slot) =>
    worker.postMessage(request(job, { input, dst, slot, length: src.length }))
  );
  takeImages(src, dst, job, control);
  if (!helpers.every((_, slot) => finished(slot))) transformImages(src, dst, job); // a worker failed: redo all
  return dst;
}

/** `src` copied into the pool's shared input (grown when too small). */
function sharedInput(src: Float32Array): SharedArrayBuffer {
  if (pool.input.byteLength < src.byteLength) pool.input = new SharedArrayBuffer(src.byteLength);
  new Float32Array(pool.input, 0, src.length).set(src);
  return pool.input;
}

function request(
  job: TransformJob,
  at: { input: SharedArrayBuffer; dst: Float32Array; slot: number; length: number },
): TransformRequest {
  return {
    job: { ...job, transforms: job.transforms.slice() },
    input: at.input,
    output: at.dst.buffer as SharedArrayBuffer,
    control: pool.control.buffer as SharedArrayBuffer,
    slot: at.slot,
    length: at.length,
  };
}

/** Waits for worker `slot`; false (and the pool no longer used) if it failed or did not answer in time. */
function finished(slot: number): boolean {
  Atomics.wait(pool.control, 1 + slot, 0, WORKER_TIMEOUT_MS);
  if (Atomics.load(pool.control, 1 + slot) === WORKER_DONE) return true;
  broken = true;
  for (const worker of pool.workers) void worker.terminate();
  return false;
}
