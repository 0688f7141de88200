/**
 * Administrators of a tenant and their sessions (`spec/admin-auth.md`, `spec/storage-server.md`).
 * The store keeps what the admin plane's authentication needs and decides nothing about it: a
 * human administrator has a password hash record, a TOTP secret (pending until a first valid code,
 * then active), the last accepted TOTP step and the hashes of unused recovery codes; an
 * integration has the hash of its API key and the permissions it is scoped to. Every value is a
 * record under encryption at rest like every other server row, so the TOTP secret is never in
 * clear in the database; the store never logs.
 *
 * Rows: `s_admins[k(tenant)][utf8(admin)]` the administrator; `s_admin_emails[k(tenant)][utf8(email)]`
 * the unique e-mail claim; `s_admin_keys[keyHash][ε]` the unique API-key claim;
 * `s_admin_sessions[tokenHash][ε]` a session, expiring at its absolute end.
 *
 * @module
 */
import { DecodeError, LimitError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkArray,
  checkBool,
  checkBytesIn,
  checkId,
  checkInteger,
  checkObject,
  checkPage,
  checkText,
  checkTime,
  getRec,
  idFromKey,
  key,
  NO_SORT,
  type Rec,
  read,
  T,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadTenant } from './tenants.js';
import { ROLES, type Role } from './users.js';

/**
 * Bytes of every stored hash (API keys, session tokens, recovery codes): SHA-256.
 *
 * @example
 * ```ts
 * const hash = bearerHash('session', token); // hash.length === ADMIN_HASH_BYTES (32)
 * ```
 */
export const ADMIN_HASH_BYTES = 32;
/**
 * Most recovery codes an administrator holds (16); more are refused with a `ValidationError`.
 *
 * @example
 * ```ts
 * const codes = newRecoveryCodes(); // RECOVERY_CODE_COUNT (10) ≤ MAX_RECOVERY_CODES
 * ```
 */
export const MAX_RECOVERY_CODES = 16;
/**
 * Longest administrator e-mail address in characters (254, the RFC 5321 path limit).
 *
 * @example
 * ```ts
 * const fits = 'ops@acme.example'.length <= MAX_ADMIN_EMAIL; // → true
 * ```
 */
export const MAX_ADMIN_EMAIL = 254;
/**
 * Longest administrator name in characters (128).
 *
 * @example
 * ```ts
 * const name = 'Operations team'.slice(0, MAX_ADMIN_NAME);
 * ```
 */
export const MAX_ADMIN_NAME = 128;
/**
 * Longest stored password hash record, in characters (256); a longer `passwordHash` is a
 * `ValidationError`.
 *
 * @example
 * ```ts
 * const record = await hashPassword('correct horse battery staple');
 * const fits = record.length <= MAX_PASSWORD_RECORD; // → true
 * ```
 */
export const MAX_PASSWORD_RECORD = 256;
/**
 * Most administrators per tenant (1000); {@link AdministratorStore.create} throws `LimitError`
 * beyond it.
 *
 * @example
 * ```ts
 * const page = await stores.administrators.list(tenant, { limit: 1000 });
 * const full = page.items.length >= MAX_ADMINS_PER_TENANT;
 * ```
 */
export const MAX_ADMINS_PER_TENANT = 1000;
const MAX_SCOPES = 64;
const SCOPE = /^[a-z][a-z0-9_.:-]{0,63}$/;
const ADMIN_ID = /^adm_[A-Za-z0-9_-]{22}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The state of an administrator's TOTP: `pending` from enrolment until the first valid code,
 * `active` after.
 *
 * @example
 * ```ts
 * const state: TotpState | undefined = admin.totp?.state;
 * if (state === 'pending') console.log('scan the QR code, then log in once');
 * ```
 */
export type TotpState = 'pending' | 'active';

