/**
 * A stand-in for the admin API's organisation routes in unit tests: it keeps the next sequence of
 * each kind, records the objects published to it, and can answer one 409 `organisation-sequence`
 * (another administrator signed in between) or state another root fingerprint.
 */
import { ORGANISATION_OBJECT_KINDS, type OrganisationObjectKind } from '@cloister/protocol';
import type { AdminRequest, AdminResponse, AdminTransport } from '../src/index.js';

export interface FakeServer {
  readonly transport: AdminTransport;
  readonly requests: AdminRequest[];
  readonly published: { path: string; object: Uint8Array }[];
  readonly sequences: Record<OrganisationObjectKind, number>;
  /** Answer the next publish with 409 organisation-sequence (after bumping the counter). */
  conflictOnce: boolean;
  rootFingerprint: string | null;
  serverSigningKey: string;
  /** The answer of POST /admin/v1/users/invite. */
  invite: { token: string; expiresAt: number; rootFingerprint: string | null; enrolmentCode: string | null };
}

function answer(status: number, json: unknown, headers: Record<string, string> = {}): AdminResponse {
  const bytes = json === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(json));
  async function* body(): AsyncGenerator<Uint8Array> {
    if (bytes.length > 0) yield bytes;
  }
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: body() };
}

const fromB64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));

export function fakeServer(): FakeServer {
  const sequences = Object.fromEntries(ORGANISATION_OBJECT_KINDS.map((k) => [k, 1])) as Record<
    OrganisationObjectKind,
    number
  >;
  const server: FakeServer = {
    requests: [],
    published: [],
    sequences,
    conflictOnce: false,
    rootFingerprint: null,
    serverSigningKey: Buffer.alloc(32, 7).toString('base64url'),
    invite: { token: 'A'.repeat(43), expiresAt: 1, rootFingerprint: null, enrolmentCode: null },
    transport: async (request) => {
      server.requests.push(request);
      const body =
        request.body === undefined ? undefined : JSON.parse(new TextDecoder().decode(request.body));
      if (request.method === 'GET' && request.path === '/admin/v1/organisation') {
        return answer(200, {
          rootFingerprint: server.rootFingerprint,
          serverSigningKey: server.serverSigningKey,
          sequences: { ...sequences },
          delegation: null,
        });
      }
      if (request.method === 'POST' && request.path === '/admin/v1/users/invite') {
        return answer(201, server.invite);
      }
      const publishPaths = [
        '/admin/v1/organisation/policy-layers',
        '/admin/v1/broadcasts',
        '/admin/v1/organisation/pool-rules',
        '/admin/v1/organisation/admissions',
        '/admin/v1/organisation/delegations',
      ];
      if (publishPaths.includes(request.path) || request.path.endsWith('/wipe')) {
        const object = fromB64u(body.object ?? body.command);
        const { decodeOrganisationObject, organisationObjectScope } = await import('@cloister/protocol');
        const o = decodeOrganisationObject(object);
        if (server.conflictOnce || o.sequence !== sequences[o.kind]) {
          server.conflictOnce = false;
          sequences[o.kind]++;
          return answer(409, { error: { code: 'ERR_CONFLICT', message: 'conflict: organisation-sequence' } });
        }
        sequences[o.kind]++;
        server.published.push({ path: request.path, object });
        return answer(201, { kind: o.kind, sequence: o.sequence, scope: organisationObjectScope(o) });
      }
      return answer(404, { error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
    },
  };
  return server;
}
