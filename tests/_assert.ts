/**
 * Assertions for the tests, in `@std/assert`'s names, built on `node:assert` (jsr.io is unreachable here).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message as string);
}

export function assertEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message as string);
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string) {
  nodeAssert.notDeepStrictEqual(actual, expected, message as string);
}

export function assertMatch(actual: string, expected: RegExp, message?: string) {
  nodeAssert.match(actual, expected, message as string);
}

/** `|actual − expected| ≤ tolerance`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, message?: string) {
  const diff = Math.abs(actual - expected);
  nodeAssert.ok(
    diff <= tolerance,
    message ?? `expected ${actual} to be within ${tolerance} of ${expected} (difference ${diff})`,
  );
}

type ErrorClass = new (...args: any[]) => Error;

/** Asserts `fn` throws an `errorClass` whose message contains `includes` (string) or matches it. */
export function assertThrows(
  fn: () => unknown,
  errorClass: ErrorClass = Error,
  includes?: string | RegExp,
): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, errorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: "expected the function to throw" });
}

/** Async {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass: ErrorClass = Error,
  includes?: string | RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, errorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: "expected the promise to reject" });
}

function checkError(e: unknown, errorClass: ErrorClass, includes?: string | RegExp): Error {
  nodeAssert.ok(e instanceof errorClass, `expected ${errorClass.name}, got ${e}`);
  const message = (e as Error).message;
  if (typeof includes === "string") {
    nodeAssert.ok(
      message.includes(includes),
      `expected the message to include ${JSON.stringify(includes)}: ${message}`,
    );
  } else if (includes) nodeAssert.match(message, includes);
  return e as Error;
}
