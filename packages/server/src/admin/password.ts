/**
 * Administrator password hashing: scrypt (node:crypto, RFC 7914) with N = 2^17, r = 8, p = 1, a
 * 16-byte random salt and a 32-byte output, in a versioned encoded record
 * `$scrypt$v=1$ln=17,r=8,p=1$<salt>$<hash>` (unpadded base64). Verification reads the parameters
 * from the record (within bounds), compares in constant time, and is run against a fixed dummy
 * record for unknown accounts so that the time of a refusal does not say whether the account
 * exists. `spec/admin-auth.md` §2.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '@cloister/crypto';

/**
 * The scrypt parameters of new records.
 *
 * @example
 * ```ts
 * console.log(PASSWORD_PARAMS.logN); // 17
 * ```
 */
export const PASSWORD_PARAMS = Object.freeze({ logN: 17, r: 8, p: 1, saltBytes: 16, hashBytes: 32 });
/**
 * Fewest characters of a new password (12).
 *
 * @example
 * ```ts
 * const longEnough = 'correct horse battery staple'.length >= MIN_PASSWORD_CHARS; // → true
 * ```
 */
export const MIN_PASSWORD_CHARS = 12;
/**
 * Most characters of any password (1024); longer ones are refused before hashing.
 *
 * @example
 * ```ts
 * const tooLong = 'x'.repeat(MAX_PASSWORD_CHARS + 1);
 * await verifyPassword(admin.passwordHash ?? '', tooLong); // → false, without running scrypt
 * ```
 */
export const MAX_PASSWORD_CHARS = 1024;

const RECORD =
  /^\$scrypt\$v=1\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(password.normalize('NFC'), 'utf8'),
      salt,
      PASSWORD_PARAMS.hashBytes,
      { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/**
 * Checks a new password: a string of {@link MIN_PASSWORD_CHARS}..{@link MAX_PASSWORD_CHARS}
 * characters. The error names the field, never the value.
 *
 * @example
 * ```ts
 * const password = checkNewPassword('correct horse battery staple', 'password'); // ValidationError('password') if too short or long
 * const record = await hashPassword(password);
 * ```
 */
export function checkNewPassword(value: unknown, field = 'password'): string {
  if (typeof value !== 'string' || value.length < MIN_PASSWORD_CHARS || value.length > MAX_PASSWORD_CHARS) {
    throw new ValidationError(field, `a string of ${MIN_PASSWORD_CHARS}..${MAX_PASSWORD_CHARS} characters`);
  }
  return value;
}

/**
 * Hashes a new password into an encoded record.
 *
 * @example
 * ```ts
 * const record = await hashPassword('correct horse battery staple');
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  checkNewPassword(password);
  const { logN, r, p, saltBytes } = PASSWORD_PARAMS;
  const salt = randomBytes(saltBytes);
  const hash = await derive(password, salt, logN, r, p);
  return `$scrypt$v=1$ln=${logN},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}

/**
 * Whether `password` matches `record`, compared in constant time. A malformed record, parameters
 * out of bounds (ln 10..20, r 1..32, p 1..16) or an over-long password verify as `false`.
 *
 * @example
 * ```ts
 * const ok = admin.passwordHash !== undefined && (await verifyPassword(admin.passwordHash, 'correct horse battery staple'));
 * ```
 */
export async function verifyPassword(record: string, password: string): Promise<boolean> {
  const m = RECORD.exec(record);
  if (m === null || typeof password !== 'string' || password.length > MAX_PASSWORD_CHARS) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const expected = Buffer.from(m[5] ?? '', 'base64');
  const actual = await derive(password, salt, logN, r, p);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;

/**
 * Runs a verification as costly as a real one and resolves `false`: for logins naming no account
 * (or one without a password), so the refusal takes as long as a wrong password.
 *
 * @example
 * ```ts
 * const found = await stores.administrators.byEmail(tenant, 'ops@acme.example');
 * const password = 'correct horse battery staple';
 * const ok = found?.passwordHash ? await verifyPassword(found.passwordHash, password) : await dummyVerify(password);
 * ```
 */
export async function dummyVerify(password: string): Promise<false> {
  dummy ??= hashPassword(b64(randomBytes(24)));
  await verifyPassword(await dummy, typeof password === 'string' ? password : '');
  return false;
}
