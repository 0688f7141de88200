/**
 * Test helpers for the admin API: a server with an operator token and a clock the test moves,
 * tenants created through the operator's route, administrators logged in with TOTP codes, and a
 * request function that carries a session, a key or the operator's token.
 */
import { randomBytes } from 'node:crypto';
import { Secret } from 'otpauth';
import pg from 'pg';
import { adminAuthRoutes, createAdminAuthRoutes } from '../../src/admin/routes.js';
import { totpCode } from '../../src/admin/totp.js';
import { ROUTES } from '../../src/routes/index.js';
import type { ServerOptions } from '../../src/server.js';
import { type RequestOptions, startTestServer, type TestResponse, type TestServer } from './server.js';

/** The operator token of the test servers. */
export const OPERATOR_TOKEN = randomBytes(32).toString('base64url');
/** A password every test administrator uses. */
export const PASSWORD = 'correct horse battery staple';
/** The `DATABASE_URL` of the PostgreSQL variants, if set. */
export const DATABASE_URL = process.env.DATABASE_URL || undefined;

/** The 20-byte TOTP secret an `otpauth://` URI holds. */
export function secretOf(uri: string): Uint8Array {
  const base32 = new URL(uri).searchParams.get('secret') ?? '';
  return new Uint8Array(Secret.fromBase32(base32).buffer);
}

/** Who calls: a session token, an integration key, the operator's token, or nobody. */
export type Caller =
  | { readonly session: string }
  | { readonly key: string }
  | { readonly operator: string }
  | { readonly none: true };

/** The `Authorization` header of `caller`. */
export function authHeader(caller: Caller): Record<string, string> {
  if ('session' in caller) return { authorization: `Cloister-Admin ${caller.session}` };
  if ('key' in caller) return { authorization: `Cloister-Admin-Key ${caller.key}` };
  if ('operator' in caller) return { authorization: `Cloister-Operator ${caller.operator}` };
  return {};
}

/** A test server for the admin API and the clock it reads. */
export interface AdminTestServer extends TestServer {
  /** The server's clock (ms); tests set it. */
  time: number;
  /** A request as `caller`. */
  as(caller: Caller, method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
}

/** Starts a server with every route (login limits raised for tests) and the operator token. */
export async function startAdminServer(
  start: number,
  options: ServerOptions & { readonly postgresSchema?: string } = {},
): Promise<AdminTestServer> {
  const { postgresSchema, ...rest } = options;
  const clock = { time: start };
  const routes = ROUTES.map((r) =>
    r === adminAuthRoutes
      ? createAdminAuthRoutes({ loginsPerAccount: 10_000, loginsPerAddress: 100_000 })
      : r,
  );
  const t = await startTestServer({
    now: () => clock.time,
    operatorToken: OPERATOR_TOKEN,
    rateLimitPerMinute: 1_000_000,
    routes,
    ...(postgresSchema === undefined || DATABASE_URL === undefined
      ? {}
      : { database: DATABASE_URL, databaseSchema: postgresSchema }),
    ...rest,
  });
  const usesPostgres = postgresSchema !== undefined && DATABASE_URL !== undefined;
  const close = t.close;
  const server = Object.assign(t, {
    async close() {
      await close();
      if (!usesPostgres) return;
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${postgresSchema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
    as: (caller: Caller, method: string, path: string, requestOptions: RequestOptions = {}) =>
      t.request(method, path, {
        ...requestOptions,
        headers: { ...requestOptions.headers, ...authHeader(caller) },
      }),
  });
  Object.defineProperty(server, 'time', {
    get: () => clock.time,
    set: (v: number) => {
      clock.time = v;
    },
  });
  return server as AdminTestServer;
}

/** A tenant created through `POST /admin/v1/tenants`, with its owner's e-mail and TOTP secret. */
export interface CreatedTenant {
  readonly id: string;
  readonly owner: { readonly admin: string; readonly email: string; readonly secret: Uint8Array };
  readonly recoveryCodes: readonly string[];
  readonly answer: TestResponse;
}

/** Creates a tenant and its owner as the operator. */
export async function createTenantAsOperator(t: AdminTestServer, id: string): Promise<CreatedTenant> {
  const email = `owner@${id}.example`;
  const answer = await t.as({ operator: OPERATOR_TOKEN }, 'POST', '/admin/v1/tenants', {
    json: {
      id,
      name: id.toUpperCase(),
      domains: [`${id}.example`],
      owner: { email, name: 'Owner', password: PASSWORD },
    },
  });
  if (answer.status !== 201) throw new Error(`createTenant ${answer.status} ${answer.body.toString()}`);
  return {
    id,
    owner: { admin: answer.json.owner.admin, email, secret: secretOf(answer.json.owner.totpUri) },
    recoveryCodes: answer.json.owner.recoveryCodes,
    answer,
  };
}

/** Logs in with a TOTP code of the server's current time; returns the session token. */
export async function login(
  t: AdminTestServer,
  tenant: string,
  email: string,
  secret: Uint8Array,
): Promise<string> {
  const res = await t.as({ none: true }, 'POST', '/admin/v1/session', {
    json: { tenant, email, password: PASSWORD, totp: totpCode(secret, t.time) },
  });
  if (res.status !== 201) throw new Error(`login ${res.status} ${res.body.toString()}`);
  return res.json.token as string;
}