/**
 * A stored administrator. Secrets stay inside: `passwordHash`, `totp.secret`, the hashes.
 *
 * @example
 * ```ts
 * const found: Administrator | undefined = await stores.administrators.byEmail(tenant, 'ops@acme.example');
 * if (found !== undefined && !found.disabled) console.log(found.id, found.role);
 * ```
 */
export interface Administrator {
  /** `adm_` and 22 base64url characters (128 random bits). */
  readonly id: string;
  /** The tenant the administrator belongs to. */
  readonly tenant: TenantId;
  /** Lower-case, unique per tenant. */
  readonly email: string;
  /** Display name (at most {@link MAX_ADMIN_NAME} characters). */
  readonly name: string;
  /** The role that decides a human's permissions (`integration` for an API key). */
  readonly role: Role;
  /** The encoded password hash record (`spec/admin-auth.md` §2); absent for an integration. */
  readonly passwordHash?: string;
  /** The TOTP secret (20 bytes), its state and the last accepted step; absent for an integration. */
  readonly totp?: { readonly secret: Uint8Array; readonly state: TotpState; readonly lastStep: number };
  /** SHA-256 hashes of the unused recovery codes (human roles). */
  readonly recoveryCodeHashes: readonly Uint8Array[];
  /** SHA-256 hash of the API key (integration only). */
  readonly keyHash?: Uint8Array;
  /** The permissions an integration's key is scoped to (empty for humans: their role decides). */
  readonly scopes: readonly string[];
  /** Whether the administrator is disabled (can neither log in nor use a key). */
  readonly disabled: boolean;
  /** When the administrator was created, in Unix milliseconds. */
  readonly createdAt: number;
}

/**
 * What {@link AdministratorStore.create} takes.
 *
 * @example
 * ```ts
 * const input: AdministratorInput = {
 *   email: 'ops@acme.example',
 *   name: 'Ops',
 *   role: 'admin',
 *   passwordHash: await hashPassword('correct horse battery staple'),
 *   totpSecret: newTotpSecret(),
 * };
 * const created = await stores.administrators.create(tenant, newAdminId(), input);
 * ```
 */
export interface AdministratorInput {
  /** E-mail address, stored lower-case and unique per tenant (at most {@link MAX_ADMIN_EMAIL} characters). */
  readonly email: string;
  /** Display name (at most {@link MAX_ADMIN_NAME} characters). */
  readonly name: string;
  /** The role; `integration` makes an API-key administrator. */
  readonly role: Role;
  /** The encoded password hash record (human roles only). */
  readonly passwordHash?: string;
  /** The TOTP secret, stored in state `pending` (human roles only). */
  readonly totpSecret?: Uint8Array;
  /** SHA-256 hashes of the recovery codes (at most {@link MAX_RECOVERY_CODES}; default none). */
  readonly recoveryCodeHashes?: readonly Uint8Array[];
  /** SHA-256 hash of the API key (`integration` only). */
  readonly keyHash?: Uint8Array;
  /** The permissions an integration's key is scoped to (`integration` only; default none). */
  readonly scopes?: readonly string[];
}

/**
 * What {@link AdministratorStore.update} may change.
 *
 * @example
 * ```ts
 * const patch: AdministratorPatch = { disabled: true };
 * await stores.administrators.update(tenant, admin.id, patch);
 * ```
 */
export interface AdministratorPatch {
  /** A new display name. */
  readonly name?: string;
  /** A new role. */
  readonly role?: Role;
  /** Disables (`true`) or re-enables (`false`) the administrator. */
  readonly disabled?: boolean;
  /** A new encoded password hash record. */
  readonly passwordHash?: string;
}

/**
 * A stored administrator session (the token itself is never stored).
 *
 * @example
 * ```ts
 * const session: AdminSession | undefined = await stores.administrators.session(bearerHash('session', token));
 * if (session !== undefined) console.log(session.admin, new Date(session.expiresAt));
 * ```
 */
