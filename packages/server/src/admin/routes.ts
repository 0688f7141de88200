/**
 * The admin plane's authentication routes (`spec/admin-auth.md` §4):
 *
 * - `POST /admin/v1/session` `{ tenant, email, password, totp | recoveryCode }` → 201 a session;
 *   every refusal is 401 `ERR_UNAUTHENTICATED`; over a limit (per account, per client address)
 *   429 `ERR_RATE_LIMITED` with `retry-after`.
 * - `GET /admin/v1/session` → who is calling (session or integration key).
 * - `DELETE /admin/v1/session` → 204, the session ends.
 * - `POST /admin/v1/session/step-up` `{ totp }` → 200 `{ freshFactorUntil }`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { RateLimitedError } from '@cloister/crypto';
import { z } from 'zod';
import type { RouteModule } from '../context.js';
import { createRateLimiter, type RateLimiter } from '../rate-limits.js';
import type { AdminRouteDescription } from './api/operation.js';
import { MAX_PASSWORD_CHARS } from './password.js';
import { ROLE_PERMISSIONS, roleAllows } from './permissions.js';
import {
  type AdminSessionConfig,
  authenticateAdmin,
  configureAdminSessions,
  DEFAULT_ADMIN_SESSION,
  loginAdmin,
  logoutAdmin,
  stepUpAdmin,
} from './sessions.js';

/**
 * Options of {@link createAdminAuthRoutes}.
 *
 * @example
 * ```ts
 * const options: AdminAuthRouteOptions = { loginsPerAccount: 5, session: { idleMs: 10 * 60_000 } };
 * const routes = createAdminAuthRoutes(options);
 * ```
 */
export interface AdminAuthRouteOptions {
  /** Session lifetimes (default {@link DEFAULT_ADMIN_SESSION}). */
  readonly session?: Partial<AdminSessionConfig>;
  /** Login and step-up attempts per account per window (default 10). */
  readonly loginsPerAccount?: number;
  /** Login attempts per client address per window (default 50). */
  readonly loginsPerAddress?: number;
  /** The window of both limits, in ms (default 15 minutes). */
  readonly loginWindowMs?: number;
}

