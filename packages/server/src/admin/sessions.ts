/**
 * Administrator login, sessions and their checks (`spec/admin-auth.md` §4):
 *
 * - {@link loginAdmin}: password, then a TOTP code or a recovery code. Every refusal (unknown
 *   tenant or account, integration, disabled, wrong password, wrong, pending or replayed code,
 *   used recovery code) is the same `UnauthenticatedError`; an unknown account costs one dummy
 *   scrypt like a wrong password. The accepted TOTP step (or the used recovery code), the new
 *   session and the audit record commit in one transaction; a refusal for a known tenant is
 *   audited in its own.
 * - Sessions: a random 32-byte token (only its hash is stored), 15 minutes idle, 8 hours at
 *   most; `freshFactorAt` is the time of the last second factor (login or {@link stepUpAdmin}).
 * - {@link authenticateAdmin}: the session (or an integration's API key) behind a request, with a
 *   permission and a fresh second factor when the route asks.
 *
 * No password, code, token or key is ever logged or put in an error or audit record.
 *
 * @module
 */
import { ForbiddenError, UnauthenticatedError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { type Administrator, normalizeAdminEmail, type Role } from '../store/index.js';
import { authenticateIntegrationKey } from './integration-keys.js';
import { dummyVerify, verifyPassword } from './password.js';
import { type AdminPermission, roleAllows } from './permissions.js';
import {
  ADMIN_KEY_SCHEME,
  ADMIN_SESSION_SCHEME,
  bearerHash,
  newBearerSecret,
  normalizeRecoveryCode,
  recoveryCodeHash,
} from './secrets.js';
import { matchTotp } from './totp.js';

/**
 * Lifetimes of administrator sessions.
 *
 * @example
 * ```ts
 * const config: AdminSessionConfig = { idleMs: 15 * 60_000, absoluteMs: 8 * 3_600_000, freshFactorMs: 5 * 60_000 };
 * ```
 */
export interface AdminSessionConfig {
  /** A session unused this long ends (default 15 minutes). */
  readonly idleMs: number;
  /** A session ends this long after login whatever happens (default 8 hours). */
  readonly absoluteMs: number;
  /** A second factor counts as fresh this long (default 5 minutes). */
  readonly freshFactorMs: number;
}

/**
 * The default {@link AdminSessionConfig}.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_ADMIN_SESSION.idleMs); // 900000
 * ```
 */
export const DEFAULT_ADMIN_SESSION: AdminSessionConfig = Object.freeze({
  idleMs: 15 * 60_000,
  absoluteMs: 8 * 3_600_000,
  freshFactorMs: 5 * 60_000,
});

const configs = new WeakMap<object, AdminSessionConfig>();

/**
 * Sets the session lifetimes {@link authenticateAdmin} applies for one server context (the admin
 * route module does it when registered).
 *
 * @example
 * ```ts
 * const { absoluteMs, freshFactorMs } = DEFAULT_ADMIN_SESSION;
 * configureAdminSessions(ctx, { idleMs: 5 * 60_000, absoluteMs, freshFactorMs }); // 5 minutes idle
 * ```
 */
export function configureAdminSessions(ctx: ServerContext, config: AdminSessionConfig): void {
  for (const k of ['idleMs', 'absoluteMs', 'freshFactorMs'] as const) {
    const v = config[k];
    if (!Number.isSafeInteger(v) || v < 1000 || v > 7 * 86_400_000) {
      throw new ValidationError(k, 'an integer from 1000 to 604800000');
    }
  }
  configs.set(ctx, config);
}

function configOf(ctx: ServerContext): AdminSessionConfig {
  return configs.get(ctx) ?? DEFAULT_ADMIN_SESSION;
}

/**
 * What a login presents. Exactly one of `totp` and `recoveryCode`.
 *
 * @example
 * ```ts
 * const input: AdminLoginInput = { tenant: 'acme', email: 'ops@acme.example', password: 'correct horse battery staple', totp: '123456' };
 * const session = await loginAdmin(ctx, input, request.ip);
 * ```
 */
export interface AdminLoginInput {
  /** The tenant id, as typed (checked like any tenant id). */
  readonly tenant: string;
  /** The administrator's e-mail address (compared lower-case). */
  readonly email: string;
  /** The password, in clear (never stored or logged). */
  readonly password: string;
  /** A current TOTP code (6 digits). */
  readonly totp?: string | undefined;
  /** An unused recovery code (spent by this login). */
  readonly recoveryCode?: string | undefined;
}

/**
 * A new session. The token is shown once.
 *
 * @example
 * ```ts
 * const result: AdminLoginResult = await loginAdmin(ctx, { tenant: 'acme', email: 'ops@acme.example', password: 'correct horse battery staple', totp: '123456' }, request.ip);
 * const authorization = `${ADMIN_SESSION_SCHEME} ${result.token}`; // send it, never log it
 * ```
 */
export interface AdminLoginResult {
  /** The session token (43 base64url characters), shown once; only its hash is stored. */
  readonly token: string;
  /** The tenant of the administrator. */
  readonly tenant: TenantId;
  /** The administrator's id. */
  readonly admin: string;
  /** The administrator's role. */
  readonly role: Role;
  /** The absolute end of the session. */
  readonly expiresAt: number;
  /** The session ends after this long unused. */
  readonly idleTimeoutMs: number;
  /** Until when the second factor counts as fresh. */
  readonly freshFactorUntil: number;
  /** Recovery codes left (after this login, if it used one). */
  readonly recoveryCodesLeft: number;
}

type Refusal =
  | 'unknown-account'
  | 'not-a-person'
  | 'disabled'
  | 'password'
  | 'totp'
  | 'totp-replay'
  | 'totp-pending'
  | 'recovery-code';

async function auditRefusal(
  ctx: ServerContext,
  tenant: TenantId,
  admin: Administrator | undefined,
  reason: Refusal,
  address: string,
  action = 'admin.login',
): Promise<void> {
  await ctx.stores.audit.append(tenant, {
    actor: admin?.id ?? 'anonymous',
    action,
    target: admin?.id ?? '',
    outcome: 'failure',
    details: { reason, address },
  });
}

/**
 * Checks a login and opens a session; `UnauthenticatedError` for every refusal (see the module).
 * Rate limits are the caller's (the route counts per account and per address first).
 *
 * @example
 * ```ts
 * const session = await loginAdmin(ctx, { tenant: 'acme', email: 'ops@acme.example', password: 'correct horse battery staple', totp: '123456' }, request.ip);
 * reply.send({ token: session.token, expiresAt: session.expiresAt });
 * ```
 */
export async function loginAdmin(
  ctx: ServerContext,
  input: AdminLoginInput,
  address: string,
): Promise<AdminLoginResult> {
  let tenant: TenantId | undefined;
  let admin: Administrator | undefined;
  try {
    tenant = tenantId(input.tenant);
    if ((await ctx.stores.tenants.get(tenant)) === undefined) tenant = undefined;
    else admin = await ctx.stores.administrators.byEmail(tenant, normalizeAdminEmail(input.email));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    tenant = undefined;
  }
  const passwordOk =
    admin?.passwordHash === undefined
      ? await dummyVerify(input.password)
      : await verifyPassword(admin.passwordHash, input.password);
  const refuse = async (reason: Refusal): Promise<never> => {
    if (tenant !== undefined) await auditRefusal(ctx, tenant, admin, reason, address);
    throw new UnauthenticatedError();
  };
  if (tenant === undefined) throw new UnauthenticatedError();
  if (admin === undefined) return refuse('unknown-account');
  if (admin.role === 'integration' || admin.totp === undefined) return refuse('not-a-person');
  if (!passwordOk) return refuse('password');
  if (admin.disabled) return refuse('disabled');

  const now = ctx.now();
  let step: number | undefined;
  let codeHash: Uint8Array | undefined;
  if (input.totp !== undefined) {
    step = matchTotp(admin.totp.secret, input.totp, now);
    if (step === undefined) return refuse('totp');
  } else {
    if (admin.totp.state !== 'active') return refuse('totp-pending');
    if (input.recoveryCode === undefined || normalizeRecoveryCode(input.recoveryCode) === undefined) {
      return refuse('recovery-code');
    }
    codeHash = recoveryCodeHash(admin.tenant, admin.id, input.recoveryCode);
  }

  const token = newBearerSecret();
  const config = configOf(ctx);
  const a = admin;
  const t = tenant;
  const outcome = await ctx.stores.transaction(async (s): Promise<Refusal | number> => {
    const accepted =
      step !== undefined
        ? await s.administrators.acceptTotpStep(t, a.id, step)
        : await s.administrators.useRecoveryCode(t, a.id, codeHash as Uint8Array);
    if (!accepted) {
      const reason: Refusal = step !== undefined ? 'totp-replay' : 'recovery-code';
      await s.audit.append(t, {
        actor: a.id,
        action: 'admin.login',
        target: a.id,
        outcome: 'failure',
        details: { reason, address },
      });
      return reason;
    }
    await s.administrators.createSession(bearerHash('session', token), {
      tenant: t,
      admin: a.id,
      createdAt: now,
      lastUsedAt: now,
      freshFactorAt: now,
      expiresAt: now + config.absoluteMs,
    });
    const left = (await s.administrators.get(t, a.id))?.recoveryCodeHashes.length ?? 0;
    await s.audit.append(t, {
      actor: a.id,
      action: 'admin.login',
      target: a.id,
      outcome: 'success',
      details: { method: step !== undefined ? 'totp' : 'recovery-code', address },
    });
    return left;
  });
  if (typeof outcome !== 'number') throw new UnauthenticatedError();
  return {
    token,
    tenant: t,
    admin: a.id,
    role: a.role,
    expiresAt: now + config.absoluteMs,
    idleTimeoutMs: config.idleMs,
    freshFactorUntil: now + config.freshFactorMs,
    recoveryCodesLeft: outcome,
  };
}

/**
 * Who an authenticated admin request comes from.
 *
 * @example
 * ```ts
 * const me: AdminAuth = await authenticateAdmin(ctx, request, { permission: 'users.read' });
 * ```
 */
export interface AdminAuth {
  /** The tenant the caller administers. */
  readonly tenant: TenantId;
  /** The calling administrator (a person or an integration). */
  readonly admin: Administrator;
  /** `session` for a person's session token, `key` for an integration's API key. */
  readonly via: 'session' | 'key';
  /** The stored hash of the session token (sessions only). */
  readonly sessionHash?: Uint8Array;
  /** The session's absolute end and fresh-factor time (sessions only). */
  readonly expiresAt?: number;
  /** When a second factor was last presented in the session, in Unix milliseconds (sessions only). */
  readonly freshFactorAt?: number;
  /** The integration key used (keys made by `createIntegrationKey` only): its id and pools (null: all). */
  readonly key?: { readonly id: string; readonly pools: readonly string[] | null };
}

/**
 * Options of {@link authenticateAdmin}.
 *
 * @example
 * ```ts
 * const options: AuthenticateAdminOptions = { permission: 'devices.wipe', freshFactor: true, allowKey: false };
 * const caller = await authenticateAdmin(ctx, request, options);
 * ```
 */
export interface AuthenticateAdminOptions {
  /** The permission the route needs: 403 `ERR_FORBIDDEN` without it. */
  readonly permission?: AdminPermission;
  /** Whether the route needs a second factor presented within `freshFactorMs`: 403 otherwise. */
  readonly freshFactor?: boolean;
  /** Whether an integration's API key may call the route (default `true`). */
  readonly allowKey?: boolean;
}

const B64URL32 = /^[A-Za-z0-9_-]{43}$/;

function bearer(request: Pick<FastifyRequest, 'headers'>): { scheme: 'session' | 'key'; secret: string } {
  const header = request.headers.authorization;
  if (typeof header !== 'string') throw new UnauthenticatedError();
  const [scheme, secret, extra] = header.split(' ');
  if (secret === undefined || extra !== undefined || !B64URL32.test(secret)) throw new UnauthenticatedError();
  if (scheme === ADMIN_SESSION_SCHEME) return { scheme: 'session', secret };
  if (scheme === ADMIN_KEY_SCHEME) return { scheme: 'key', secret };
  throw new UnauthenticatedError();
}

/**
 * Authenticates an admin request (`Authorization: Cloister-Admin <token>` or, for integrations,
 * `Cloister-Admin-Key <key>`): 401 `ERR_UNAUTHENTICATED` for a missing, unknown, expired or idle
 * session, a disabled administrator or an unknown key (all alike); 403 `ERR_FORBIDDEN` for a
 * permission the role (or the key's scopes) lacks, a valid key on a route only a person may call
 * (`allowKey: false`), or a second factor that is not fresh. Each
 * accepted session request renews its idle time.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 *
 * app.post<{ Params: { user: string } }>('/admin/v1/users/:user/block', async (req) => {
 *   const caller = await authenticateAdmin(ctx, req, { permission: 'users.block' });
 *   return ctx.stores.users.update(caller.tenant, userId(req.params.user), { blocked: true });
 * });
 * ```
 */
export async function authenticateAdmin(
  ctx: ServerContext,
  request: Pick<FastifyRequest, 'headers'>,
  options: AuthenticateAdminOptions = {},
): Promise<AdminAuth> {
  const { scheme, secret } = bearer(request);
  const now = ctx.now();
  const config = configOf(ctx);
  if (scheme === 'key') {
    // Keys made by `createIntegrationKey` (scoped, pool-bound, expiring, rate-limited) first.
    const scoped = await authenticateIntegrationKey(ctx, bearerHash('key', secret), options);
    if (scoped !== undefined) return scoped;
    const admin = await ctx.stores.administrators.byKeyHash(bearerHash('key', secret));
    if (admin === undefined || admin.disabled || admin.role !== 'integration')
      throw new UnauthenticatedError();
    // A valid key is authenticated: a route only a person may call refuses it as a permission.
    if (options.allowKey === false) throw new ForbiddenError('this action needs a person with a session');
    if (options.permission !== undefined && !roleAllows(admin.role, options.permission, admin.scopes)) {
      throw new ForbiddenError('this key is not scoped for this action');
    }
    if (options.freshFactor === true)
      throw new ForbiddenError('this action needs a person with a fresh second factor');
    return { tenant: admin.tenant, admin, via: 'key' };
  }
  const hash = bearerHash('session', secret);
  const session = await ctx.stores.administrators.session(hash);
  if (session === undefined) throw new UnauthenticatedError();
  if (now >= session.expiresAt || now - session.lastUsedAt >= config.idleMs) {
    await ctx.stores.administrators.deleteSession(hash);
    throw new UnauthenticatedError();
  }
  const admin = await ctx.stores.administrators.get(session.tenant, session.admin);
  if (admin === undefined || admin.disabled || admin.role === 'integration') {
    await ctx.stores.administrators.deleteSession(hash);
    throw new UnauthenticatedError();
  }
  if (options.permission !== undefined && !roleAllows(admin.role, options.permission)) {
    throw new ForbiddenError('this role does not allow this action');
  }
  if (options.freshFactor === true && now - session.freshFactorAt >= config.freshFactorMs) {
    throw new ForbiddenError('this action needs a fresh second factor (step-up)');
  }
  const touched = await ctx.stores.administrators.touchSession(hash, { lastUsedAt: now });
  return {
    tenant: admin.tenant,
    admin,
    via: 'session',
    sessionHash: hash,
    expiresAt: touched.expiresAt,
    freshFactorAt: touched.freshFactorAt,
  };
}

/**
 * Refreshes the second factor of the calling session with a new TOTP code (a step not used
 * before); `ForbiddenError` for a wrong or replayed code, audited either way.
 *
 * @example
 * ```ts
 * const caller = await authenticateAdmin(ctx, request, { allowKey: false });
 * const { freshFactorUntil } = await stepUpAdmin(ctx, caller, '123456', request.ip);
 * ```
 */
export async function stepUpAdmin(
  ctx: ServerContext,
  auth: AdminAuth,
  code: string,
  address: string,
): Promise<{ readonly freshFactorUntil: number }> {
  const { admin, sessionHash } = auth;
  if (auth.via !== 'session' || sessionHash === undefined || admin.totp === undefined) {
    throw new ForbiddenError('only a person with a session can step up');
  }
  const now = ctx.now();
  const step = matchTotp(admin.totp.secret, code, now);
  if (step === undefined) {
    await auditRefusal(ctx, admin.tenant, admin, 'totp', address, 'admin.step-up');
    throw new ForbiddenError('the second factor was refused');
  }
  const ok = await ctx.stores.transaction(async (s) => {
    if (!(await s.administrators.acceptTotpStep(admin.tenant, admin.id, step))) {
      await s.audit.append(admin.tenant, {
        actor: admin.id,
        action: 'admin.step-up',
        target: admin.id,
        outcome: 'failure',
        details: { reason: 'totp-replay', address },
      });
      return false;
    }
    await s.administrators.touchSession(sessionHash, { lastUsedAt: now, freshFactorAt: now });
    await s.audit.append(admin.tenant, {
      actor: admin.id,
      action: 'admin.step-up',
      target: admin.id,
      outcome: 'success',
      details: { address },
    });
    return true;
  });
  if (!ok) throw new ForbiddenError('the second factor was refused');
  return { freshFactorUntil: now + configOf(ctx).freshFactorMs };
}

/**
 * Ends the calling session (audited as `admin.logout`).
 *
 * @example
 * ```ts
 * await logoutAdmin(ctx, await authenticateAdmin(ctx, request, { allowKey: false }));
 * ```
 */
export async function logoutAdmin(ctx: ServerContext, auth: AdminAuth): Promise<void> {
  const hash = auth.sessionHash;
  if (hash === undefined) throw new ForbiddenError('only a session can log out');
  await ctx.stores.transaction(async (s) => {
    await s.administrators.deleteSession(hash);
    await s.audit.append(auth.tenant, {
      actor: auth.admin.id,
      action: 'admin.logout',
      target: auth.admin.id,
      outcome: 'success',
    });
  });
}
