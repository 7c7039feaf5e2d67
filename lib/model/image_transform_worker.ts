/**
 * The worker side of `image_transform_threads.ts`: takes images of a batch in shared memory from the
 * shared counter and resamples them ({@link takeImages}), then sets its status word and wakes the caller,
 * which waits for it synchronously. No TensorFlow here: a worker thread loading tfjs-node would start a
 * second native runtime.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { takeImages, type TransformRequest, WORKER_DONE, WORKER_FAILED } from "./image_transform_threads.ts";

parentPort?.on("message", (request: TransformRequest) => {
  const control = new Int32Array(request.control);
  const status = 1 + request.slot;
  try {
    const input = new Float32Array(request.input, 0, request.length);
    const output = new Float32Array(request.output, 0, request.length);
    takeImages(input, output, request.job, control);
    Atomics.store(control, status, WORKER_DONE);
  } catch {
    Atomics.store(control, status, WORKER_FAILED); // the caller resamples the batch itself
  }
  Atomics.notify(control, status);
});
