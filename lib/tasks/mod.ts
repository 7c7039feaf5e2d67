/**
 * TODO tasks
 * @module
 */
export * from "./cli.ts";
export * from "./predict_files.ts";
export * from "./report.ts";
export * from "./saved_classifier.ts";
export * from "./serve.ts";
export * from "./site.ts";
export * from "./train_folder.ts";
