/**
 * The operator's token: a 32-byte secret (43 base64url characters) given to `createServer` as
 * `operatorToken`, presented as `Authorization: Cloister-Operator <token>` to the operations
 * that exist before any tenant (creating and listing tenants). Without a configured token those
 * operations answer 401 to everyone. The comparison is of SHA-256 digests in constant time; the
 * token is never logged.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError, ValidationError } from '@cloister/crypto';
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../../context.js';
import type { OperatorCheck } from './operation.js';

/**
 * The `Authorization` scheme of the operator's token.
 *
 * @example
 * ```ts
 * const operatorToken = process.env.CLOISTER_OPERATOR_TOKEN ?? '';
 * const res = await fetch(`${url}/admin/v1/tenants`, { headers: { authorization: `${OPERATOR_SCHEME} ${operatorToken}` } });
 * ```
 */
export const OPERATOR_SCHEME = 'Cloister-Operator';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const digests = new WeakMap<object, Buffer>();

function digest(token: string): Buffer {
  return createHash('sha256').update(`cloister/server/v1/operator-token\u0000${token}`).digest();
}

/**
 * Checks an operator token's form (43 base64url characters, 32 bytes); `ValidationError('operatorToken')`.
 *
 * @example
 * ```ts
 * checkOperatorToken(process.env.CLOISTER_OPERATOR_TOKEN);
 * ```
 */
export function checkOperatorToken(token: unknown): string {
  if (typeof token !== 'string' || !TOKEN.test(token)) {
    throw new ValidationError('operatorToken', '43 base64url characters (32 random bytes)');
  }
  return token;
}

/**
 * Sets the operator token of one server context (`createServer` does it from its options).
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 *
 * configureOperatorToken(ctx, randomBytes(32).toString('base64url'));
 * ```
 */
export function configureOperatorToken(ctx: ServerContext, token: string): void {
  digests.set(ctx, digest(checkOperatorToken(token)));
}

/**
 * The operator check of `ctx`: `UnauthenticatedError` for a missing, malformed or wrong token,
 * or when the server has none configured.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ADMIN_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export function operatorCheck(ctx: ServerContext): OperatorCheck {
  return (request: Pick<FastifyRequest, 'headers'>) => {
    const expected = digests.get(ctx);
    const header = request.headers.authorization;
    if (expected === undefined || typeof header !== 'string') throw new UnauthenticatedError();
    const [scheme, token, extra] = header.split(' ');
    if (scheme !== OPERATOR_SCHEME || token === undefined || extra !== undefined || !TOKEN.test(token)) {
      throw new UnauthenticatedError();
    }
    if (!timingSafeEqual(digest(token), expected)) throw new UnauthenticatedError();
  };
}