const totpCode = z.string().regex(/^[0-9]{6}$/);
const loginBody = z
  .object({
    tenant: z.string().min(1).max(128),
    email: z.string().min(3).max(254),
    password: z.string().min(1).max(MAX_PASSWORD_CHARS),
    totp: totpCode.optional(),
    recoveryCode: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((b) => (b.totp === undefined) !== (b.recoveryCode === undefined), {
    message: 'exactly one of totp and recoveryCode',
    path: ['totp'],
  });
const stepUpBody = z.object({ totp: totpCode }).strict();

const loginAnswer = z
  .object({
    token: z.string().describe('The session token (43 base64url characters): shown once.'),
    tenant: z.string(),
    admin: z.string(),
    role: z.enum(['owner', 'admin', 'user-manager', 'auditor', 'integration']),
    expiresAt: z.number().int(),
    idleTimeoutMs: z.number().int(),
    freshFactorUntil: z.number().int(),
    recoveryCodesLeft: z.number().int(),
  })
  .strict();
const whoAmIAnswer = z
  .object({
    tenant: z.string(),
    admin: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['owner', 'admin', 'user-manager', 'auditor', 'integration']),
    via: z.enum(['session', 'key']),
    permissions: z.array(z.string()),
    expiresAt: z.number().int().optional(),
    freshFactorUntil: z.number().int().optional(),
  })
  .strict();

/**
 * The four session routes as data (they authenticate in their own way, so they are not
 * `AdminOperation`s); the OpenAPI document includes them.
 *
 * @example
 * ```ts
 * const ids = ADMIN_SESSION_ROUTES.map((r) => r.id); // ['login', 'whoAmI', 'logout', 'stepUp']
 * ```
 */
export const ADMIN_SESSION_ROUTES: readonly AdminRouteDescription[] = Object.freeze([
  {
    id: 'login',
    method: 'POST',
    path: '/admin/v1/session',
    tag: 'session',
    summary: 'Log in with a password and a TOTP or recovery code',
    description:
      'Every refusal is the same 401; over the per-account or per-address limit 429 with retry-after.',
    security: 'none',
    body: loginBody,
    status: 201,
    response: loginAnswer,
  },
  {
    id: 'whoAmI',
    method: 'GET',
    path: '/admin/v1/session',
    tag: 'session',
    summary: 'Who is calling (a session or an integration key) and what they may do',
    security: 'session-or-key',
    status: 200,
    response: whoAmIAnswer,
  },
  {
    id: 'logout',
    method: 'DELETE',
    path: '/admin/v1/session',
    tag: 'session',
    summary: 'End the session',
    security: 'session',
    status: 204,
  },
  {
    id: 'stepUp',
    method: 'POST',
    path: '/admin/v1/session/step-up',
    tag: 'session',
    summary: 'Present a fresh second factor (a new TOTP code)',
    security: 'session',
    body: stepUpBody,
    status: 200,
    response: z.object({ freshFactorUntil: z.number().int() }).strict(),
  },
]);

function enforce(limiter: RateLimiter, key: string): void {
  const outcome = limiter.hit(key);
  if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
}

/** The limiter key of an account: a hash, so the limiter holds no e-mail address. */
function accountKey(tenant: string, email: string): string {
  return createHash('sha256').update(`${tenant}\u0000${email.trim().toLowerCase()}`).digest('base64url');
}

/**
 * The admin authentication routes with `options`.
 *
 * @example
 * ```ts
 * const adminServer = await createServer({
 *   dataDir: './cloister-data',
 *   routes: [createAdminAuthRoutes({ loginsPerAccount: 3 }), adminApiRoutes],
 * });
 * ```
 */
export function createAdminAuthRoutes(options: AdminAuthRouteOptions = {}): RouteModule {
  return (app, ctx) => {
    configureAdminSessions(ctx, { ...DEFAULT_ADMIN_SESSION, ...options.session });
    const windowMs = options.loginWindowMs ?? 15 * 60_000;
    const perAccount = createRateLimiter({ max: options.loginsPerAccount ?? 10, windowMs, now: ctx.now });
    const perAddress = createRateLimiter({ max: options.loginsPerAddress ?? 50, windowMs, now: ctx.now });

    app.post('/admin/v1/session', async (request, reply) => {
      enforce(perAddress, request.ip);
      const body = loginBody.parse(request.body);
      enforce(perAccount, accountKey(body.tenant, body.email));
      const session = await loginAdmin(ctx, body, request.ip);
      return reply.code(201).send(session);
    });

    app.get('/admin/v1/session', async (request) => {
      const me = await authenticateAdmin(ctx, request);
      const permissions = ROLE_PERMISSIONS[me.admin.role].filter((p) =>
        roleAllows(me.admin.role, p, me.admin.scopes),
      );
      return {
        tenant: me.tenant,
        admin: me.admin.id,
        email: me.admin.email,
        name: me.admin.name,
        role: me.admin.role,
        via: me.via,
        permissions,
        ...(me.expiresAt === undefined ? {} : { expiresAt: me.expiresAt }),
        ...(me.freshFactorAt === undefined
          ? {}
          : {
              freshFactorUntil:
                me.freshFactorAt + (options.session?.freshFactorMs ?? DEFAULT_ADMIN_SESSION.freshFactorMs),
            }),
      };
    });

    app.delete('/admin/v1/session', async (request, reply) => {
      const me = await authenticateAdmin(ctx, request, { allowKey: false });
      await logoutAdmin(ctx, me);
      return reply.code(204).send();
    });

    app.post('/admin/v1/session/step-up', async (request) => {
      const me = await authenticateAdmin(ctx, request, { allowKey: false });
      const body = stepUpBody.parse(request.body);
      enforce(perAccount, accountKey(me.tenant, me.admin.email));
      return stepUpAdmin(ctx, me, body.totp, request.ip);
    });
  };
}

/**
 * The admin authentication routes with the default limits (registered by `createServer`).
 *
 * @example
 * ```ts
 * await adminAuthRoutes(app, ctx); // registers login, whoami, logout and step-up on `app`
 * ```
 */
export const adminAuthRoutes: RouteModule = createAdminAuthRoutes();
