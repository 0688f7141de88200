/**
 * The enrolment code an administrator hands to a user: the enrolment token and the organisation
 * root's fingerprint in one string, so the client pins the root from a source that does not rely
 * on the server alone (`spec/admin-sdk.md` §3):
 *
 * ```
 * <token: 43 base64url characters>.<fingerprint digest: the 43 characters after "cloister-root:v1:">
 * ```
 *
 * 87 characters. The token is the server's 32-byte enrolment token, the digest the root
 * fingerprint's SHA-256 (`spec/organisation.md` §2), both canonical base64url without padding.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { parseRootFingerprint, ROOT_FINGERPRINT_PREFIX } from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';

/**
 * Length of an enrolment code: 43 + 1 + 43 characters.
 *
 * @example
 * ```ts
 * console.log(ENROLMENT_CODE_LENGTH); // 87
 * ```
 */
export const ENROLMENT_CODE_LENGTH = 87;

/**
 * The parts of an enrolment code.
 *
 * @example
 * ```ts
 * const { token, rootFingerprint }: EnrolmentCodeParts = parseEnrolmentCode(code);
 * ```
 */
export interface EnrolmentCodeParts {
  /** The enrolment token (43 base64url characters). */
  readonly token: string;
  /** The organisation root's fingerprint, `cloister-root:v1:…`. */
  readonly rootFingerprint: string;
}

function checkToken(token: string, field: string): string {
  if (typeof token !== 'string' || token.length !== 43) {
    throw new ValidationError(field, 'an enrolment token of 43 base64url characters');
  }
  if (fromBase64Url(token, field).length !== 32) {
    throw new ValidationError(field, 'an enrolment token of 43 base64url characters');
  }
  return token;
}

/**
 * The enrolment code of `token` for the root with fingerprint `rootFingerprint`. A token or a
 * fingerprint that does not parse is a `ValidationError` (`token`, `fingerprint`).
 *
 * @example
 * ```ts
 * import { enrolmentCode } from '@cloister/admin';
 * const { token } = await admin.inviteUser({ user: 'alice' });
 * const code = enrolmentCode(token, root.fingerprint); // 87 characters: hand it to Alice
 * ```
 */
export function enrolmentCode(token: string, rootFingerprint: string): string {
  checkToken(token, 'token');
  const digest = parseRootFingerprint(rootFingerprint);
  return `${token}.${toBase64Url(digest)}`;
}

/**
 * Splits an enrolment code into its token and root fingerprint. Anything but exactly 87
 * characters of `<43 base64url>.<43 base64url>`, each canonical and 32 bytes long, is a
 * `ValidationError` (field `enrolmentCode`); the message never repeats the code.
 *
 * @example
 * ```ts
 * import { parseEnrolmentCode } from '@cloister/admin';
 * const { token, rootFingerprint } = parseEnrolmentCode(code);
 * ```
 */
export function parseEnrolmentCode(code: string): EnrolmentCodeParts {
  const expected = 'an enrolment code: 43 base64url characters, a dot, 43 base64url characters';
  if (typeof code !== 'string' || code.length !== ENROLMENT_CODE_LENGTH || code[43] !== '.') {
    throw new ValidationError('enrolmentCode', expected);
  }
  const token = code.slice(0, 43);
  const digest = code.slice(44);
  try {
    checkToken(token, 'enrolmentCode');
    const rootFingerprint = ROOT_FINGERPRINT_PREFIX + digest;
    parseRootFingerprint(rootFingerprint);
    return { token, rootFingerprint };
  } catch {
    throw new ValidationError('enrolmentCode', expected);
  }
}