export interface AdminSession {
  /** The tenant of the administrator. */
  readonly tenant: TenantId;
  /** The administrator's id. */
  readonly admin: string;
  /** When the session was created (the login), in Unix milliseconds. */
  readonly createdAt: number;
  /** When the session was last used, in Unix milliseconds. */
  readonly lastUsedAt: number;
  /** When a second factor was last presented (login or step-up). */
  readonly freshFactorAt: number;
  /** The absolute end: the row expires then. */
  readonly expiresAt: number;
}

/**
 * The administrators of every tenant, their keys and sessions.
 *
 * @example
 * ```ts
 * const ops = await stores.administrators.byEmail(tenant, 'ops@acme.example');
 * if (ops !== undefined) await stores.administrators.update(tenant, ops.id, { role: 'auditor' });
 * ```
 */
export interface AdministratorStore {
  /**
   * Creates an administrator. Human roles need `passwordHash` and `totpSecret` (state `pending`)
   * and no key; `integration` needs `keyHash` and no password or TOTP. `NotFoundError('tenant')`,
   * `ConflictError('admin')` (id), `ConflictError('admin.email')`, `ConflictError('admin.key')`,
   * `LimitError` beyond {@link MAX_ADMINS_PER_TENANT}.
   *
   * @example
   * ```ts
   * const created = await stores.administrators.create(tenant, newAdminId(), {
   *   email: 'ops@acme.example', name: 'Ops', role: 'admin',
   *   passwordHash: await hashPassword('correct horse battery staple'), totpSecret: newTotpSecret(),
   * });
   * ```
   */
  create(tenant: TenantId, id: string, input: AdministratorInput): Promise<Administrator>;
  /**
   * The administrator `id` of `tenant`, or `undefined`.
   *
   * @example
   * ```ts
   * const found = await stores.administrators.get(tenant, admin.id);
   * if (found === undefined || found.disabled) console.log('no active administrator with this id');
   * ```
   */
  get(tenant: TenantId, id: string): Promise<Administrator | undefined>;
  /**
   * By e-mail (compared lower-case).
   *
   * @example
   * ```ts
   * const found = await stores.administrators.byEmail(tenant, 'OPS@acme.example'); // compared lower-case
   * ```
   */
  byEmail(tenant: TenantId, email: string): Promise<Administrator | undefined>;
  /**
   * The integration whose API key hashes to `keyHash`.
   *
   * @example
   * ```ts
   * const integration = await stores.administrators.byKeyHash(bearerHash('key', token));
   * ```
   */
  byKeyHash(keyHash: Uint8Array): Promise<Administrator | undefined>;
  /**
   * One page of the tenant's administrators.
   *
   * @example
   * ```ts
   * const page = await stores.administrators.list(tenant, { limit: 50 });
   * for (const a of page.items) console.log(a.email, a.role, a.disabled);
   * const more = page.next === undefined ? undefined : await stores.administrators.list(tenant, { after: page.next, limit: 50 });
   * ```
   */
  list(tenant: TenantId, options?: ServerPageOptions): Promise<ServerPage<Administrator>>;
  /**
   * Changes name, role, disabled flag or password; `NotFoundError('admin')`.
   *
   * @example
   * ```ts
   * const updated = await stores.administrators.update(tenant, admin.id, { name: 'Operations', role: 'auditor' });
   * await stores.administrators.update(tenant, admin.id, { passwordHash: await hashPassword('a new long passphrase') });
   * ```
   */
  update(tenant: TenantId, id: string, patch: AdministratorPatch): Promise<Administrator>;
  /**
   * Records `step` as the last accepted TOTP step (and activates a pending TOTP) when it is later
   * than the stored one; resolves `false` and writes nothing otherwise (RFC 6238 §5.2: a step is
   * accepted once). Locks the administrator's row, so of two concurrent logins with one code
   * exactly one wins. `NotFoundError('admin')`.
   *
   * @example
   * ```ts
   * const step = admin.totp === undefined ? undefined : matchTotp(admin.totp.secret, '123456', Date.now());
   * const accepted = step !== undefined && (await stores.administrators.acceptTotpStep(tenant, admin.id, step)); // false for a replay
   * ```
   */
  acceptTotpStep(tenant: TenantId, id: string, step: number): Promise<boolean>;
  /**
   * Removes one recovery code's hash; resolves `false` when it is not (or no longer) there.
   *
   * @example
   * ```ts
   * const hash = recoveryCodeHash(tenant, admin.id, 'ABCD-EFGH-2345-6723');
   * const used = await stores.administrators.useRecoveryCode(tenant, admin.id, hash); // false the second time
   * ```
   */
  useRecoveryCode(tenant: TenantId, id: string, codeHash: Uint8Array): Promise<boolean>;
  /**
   * Replaces the TOTP secret (state `pending`, last step 0) and the recovery code hashes.
   *
   * @example
   * ```ts
   * const secret = newTotpSecret();
   * const codes = newRecoveryCodes(); // shown to the administrator once
   * const hashes = codes.map((c) => recoveryCodeHash(tenant, admin.id, c));
   * await stores.administrators.replaceSecondFactor(tenant, admin.id, secret, hashes);
   * ```
   */
  replaceSecondFactor(
    tenant: TenantId,
    id: string,
    totpSecret: Uint8Array,
    recoveryCodeHashes: readonly Uint8Array[],
  ): Promise<void>;
  /**
   * Stores a session under the hash of its token; `ConflictError('admin.session')` if taken.
   *
   * @example
   * ```ts
   * const sessionToken = newBearerSecret();
   * const now = Date.now();
   * await stores.administrators.createSession(bearerHash('session', sessionToken), {
   *   tenant, admin: admin.id, createdAt: now, lastUsedAt: now, freshFactorAt: now, expiresAt: now + DEFAULT_ADMIN_SESSION.absoluteMs,
   * });
   * ```
   */
  createSession(tokenHash: Uint8Array, session: AdminSession): Promise<void>;
  /**
   * The live session of `tokenHash` (an expired one is gone).
   *
   * @example
   * ```ts
   * const live = await stores.administrators.session(bearerHash('session', token));
   * if (live === undefined) console.log('no such session, or it expired');
   * ```
   */
  session(tokenHash: Uint8Array): Promise<AdminSession | undefined>;
  /**
   * Updates the use and fresh-factor times of a live session; `NotFoundError('admin.session')`.
   *
   * @example
   * ```ts
   * const now = Date.now();
   * // after a step-up with a fresh TOTP code:
   * const touched = await stores.administrators.touchSession(bearerHash('session', token), { lastUsedAt: now, freshFactorAt: now });
   * ```
   */
  touchSession(
    tokenHash: Uint8Array,
    times: { readonly lastUsedAt?: number; readonly freshFactorAt?: number },
  ): Promise<AdminSession>;
  /**
   * Deletes a session; resolves whether one was there.
   *
   * @example
   * ```ts
   * const ended = await stores.administrators.deleteSession(bearerHash('session', token));
   * ```
   */
  deleteSession(tokenHash: Uint8Array): Promise<boolean>;
}

