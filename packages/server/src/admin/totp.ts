/**
 * TOTP (RFC 6238) through `otpauth`: HMAC-SHA-1, 30-second steps from T0 = 0, 6 digits, a window
 * of one step either side. {@link matchTotp} says which step a code belongs to; the caller
 * accepts it only when that step is later than the last accepted one (RFC 6238 §5.2), in the
 * transaction that records it (`AdministratorStore.acceptTotpStep`). `spec/admin-auth.md` §3.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/**
 * The TOTP parameters of every administrator.
 *
 * @example
 * ```ts
 * console.log(TOTP_PARAMS.period); // 30
 * ```
 */
export const TOTP_PARAMS = Object.freeze({
  algorithm: 'SHA1' as const,
  digits: 6,
  period: 30,
  /** Steps accepted either side of the current one. */
  window: 1,
  /** Bytes of a new secret (160 bits, RFC 4226 §4's recommendation). */
  secretBytes: 20,
});

const CODE = /^[0-9]{6}$/;

/**
 * A new random TOTP secret.
 *
 * @example
 * ```ts
 * const secret = newTotpSecret(); // 20 bytes
 * ```
 */
export function newTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(TOTP_PARAMS.secretBytes));
}

function secretOf(bytes: Uint8Array): Secret {
  return new Secret({ buffer: new Uint8Array(bytes).buffer });
}

/**
 * The TOTP step of a time: floor(ms / 1000 / 30).
 *
 * @example
 * ```ts
 * totpStep(59_000); // 1
 * ```
 */
export function totpStep(nowMs: number): number {
  return TOTP.counter({ period: TOTP_PARAMS.period, timestamp: nowMs });
}

/**
 * The step whose code `code` is, within one step of `nowMs`, or `undefined`.
 *
 * @example
 * ```ts
 * const step = admin.totp === undefined ? undefined : matchTotp(admin.totp.secret, '123456', ctx.now());
 * if (step !== undefined) await stores.administrators.acceptTotpStep(tenant, admin.id, step);
 * ```
 */
export function matchTotp(secret: Uint8Array, code: string, nowMs: number): number | undefined {
  if (typeof code !== 'string' || !CODE.test(code)) return undefined;
  const delta = TOTP.validate({
    token: code,
    secret: secretOf(secret),
    algorithm: TOTP_PARAMS.algorithm,
    digits: TOTP_PARAMS.digits,
    period: TOTP_PARAMS.period,
    timestamp: nowMs,
    window: TOTP_PARAMS.window,
  });
  return delta === null ? undefined : totpStep(nowMs) + delta;
}

/**
 * The code of a time (for tests and the CLI's self-check).
 *
 * @example
 * ```ts
 * const secret = newTotpSecret();
 * const code = totpCode(secret, Date.now()); // six digits, such as '492039'
 * ```
 */
export function totpCode(secret: Uint8Array, nowMs: number): string {
  return TOTP.generate({
    secret: secretOf(secret),
    algorithm: TOTP_PARAMS.algorithm,
    digits: TOTP_PARAMS.digits,
    period: TOTP_PARAMS.period,
    timestamp: nowMs,
  });
}

/**
 * The `otpauth://totp/…` URI of an enrolment, for a QR code. It holds the secret: show it once.
 *
 * @example
 * ```ts
 * const secret = newTotpSecret();
 * const uri = totpUri(secret, { issuer: 'Cloister acme', account: 'ops@acme.example' }); // 'otpauth://totp/…'
 * ```
 */
export function totpUri(
  secret: Uint8Array,
  label: { readonly issuer: string; readonly account: string },
): string {
  return new TOTP({
    issuer: label.issuer,
    label: label.account,
    secret: secretOf(secret),
    algorithm: TOTP_PARAMS.algorithm,
    digits: TOTP_PARAMS.digits,
    period: TOTP_PARAMS.period,
  }).toString();
}
