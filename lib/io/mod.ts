/**
 * TODO io
 * @module
 */
export * from "./atomic.ts";
export * from "./file_lock.ts";
export * from "./get_file.ts";
export * from "./keras_h5.ts";
export * from "./mirror.ts";