/**
 * Normalises an e-mail address for storage and lookup: trimmed, lower-case.
 * `ValidationError(field)` unless the result is 3..{@link MAX_ADMIN_EMAIL} characters with one
 * `@` and no white space.
 *
 * @example
 * ```ts
 * normalizeAdminEmail(' Ops@ACME.example '); // → 'ops@acme.example'
 * ```
 */
export function normalizeAdminEmail(value: unknown, field = 'email'): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  const email = checkText(text, field, MAX_ADMIN_EMAIL, 3);
  if (!EMAIL.test(email)) throw new ValidationError(field, 'an e-mail address');
  return email;
}

/**
 * Checks an administrator id (`adm_` and 22 base64url characters) and returns it;
 * `ValidationError(field)` otherwise.
 *
 * @example
 * ```ts
 * const id = checkAdminId(newAdminId()); // returns the id unchanged
 * checkAdminId('root', 'admin'); // throws ValidationError('admin')
 * ```
 */
export function checkAdminId(value: unknown, field = 'admin'): string {
  if (typeof value !== 'string' || !ADMIN_ID.test(value)) {
    throw new ValidationError(field, 'an administrator id (adm_ and 22 base64url characters)');
  }
  return value;
}

function checkRole(value: unknown, field: string): Role {
  if (!ROLES.includes(value as Role)) throw new ValidationError(field, `one of ${ROLES.join(', ')}`);
  return value as Role;
}

