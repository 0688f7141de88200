/**
 * Errors of the client transport.
 *
 * @module
 */
import { CloisterError, type CloisterErrorCode } from '@cloister/crypto';

/**
 * The server presented a public key whose pin is not the configured one. The connection was
 * closed before any request byte (headers, credential or body) was written. Its code is
 * `ERR_INVALID_KEY`: the peer's key is not acceptable, which is what that code already means, so
 * no new code is added to the shared list.
 *
 * @example
 * ```ts
 * try {
 *   await transport.request('GET', '/health');
 * } catch (e) {
 *   if (e instanceof PinMismatchError) alert('this is not your organisation\'s server');
 * }
 * ```
 */
export class PinMismatchError extends CloisterError {
  constructor() {
    super('ERR_INVALID_KEY', 'server public key does not match the pin');
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set<CloisterErrorCode>([
  'ERR_VALIDATION',
  'ERR_USAGE',
  'ERR_DECODE',
  'ERR_DECRYPTION_FAILED',
  'ERR_INVALID_KEY',
  'ERR_WRONG_PIN',
  'ERR_UNSUPPORTED',
  'ERR_STORAGE',
  'ERR_REPLAY',
  'ERR_LIMIT',
  'ERR_UNAUTHENTICATED',
  'ERR_FORBIDDEN',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_RATE_LIMITED',
]);

/**
 * The server answered with an error status. `code` is the server's error code when it is one of
 * the shared codes; otherwise (an unknown code or a body that is not `{ error: { code, message } }`)
 * it is `ERR_DECODE` and `serverCode` holds what the server sent, if anything.
 *
 * @example
 * ```ts
 * try {
 *   expectOk(await transport.request('GET', '/v1/keys/count'));
 * } catch (e) {
 *   if (e instanceof ServerError && e.status === 401) await reEnrol();
 * }
 * ```
 */
export class ServerError extends CloisterError {
  /** The HTTP status. */
  readonly status: number;
  /** The code exactly as the server sent it (undefined when the body carried none). */
  readonly serverCode: string | undefined;

  constructor(status: number, code: string | undefined, message: string | undefined) {
    const known = code !== undefined && KNOWN_CODES.has(code);
    super(
      known ? (code as CloisterErrorCode) : 'ERR_DECODE',
      message ?? `server answered with status ${status}`,
    );
    this.status = status;
    this.serverCode = code;
  }
}
