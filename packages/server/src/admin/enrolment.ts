/**
 * Creating administrators: the first owner of a tenant offline (what `cloister org init` calls),
 * further human administrators (the admin API's invite will call it), integrations with an API
 * key, and the confirmation of a TOTP enrolment. Every secret is returned once and only hashes
 * (and the TOTP secret, under encryption at rest) are stored; each creation is audited in its
 * transaction. `spec/admin-auth.md` §5.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import { ConflictError, NotFoundError, type Role, type ServerStores } from '../store/index.js';
import { checkNewPassword, hashPassword } from './password.js';
import { type AdminPermission, ROLE_PERMISSIONS } from './permissions.js';
import { bearerHash, newAdminId, newBearerSecret, newRecoveryCodes, recoveryCodeHash } from './secrets.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

/**
 * What {@link createHumanAdministrator} and {@link bootstrapOwner} take.
 *
 * @example
 * ```ts
 * const input: HumanAdminInput = { email: 'ops@acme.example', name: 'Ops', password: 'correct horse battery staple' };
 * const enrolment = await createHumanAdministrator(stores, tenant, 'admin', input, { actor: admin.id });
 * ```
 */
export interface HumanAdminInput {
  /** The administrator's e-mail address (unique per tenant, stored lower-case). */
  readonly email: string;
  /** Display name (at most 128 characters). */
  readonly name: string;
  /** At least 12 characters. */
  readonly password: string;
  /** The issuer shown in the authenticator app (default `Cloister <tenant>`). */
  readonly issuer?: string;
}

/**
 * The secrets of a new human administrator, shown once.
 *
 * @example
 * ```ts
 * const enrolment: HumanAdminEnrolment = await bootstrapOwner(stores, tenant, {
 *   email: 'owner@acme.example', name: 'Owner', password: 'correct horse battery staple',
 * });
 * // show enrolment.totpUri as a QR code and enrolment.recoveryCodes once; never log them
 * ```
 */
export interface HumanAdminEnrolment {
  /** The new administrator's id (`adm_…`). */
  readonly admin: string;
  /** `otpauth://totp/…` for a QR code: it holds the TOTP secret. */
  readonly totpUri: string;
  /** Ten single-use recovery codes. */
  readonly recoveryCodes: readonly string[];
}

/**
 * An integration and its API key, shown once.
 *
 * @example
 * ```ts
 * const integration: IntegrationEnrolment = await createIntegration(
 *   stores, tenant, { email: 'hr@acme.example', name: 'HR sync', scopes: ['users.read'] }, { actor: admin.id },
 * );
 * const authorization = `${ADMIN_KEY_SCHEME} ${integration.apiKey}`; // hand it over once, never log it
 * ```
 */
export interface IntegrationEnrolment {
  /** The integration's administrator id (`adm_…`). */
  readonly admin: string;
  /** The API key (43 base64url characters), shown once; only its hash is stored. */
  readonly apiKey: string;
}

/**
 * Creates a human administrator with `role` (not `integration`), audited as `admin.create` by
 * `actor`. The TOTP is pending until a first valid code ({@link confirmTotp} or a login).
 *
 * @example
 * ```ts
 * const enrolment = await createHumanAdministrator(
 *   stores, tenant, 'auditor', { email: 'audit@acme.example', name: 'Audit', password: 'correct horse battery staple' }, { actor: admin.id },
 * );
 * ```
 */
export async function createHumanAdministrator(
  stores: ServerStores,
  tenant: TenantId,
  role: Role,
  input: HumanAdminInput,
  options: { readonly actor: string; readonly onlyIfFirst?: boolean },
): Promise<HumanAdminEnrolment> {
  const tid = tenantId(tenant);
  if (role === 'integration') throw new ValidationError('role', 'a human role');
  const password = checkNewPassword(input?.password, 'password');
  const passwordHash = await hashPassword(password);
  const secret = newTotpSecret();
  const recoveryCodes = newRecoveryCodes();
  const id = newAdminId();
  const recoveryCodeHashes = recoveryCodes.map((c) => recoveryCodeHash(tid, id, c));
  const admin = await stores.transaction(async (s) => {
    if (options.onlyIfFirst === true && (await s.administrators.list(tid, { limit: 1 })).items.length > 0) {
      throw new ConflictError('admin.owner', 'this tenant already has administrators');
    }
    const a = await s.administrators.create(tid, id, {
      email: input.email,
      name: input.name,
      role,
      passwordHash,
      totpSecret: secret,
      recoveryCodeHashes,
    });
    await s.audit.append(tid, {
      actor: options.actor,
      action: options.onlyIfFirst === true ? 'admin.bootstrap' : 'admin.create',
      target: a.id,
      outcome: 'success',
      details: { role },
    });
    return a;
  });
  return {
    admin: admin.id,
    totpUri: totpUri(secret, { issuer: input.issuer ?? `Cloister ${tid}`, account: admin.email }),
    recoveryCodes,
  };
}