function checkHash(value: unknown, field: string): Uint8Array {
  return checkBytesIn(value, field, ADMIN_HASH_BYTES, ADMIN_HASH_BYTES).slice();
}

function checkHashes(value: unknown, field: string): Uint8Array[] {
  return checkArray(value, field, MAX_RECOVERY_CODES).map((h, i) => checkHash(h, `${field}[${i}]`));
}

function checkPasswordRecord(value: unknown, field: string): string {
  return checkText(value, field, MAX_PASSWORD_RECORD, 8);
}

function checkScopes(value: unknown, field: string): string[] {
  const list = checkArray(value, field, MAX_SCOPES).map((s, i) => {
    if (typeof s !== 'string' || !SCOPE.test(s))
      throw new ValidationError(`${field}[${i}]`, 'a permission name');
    return s;
  });
  return [...new Set(list)].sort();
}

function decode(r: Rec, tenant: TenantId): Administrator {
  const role = r.str('role', 32) as Role;
  if (!ROLES.includes(role)) throw new DecodeError(`${T.admins}.role`, 'a role');
  const totp = r.has('totp') ? r.obj('totp') : undefined;
  const state = totp?.str('state', 16);
  if (state !== undefined && state !== 'pending' && state !== 'active') {
    throw new DecodeError(`${T.admins}.totp.state`, 'pending or active');
  }
  if (r.id('tenant', tenantId) !== tenant)
    throw new DecodeError(`${T.admins}.tenant`, 'the tenant of its key');
  return {
    id: r.str('id', 32),
    tenant,
    email: r.str('email', MAX_ADMIN_EMAIL),
    name: r.str('name', MAX_ADMIN_NAME),
    role,
    ...(r.has('passwordHash') ? { passwordHash: r.str('passwordHash', MAX_PASSWORD_RECORD) } : {}),
    ...(totp === undefined || state === undefined
      ? {}
      : { totp: { secret: totp.bytes('secret', 16, 64), state, lastStep: totp.int('lastStep') } }),
    recoveryCodeHashes: r.arr('recoveryCodeHashes').map((h) => {
      if (!(h instanceof Uint8Array) || h.length !== ADMIN_HASH_BYTES) {
        throw new DecodeError(`${T.admins}.recoveryCodeHashes`, 'hashes');
      }
      return h;
    }),
    ...(r.has('keyHash') ? { keyHash: r.bytes('keyHash', ADMIN_HASH_BYTES, ADMIN_HASH_BYTES) } : {}),
    scopes: r.strs('scopes'),
    disabled: r.bool('disabled'),
    createdAt: r.int('createdAt'),
  };
}

function encode(a: Administrator): Uint8Array {
  return write({
    id: a.id,
    tenant: a.tenant,
    email: a.email,
    name: a.name,
    role: a.role,
    passwordHash: a.passwordHash ?? null,
    totp:
      a.totp === undefined ? null : { secret: a.totp.secret, state: a.totp.state, lastStep: a.totp.lastStep },
    recoveryCodeHashes: [...a.recoveryCodeHashes],
    keyHash: a.keyHash ?? null,
    scopes: [...a.scopes],
    disabled: a.disabled,
    createdAt: a.createdAt,
  });
}

async function load(
  tx: StorageTx,
  tenant: TenantId,
  id: string,
  forUpdate = false,
): Promise<Administrator | undefined> {
  const r = await getRec(tx, T.admins, key(tenant), key(id), forUpdate);
  return r === undefined ? undefined : decode(r, tenant);
}

