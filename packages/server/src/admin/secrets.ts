/**
 * The bearer secrets of the admin plane and their stored hashes: session tokens, integration API
 * keys (32 random bytes each) and recovery codes (80 random bits as `xxxx-xxxx-xxxx-xxxx`). Only
 * labelled SHA-256 hashes are stored; the secrets are shown once. `spec/admin-auth.md` §4–§5.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';

/**
 * Label of a session token's hash: the stored hash is SHA-256 of the label followed by the token.
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 *
 * const hash = createHash('sha256').update(ADMIN_SESSION_LABEL).update(token).digest(); // = bearerHash('session', token)
 * ```
 */
export const ADMIN_SESSION_LABEL = 'cloister/server/v1/admin-session';
/**
 * Label of an API key's hash: the stored hash is SHA-256 of the label followed by the key.
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 *
 * const apiKey = newBearerSecret();
 * const hash = createHash('sha256').update(ADMIN_KEY_LABEL).update(apiKey).digest(); // = bearerHash('key', apiKey)
 * ```
 */
export const ADMIN_KEY_LABEL = 'cloister/server/v1/admin-key';
/**
 * Label of a SCIM token's hash: the stored hash is SHA-256 of the label followed by the token
 * (`scim_<base64url>`, `spec/directory.md` §2).
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 *
 * const hash = createHash('sha256').update(SCIM_TOKEN_LABEL).update(token).digest(); // = bearerHash('scim', token)
 * ```
 */
export const SCIM_TOKEN_LABEL = 'cloister/server/v1/scim-token';
/**
 * Label of a recovery code's hash (followed by tenant, 0x00, admin id, 0x00, the normalised code).
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 *
 * const code = 'abcdefgh23456723';
 * const hash = createHash('sha256').update(ADMIN_RECOVERY_LABEL)
 *   .update(`${tenant}\0${admin.id}\0${code}`).digest(); // = recoveryCodeHash(tenant, admin.id, code)
 * ```
 */
export const ADMIN_RECOVERY_LABEL = 'cloister/server/v1/admin-recovery-code';
/**
 * `Authorization` scheme of a session token.
 *
 * @example
 * ```ts
 * const res = await fetch(`${url}/admin/v1/users`, { headers: { authorization: `${ADMIN_SESSION_SCHEME} ${token}` } });
 * ```
 */
export const ADMIN_SESSION_SCHEME = 'Cloister-Admin';
/**
 * `Authorization` scheme of an integration's API key.
 *
 * @example
 * ```ts
 * const apiKey = process.env.CLOISTER_API_KEY ?? '';
 * const res = await fetch(`${url}/admin/v1/users`, { headers: { authorization: `${ADMIN_KEY_SCHEME} ${apiKey}` } });
 * ```
 */
export const ADMIN_KEY_SCHEME = 'Cloister-Admin-Key';
/**
 * How many recovery codes an enrolment makes (10).
 *
 * @example
 * ```ts
 * const codes = newRecoveryCodes(); // codes.length === RECOVERY_CODE_COUNT
 * ```
 */
export const RECOVERY_CODE_COUNT = 10;

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function labelled(label: string, ...parts: (string | Uint8Array)[]): Uint8Array {
  const h = createHash('sha256').update(label);
  parts.forEach((p, i) => {
    if (i > 0) h.update(new Uint8Array([0]));
    h.update(p);
  });
  return new Uint8Array(h.digest());
}

/**
 * A new bearer secret (32 random bytes) as base64url (43 characters).
 *
 * @example
 * ```ts
 * const secret = newBearerSecret(); // 43 base64url characters
 * const stored = bearerHash('session', secret); // only this is stored
 * ```
 */
export function newBearerSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The stored hash of a session token, an API key or a SCIM token (`kind` picks the label).
 *
 * @example
 * ```ts
 * const session = await stores.administrators.session(bearerHash('session', token));
 * ```
 */
export function bearerHash(kind: 'session' | 'key' | 'scim', secret: string): Uint8Array {
  const label =
    kind === 'session' ? ADMIN_SESSION_LABEL : kind === 'key' ? ADMIN_KEY_LABEL : SCIM_TOKEN_LABEL;
  return labelled(label, secret);
}

/**
 * New recovery codes, shown once.
 *
 * @example
 * ```ts
 * const codes = newRecoveryCodes(); // ['k3m9-…', …] (10)
 * ```
 */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    let bits = 0;
    let value = 0;
    let out = '';
    for (const b of bytes) {
      value = (value << 8) | b;
      bits += 8;
      while (bits >= 5) {
        out += B32[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    return out.match(/.{4}/g)?.join('-') ?? out;
  });
}

/**
 * A recovery code as typed, normalised (lower case, no dashes or spaces), or `undefined` when it
 * cannot be one.
 *
 * @example
 * ```ts
 * normalizeRecoveryCode('ABCD-EFGH-2345-6723'); // 'abcdefgh23456723'
 * ```
 */
export function normalizeRecoveryCode(code: string): string | undefined {
  const c = code.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z2-7]{16}$/.test(c) ? c : undefined;
}

/**
 * The stored hash of a recovery code of one administrator.
 *
 * @example
 * ```ts
 * const used = await stores.administrators.useRecoveryCode(tenant, admin.id, recoveryCodeHash(tenant, admin.id, 'ABCD-EFGH-2345-6723'));
 * ```
 */
export function recoveryCodeHash(tenant: string, admin: string, code: string): Uint8Array {
  return labelled(ADMIN_RECOVERY_LABEL, tenant, admin, normalizeRecoveryCode(code) ?? '');
}

/**
 * A new administrator id: `adm_` and 22 base64url characters.
 *
 * @example
 * ```ts
 * const id = newAdminId(); // 'adm_…' (22 base64url characters)
 * ```
 */
export function newAdminId(): string {
  return `adm_${randomBytes(16).toString('base64url')}`;
}
