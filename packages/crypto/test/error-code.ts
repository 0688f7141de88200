/**
 * The `code` of the error a call or promise rejects with, or `'accepted'` when it succeeds.
 * Anything thrown without a string `code` is rethrown, so an unexpected crash fails the test
 * instead of being compared as a code. (Codes, not classes: under vitest a test may load the
 * package twice, and `instanceof` fails across the copies.)
 */
export async function errorCode(run: (() => unknown) | Promise<unknown>): Promise<string> {
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string') return code;
    throw e;
  }
  return 'accepted';
}