async function loadOrThrow(tx: StorageTx, tenant: TenantId, id: string): Promise<Administrator> {
  const a = await load(tx, tenant, id, true);
  if (a === undefined) throw new NotFoundError('admin');
  return a;
}

async function save(tx: StorageTx, a: Administrator): Promise<void> {
  await tx.put(T.admins, { partition: key(a.tenant), sort: key(a.id), value: encode(a) });
}

function decodeSession(r: Rec): AdminSession {
  return {
    tenant: r.id('tenant', tenantId),
    admin: r.str('admin', 32),
    createdAt: r.int('createdAt'),
    lastUsedAt: r.int('lastUsedAt'),
    freshFactorAt: r.int('freshFactorAt'),
    expiresAt: r.int('expiresAt'),
  };
}

function sessionValue(s: AdminSession): Uint8Array {
  return write({
    tenant: s.tenant,
    admin: s.admin,
    createdAt: s.createdAt,
    lastUsedAt: s.lastUsedAt,
    freshFactorAt: s.freshFactorAt,
    expiresAt: s.expiresAt,
  });
}

async function putSession(tx: StorageTx, tokenHash: Uint8Array, s: AdminSession): Promise<boolean> {
  return tx.put(T.adminSessions, {
    partition: tokenHash,
    sort: NO_SORT,
    value: sessionValue(s),
    expiresAt: s.expiresAt,
  });
}

/**
 * Creates the administrator store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const administrators = createAdministratorStore(adapterExecutor(adapter));
 * const found = await administrators.byEmail(tenant, 'ops@acme.example');
 * ```
 */