/**
 * Creates the first owner of a tenant offline (no session needed: whoever runs this holds the
 * server's storage). `ConflictError('admin.owner')` when the tenant has administrators already,
 * `NotFoundError('tenant')`. Audited as `admin.bootstrap` by `system`.
 *
 * @example
 * ```ts
 * const { admin: ownerId, totpUri, recoveryCodes } = await bootstrapOwner(server.context.stores, tenant, {
 *   email: 'owner@acme.example', name: 'Owner', password: 'correct horse battery staple',
 * });
 * ```
 */
export async function bootstrapOwner(
  stores: ServerStores,
  tenant: TenantId,
  input: HumanAdminInput,
): Promise<HumanAdminEnrolment> {
  return createHumanAdministrator(stores, tenant, 'owner', input, { actor: 'system', onlyIfFirst: true });
}

/**
 * Creates an integration with an API key scoped to `scopes` (each must be a permission of the
 * integration role). Audited as `admin.create` by `actor`.
 *
 * @example
 * ```ts
 * const { apiKey } = await createIntegration(stores, tenant, { email: 'hr@acme.example', name: 'HR', scopes: ['users.read'] }, { actor: admin.id });
 * ```
 */
export async function createIntegration(
  stores: ServerStores,
  tenant: TenantId,
  input: { readonly email: string; readonly name: string; readonly scopes: readonly AdminPermission[] },
  options: { readonly actor: string },
): Promise<IntegrationEnrolment> {
  const tid = tenantId(tenant);
  const scopes = Array.isArray(input?.scopes) ? input.scopes : [];
  scopes.forEach((s, i) => {
    if (!ROLE_PERMISSIONS.integration.includes(s)) {
      throw new ValidationError(`scopes[${i}]`, 'a permission of the integration role');
    }
  });
  const apiKey = newBearerSecret();
  const id = newAdminId();
  await stores.transaction(async (s) => {
    await s.administrators.create(tid, id, {
      email: input.email,
      name: input.name,
      role: 'integration',
      keyHash: bearerHash('key', apiKey),
      scopes,
    });
    await s.audit.append(tid, {
      actor: options.actor,
      action: 'admin.create',
      target: id,
      outcome: 'success',
      details: { role: 'integration', scopes: [...scopes].sort() },
    });
  });
  return { admin: id, apiKey };
}

/**
 * Confirms a pending TOTP enrolment with a first valid code (the CLI's check after showing the QR
 * code); the step is then used. Resolves `false` for a wrong or replayed code.
 * `NotFoundError('admin')`.
 *
 * @example
 * ```ts
 * const code = '123456'; // what the administrator's authenticator app shows
 * if (!(await confirmTotp(stores, tenant, admin.id, code, Date.now()))) console.error('wrong code');
 * ```
 */
export async function confirmTotp(
  stores: ServerStores,
  tenant: TenantId,
  admin: string,
  code: string,
  nowMs: number,
): Promise<boolean> {
  const tid = tenantId(tenant);
  const a = await stores.administrators.get(tid, admin);
  if (a === undefined) throw new NotFoundError('admin');
  if (a.totp === undefined) return false;
  const step = matchTotp(a.totp.secret, code, nowMs);
  if (step === undefined) return false;
  return stores.transaction(async (s) => {
    const ok = await s.administrators.acceptTotpStep(tid, a.id, step);
    if (ok) {
      await s.audit.append(tid, {
        actor: a.id,
        action: 'admin.totp.confirm',
        target: a.id,
        outcome: 'success',
      });
    }
    return ok;
  });
}
