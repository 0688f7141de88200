/**
 * The error a failing conformance case throws.
 *
 * @module
 */

/**
 * Thrown by a failing conformance case. The message names the case, what the suite expected
 * and what the adapter did, in one short line (byte strings are shown as truncated hex, never
 * dumped whole). An unexpected error thrown by the adapter is kept as `cause`.
 *
 * @example
 * ```ts
 * import { conformanceCases, ConformanceFailure } from '@cloister/storage/conformance';
 * try {
 *   await conformanceCases()[0]!.run(target);
 * } catch (e) {
 *   if (e instanceof ConformanceFailure) console.log(e.caseName, e.detail);
 * }
 * ```
 */
export class ConformanceFailure extends Error {
  /** The name of the case that failed, or `''` while the check has not yet been tied to a case. */
  readonly caseName: string;
  /** What was expected and what happened, without the case name. */
  readonly detail: string;

  constructor(caseName: string, detail: string, options?: { cause?: unknown }) {
    super(caseName === '' ? detail : `${caseName}: ${detail}`, options);
    this.name = 'ConformanceFailure';
    this.caseName = caseName;
    this.detail = detail;
  }
}