export function createAdministratorStore(run: Executor): AdministratorStore {
  return {
    async create(tenant, id, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      const i = checkObject(input, 'input');
      const email = normalizeAdminEmail(i.email, 'input.email');
      const name = checkText(i.name, 'input.name', MAX_ADMIN_NAME);
      const role = checkRole(i.role, 'input.role');
      const human = role !== 'integration';
      let passwordHash: string | undefined;
      let totpSecret: Uint8Array | undefined;
      let keyHash: Uint8Array | undefined;
      if (human) {
        passwordHash = checkPasswordRecord(i.passwordHash, 'input.passwordHash');
        totpSecret = checkBytesIn(i.totpSecret, 'input.totpSecret', 16, 64).slice();
        if (i.keyHash !== undefined) throw new ValidationError('input.keyHash', 'absent for a human role');
        if (i.scopes !== undefined) throw new ValidationError('input.scopes', 'absent for a human role');
      } else {
        keyHash = checkHash(i.keyHash, 'input.keyHash');
        if (i.passwordHash !== undefined)
          throw new ValidationError('input.passwordHash', 'absent for integration');
        if (i.totpSecret !== undefined)
          throw new ValidationError('input.totpSecret', 'absent for integration');
        if (i.recoveryCodeHashes !== undefined) {
          throw new ValidationError('input.recoveryCodeHashes', 'absent for integration');
        }
      }
      const recoveryCodeHashes =
        i.recoveryCodeHashes === undefined
          ? []
          : checkHashes(i.recoveryCodeHashes, 'input.recoveryCodeHashes');
      const scopes = i.scopes === undefined ? [] : checkScopes(i.scopes, 'input.scopes');
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        if ((await tx.count(T.admins, key(tid))) >= MAX_ADMINS_PER_TENANT) {
          throw new LimitError(`a tenant has at most ${MAX_ADMINS_PER_TENANT} administrators`);
        }
        const admin: Administrator = {
          id: aid,
          tenant: tid,
          email,
          name,
          role,
          ...(passwordHash === undefined ? {} : { passwordHash }),
          ...(totpSecret === undefined
            ? {}
            : { totp: { secret: totpSecret, state: 'pending' as const, lastStep: 0 } }),
          recoveryCodeHashes,
          ...(keyHash === undefined ? {} : { keyHash }),
          scopes,
          disabled: false,
          createdAt: tx.now,
        };
        // Unique claims first: a refused call writes nothing.
        if (
          !(await tx.put(
            T.admins,
            { partition: key(tid), sort: key(aid), value: encode(admin) },
            { ifAbsent: true },
          ))
        ) {
          throw new ConflictError('admin', 'an administrator with this id exists');
        }
        const emailClaim = { partition: key(tid), sort: key(email), value: write({ admin: aid }) };
        if (!(await tx.put(T.adminEmails, emailClaim, { ifAbsent: true }))) {
          await tx.delete(T.admins, key(tid), key(aid));
          throw new ConflictError('admin.email', 'an administrator of this tenant has this e-mail address');
        }
        if (keyHash !== undefined) {
          const claim = { partition: keyHash, sort: NO_SORT, value: write({ tenant: tid, admin: aid }) };
          if (!(await tx.put(T.adminKeys, claim, { ifAbsent: true }))) {
            await tx.delete(T.adminEmails, key(tid), key(email));
            await tx.delete(T.admins, key(tid), key(aid));
            throw new ConflictError('admin.key', 'this key is taken');
          }
        }
        return admin;
      });
    },

    async get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      return run((tx) => load(tx, tid, aid), { readOnly: true });
    },

    async byEmail(tenant, email) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const e = normalizeAdminEmail(email);
      return run(
        async (tx) => {
          const claim = await getRec(tx, T.adminEmails, key(tid), key(e));
          if (claim === undefined) return undefined;
          const admin = await load(tx, tid, claim.str('admin', 32));
          if (admin === undefined || admin.email !== e)
            throw new DecodeError(T.adminEmails, 'a dangling claim');
          return admin;
        },
        { readOnly: true },
      );
    },

    async byKeyHash(keyHash) {
      const h = checkHash(keyHash, 'keyHash');
      return run(
        async (tx) => {
          const claim = await getRec(tx, T.adminKeys, h, NO_SORT);
          if (claim === undefined) return undefined;
          const tid = claim.id('tenant', tenantId);
          return load(tx, tid, claim.str('admin', 32));
        },
        { readOnly: true },
      );
    },

    async list(tenant, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const { after, limit } = checkPage(options);
      return run(
        async (tx) => {
          const rows = await tx.list(T.admins, key(tid), {
            limit,
            ...(after === undefined ? {} : { after: key(after) }),
          });
          const items = rows.map((row) => {
            const a = decode(read(row.value, T.admins), tid);
            if (idFromKey(row.sort, T.admins, (v) => v) !== a.id)
              throw new DecodeError(T.admins, 'invalid key');
            return a;
          });
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },

    async update(tenant, id, patch) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      const p = checkObject(patch, 'patch');
      const name = p.name === undefined ? undefined : checkText(p.name, 'patch.name', MAX_ADMIN_NAME);
      const role = p.role === undefined ? undefined : checkRole(p.role, 'patch.role');
      const disabled = p.disabled === undefined ? undefined : checkBool(p.disabled, 'patch.disabled');
      const passwordHash =
        p.passwordHash === undefined ? undefined : checkPasswordRecord(p.passwordHash, 'patch.passwordHash');
      return run(async (tx) => {
        const a = await loadOrThrow(tx, tid, aid);
        if (role !== undefined && (role === 'integration') !== (a.role === 'integration')) {
          throw new ValidationError('patch.role', 'a human role for a human, integration for an integration');
        }
        if (passwordHash !== undefined && a.role === 'integration') {
          throw new ValidationError('patch.passwordHash', 'absent for integration');
        }
        const next: Administrator = {
          ...a,
          ...(name === undefined ? {} : { name }),
          ...(role === undefined ? {} : { role }),
          ...(disabled === undefined ? {} : { disabled }),
          ...(passwordHash === undefined ? {} : { passwordHash }),
        };
        await save(tx, next);
        return next;
      });
    },

    async acceptTotpStep(tenant, id, step) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      const s = checkInteger(step, 'step', 1, Number.MAX_SAFE_INTEGER);
      return run(async (tx) => {
        const a = await loadOrThrow(tx, tid, aid);
        if (a.totp === undefined || s <= a.totp.lastStep) return false;
        await save(tx, { ...a, totp: { secret: a.totp.secret, state: 'active', lastStep: s } });
        return true;
      });
    },

    async useRecoveryCode(tenant, id, codeHash) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      const h = checkHash(codeHash, 'codeHash');
      return run(async (tx) => {
        const a = await loadOrThrow(tx, tid, aid);
        const rest = a.recoveryCodeHashes.filter((x) => !equalHash(x, h));
        if (rest.length === a.recoveryCodeHashes.length) return false;
        await save(tx, { ...a, recoveryCodeHashes: rest });
        return true;
      });
    },

    async replaceSecondFactor(tenant, id, totpSecret, recoveryCodeHashes) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const aid = checkAdminId(id, 'id');
      const secret = checkBytesIn(totpSecret, 'totpSecret', 16, 64).slice();
      const hashes = checkHashes(recoveryCodeHashes, 'recoveryCodeHashes');
      return run(async (tx) => {
        const a = await loadOrThrow(tx, tid, aid);
        if (a.role === 'integration') throw new ValidationError('admin', 'a human administrator');
        await save(tx, { ...a, totp: { secret, state: 'pending', lastStep: 0 }, recoveryCodeHashes: hashes });
      });
    },

    async createSession(tokenHash, session) {
      const h = checkHash(tokenHash, 'tokenHash');
      const s = checkObject(session, 'session');
      const value: AdminSession = {
        tenant: checkId(s.tenant, 'session.tenant', tenantId),
        admin: checkAdminId(s.admin, 'session.admin'),
        createdAt: checkTime(s.createdAt, 'session.createdAt'),
        lastUsedAt: checkTime(s.lastUsedAt, 'session.lastUsedAt'),
        freshFactorAt: checkTime(s.freshFactorAt, 'session.freshFactorAt'),
        expiresAt: checkTime(s.expiresAt, 'session.expiresAt'),
      };
      await run(async (tx) => {
        const row = { partition: h, sort: NO_SORT, value: sessionValue(value), expiresAt: value.expiresAt };
        if (!(await tx.put(T.adminSessions, row, { ifAbsent: true }))) {
          throw new ConflictError('admin.session', 'this session token is taken');
        }
      });
    },

    async session(tokenHash) {
      const h = checkHash(tokenHash, 'tokenHash');
      return run(
        async (tx) => {
          const r = await getRec(tx, T.adminSessions, h, NO_SORT);
          return r === undefined ? undefined : decodeSession(r);
        },
        { readOnly: true },
      );
    },

    async touchSession(tokenHash, times) {
      const h = checkHash(tokenHash, 'tokenHash');
      const t = checkObject(times, 'times');
      const lastUsedAt = t.lastUsedAt === undefined ? undefined : checkTime(t.lastUsedAt, 'times.lastUsedAt');
      const freshFactorAt =
        t.freshFactorAt === undefined ? undefined : checkTime(t.freshFactorAt, 'times.freshFactorAt');
      return run(async (tx) => {
        const r = await getRec(tx, T.adminSessions, h, NO_SORT, true);
        if (r === undefined) throw new NotFoundError('admin.session');
        const s = decodeSession(r);
        const next: AdminSession = {
          ...s,
          lastUsedAt: Math.max(s.lastUsedAt, lastUsedAt ?? 0),
          freshFactorAt: Math.max(s.freshFactorAt, freshFactorAt ?? 0),
        };
        await putSession(tx, h, next);
        return next;
      });
    },

    async deleteSession(tokenHash) {
      const h = checkHash(tokenHash, 'tokenHash');
      return run((tx) => tx.delete(T.adminSessions, h, NO_SORT));
    },
  };
}

function equalHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}
