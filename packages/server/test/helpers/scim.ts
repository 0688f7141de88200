/**
 * SCIM test set-up: an admin test server with tenants, their owners' sessions, SCIM tokens made
 * through the admin API, and a request helper that speaks `application/scim+json`.
 */
import type { TestResponse } from './server.js';
import { type AdminTestServer, createTenantAsOperator, login } from './admin-api.js';

/** A tenant with its owner's session. */
export interface ScimTenant {
  readonly id: string;
  readonly owner: { readonly session: string };
}

/** Creates a tenant (with the domain `<id>.example`) and logs its owner in. */
export async function scimTenant(t: AdminTestServer, id: string): Promise<ScimTenant> {
  const made = await createTenantAsOperator(t, id);
  return { id, owner: { session: await login(t, id, made.owner.email, made.owner.secret) } };
}

/** Makes a SCIM token through the admin API; answers the token and its id. */
export async function scimToken(
  t: AdminTestServer,
  tenant: ScimTenant,
  json: Record<string, unknown> = { name: 'idp' },
): Promise<{ token: string; id: string; answer: TestResponse }> {
  const answer = await t.as(tenant.owner, 'POST', '/admin/v1/scim/tokens', { json });
  if (answer.status !== 201) throw new Error(`createScimToken ${answer.status} ${answer.body.toString()}`);
  return { token: answer.json.token as string, id: answer.json.id as string, answer };
}

/** One SCIM request with `token` (or none), the body as `application/scim+json`. */
export function scim(
  t: AdminTestServer,
  token: string | undefined,
  method: string,
  path: string,
  json?: unknown,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  return t.request(method, `/scim/v2${path}`, {
    ...(json === undefined
      ? {}
      : { body: new Uint8Array(Buffer.from(JSON.stringify(json))), contentType: 'application/scim+json' }),
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
}

/** The PatchOp schema. */
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** The core User schema. */
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** The core Group schema. */
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** Cloister's User extension. */
export const EXT = 'urn:ietf:params:scim:schemas:extension:cloister:2.0:User';
