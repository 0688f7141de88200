/**
 * AdminClient without a server: the root checks that catch a server substituting the organisation
 * root (an invite's fingerprint and enrolment code, the organisation state), the typed errors built
 * from error answers, and the credential headers.
 */
import {
  createNobleProvider,
  ForbiddenError,
  InvalidKeyError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '@cloister/crypto';
import { generateOrganisationRoot, rootFingerprint } from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import {
  AdminClient,
  ConflictError,
  enrolmentCode,
  errorFromAnswer,
  generateOrganisation,
  NotFoundError,
} from '../src/index.js';
import { fakeServer } from './fake-server.js';

const provider = createNobleProvider();

describe('root checks (the server substitutes the root)', async () => {
  const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
  const operatorRoot = await generateOrganisationRoot(provider);
  const operatorFingerprint = await rootFingerprint(provider, operatorRoot.publicKey);
  const token = Buffer.from(provider.randomBytes(32)).toString('base64url');

  function client(server = fakeServer()) {
    return {
      server,
      admin: new AdminClient({
        transport: server.transport,
        credential: { kind: 'session', token: 's' },
        organisationRoot: org.root.publicKey,
        provider,
      }),
    };
  }

  it('accepts an invite naming our root and computes the enrolment code locally', async () => {
    const { server, admin } = client();
    server.invite = {
      token,
      expiresAt: 5,
      rootFingerprint: org.rootFingerprint,
      enrolmentCode: enrolmentCode(token, org.rootFingerprint),
    };
    const invite = await admin.inviteUser({ user: 'alice' });
    expect(invite).toEqual({
      token,
      expiresAt: 5,
      rootFingerprint: org.rootFingerprint,
      enrolmentCode: enrolmentCode(token, org.rootFingerprint),
      rootVerified: true,
    });
  });

  it('refuses an invite with the operator’s root, with no root, or with a code for another root', async () => {
    const { server, admin } = client();
    server.invite = {
      token,
      expiresAt: 5,
      rootFingerprint: operatorFingerprint,
      enrolmentCode: enrolmentCode(token, operatorFingerprint),
    };
    await expect(admin.inviteUser({ user: 'alice' })).rejects.toBeInstanceOf(InvalidKeyError);
    server.invite = { token, expiresAt: 5, rootFingerprint: null, enrolmentCode: null };
    await expect(admin.inviteUser({ user: 'alice' })).rejects.toBeInstanceOf(InvalidKeyError);
    server.invite = {
      token,
      expiresAt: 5,
      rootFingerprint: org.rootFingerprint,
      enrolmentCode: enrolmentCode(token, operatorFingerprint),
    };
    await expect(admin.inviteUser({ user: 'alice' })).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('refuses organisation state naming another root; a client without a root passes it on unverified', async () => {
    const { server, admin } = client();
    server.rootFingerprint = operatorFingerprint;
    await expect(admin.getOrganisation()).rejects.toBeInstanceOf(InvalidKeyError);
    server.rootFingerprint = org.rootFingerprint;
    expect((await admin.getOrganisation()).rootFingerprint).toBe(org.rootFingerprint);
    const plain = new AdminClient({ transport: server.transport, provider });
    server.invite = { token, expiresAt: 5, rootFingerprint: operatorFingerprint, enrolmentCode: 'x' };
    expect(await plain.inviteUser({ user: 'bob' })).toMatchObject({
      rootVerified: false,
      rootFingerprint: operatorFingerprint,
    });
  });

  it('sends the credential of its kind', async () => {
    const { server, admin } = client();
    await admin.getOrganisation().catch(() => undefined);
    await admin
      .withCredential({ kind: 'key', key: 'k' })
      .getOrganisation()
      .catch(() => undefined);
    await admin
      .withCredential({ kind: 'operator', token: 'o' })
      .listTenants()
      .catch(() => undefined);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([
      'Cloister-Admin s',
      'Cloister-Admin-Key k',
      'Cloister-Operator o',
    ]);
  });
});

describe('errors from answers', () => {
  const err = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
    errorFromAnswer(status, { error: { code, message, ...extra } }, status === 429 ? '17' : undefined);

  it('maps each code to its typed error', () => {
    const v = err(400, 'ERR_VALIDATION', 'user: expected an id', { field: 'user' });
    expect(v).toBeInstanceOf(ValidationError);
    expect((v as ValidationError).field).toBe('user');
    expect(err(401, 'ERR_UNAUTHENTICATED', 'not authenticated')).toBeInstanceOf(UnauthenticatedError);
    expect(err(403, 'ERR_FORBIDDEN', 'not allowed')).toBeInstanceOf(ForbiddenError);
    const nf = err(404, 'ERR_NOT_FOUND', 'user not found');
    expect(nf).toBeInstanceOf(NotFoundError);
    expect((nf as NotFoundError).what).toBe('user');
    const c = err(409, 'ERR_CONFLICT', 'conflict: organisation-root');
    expect(c).toBeInstanceOf(ConflictError);
    expect((c as ConflictError).constraint).toBe('organisation-root');
    const r = err(429, 'ERR_RATE_LIMITED', 'too many requests');
    expect(r).toBeInstanceOf(RateLimitedError);
    expect((r as RateLimitedError).retryAfterSeconds).toBe(17);
    expect(errorFromAnswer(502, 'not json')).toMatchObject({ status: 502 });
  });
});
