/**
 * Test helpers for the organisation plane: an organisation root made on the "administrator's
 * machine", administrators with sessions and root-signed certificates, signing (and forging)
 * organisation objects, and a route module that serves the organisation operations.
 */
import { type CryptoProvider, concatBytes, type KeyPair, UnauthenticatedError, utf8 } from '@cloister/crypto';
import {
  type AdminRole,
  generateOrganisationRoot,
  issueAdminCertificate,
  ORGANISATION_OBJECT_LABELS,
  type OrganisationObjectBody,
  organisationObjectSignedBytes,
  signOrganisationObject,
  type TenantId,
} from '@cloister/protocol';
import { Secret } from 'otpauth';
import { BROADCAST_OPERATIONS } from '../src/admin/api/broadcasts.js';
import { registerAdminOperations } from '../src/admin/api/operation.js';
import { bootstrapOwner, createHumanAdministrator, totpCode } from '../src/admin/index.js';
import type { RouteModule, ServerContext } from '../src/context.js';
import { ORGANISATION_OPERATIONS } from '../src/organisation/operations.js';
import type { TestResponse, TestServer } from './helpers/server.js';

export const PASSWORD = 'correct horse battery staple';
export const DAY = 86_400_000;

/** Serves the organisation and broadcast operations (no operator token: operator operations answer 401). */
export const organisationRoutes: RouteModule = (app, ctx) => {
  registerAdminOperations(app, ctx, [...ORGANISATION_OPERATIONS, ...BROADCAST_OPERATIONS], () => {
    throw new UnauthenticatedError();
  });
};

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** An administrator: their account, a session token, their signing key and certificate. */
export interface TestAdmin {
  readonly id: string;
  readonly secret: Uint8Array;
  readonly key: KeyPair;
  certificate: Uint8Array;
  token: string;
}

const secretOf = (uri: string) =>
  new Uint8Array(Secret.fromBase32(new URL(uri).searchParams.get('secret') ?? '').buffer);

/** Issues a certificate for `admin` under `rootPrivateKey`. */
export function certify(
  provider: CryptoProvider,
  rootPrivateKey: Uint8Array,
  tenant: TenantId,
  admin: string,
  adminPublicKey: Uint8Array,
  role: AdminRole,
  now: number,
  serial = 1,
): Promise<Uint8Array> {
  return issueAdminCertificate(provider, rootPrivateKey, {
    tenant,
    admin,
    adminPublicKey,
    role,
    issuedAtMs: now - 60_000,
    expiresAtMs: now + 300 * DAY,
    serial,
  });
}

/** One tenant's organisation: the root (held by the test, as on an owner's machine) and its admins. */
export interface TestOrganisation {
  readonly tenant: TenantId;
  readonly root: KeyPair;
  readonly owner: TestAdmin;
  /** A second human administrator with the role admin. */
  readonly admin: TestAdmin;
}

/** Logs `who` in (password + TOTP at `now`), keeping the token. */
export async function login(t: TestServer, tenant: TenantId, email: string, who: TestAdmin, now: number) {
  const res = await t.request('POST', '/admin/v1/session', {
    json: { tenant, email, password: PASSWORD, totp: totpCode(who.secret, now) },
  });
  if (res.status !== 201) throw new Error(`login failed: ${res.status} ${res.body.toString()}`);
  who.token = res.json.token;
}

/** Bootstraps an owner and an admin of `tenant` with sessions and certificates under a new root. */
export async function organisation(t: TestServer, tenant: TenantId, now: number): Promise<TestOrganisation> {
  const ctx = t.server.context;
  const provider = ctx.provider;
  const root = await generateOrganisationRoot(provider);
  const o = await bootstrapOwner(ctx.stores, tenant, {
    email: `owner@${tenant}.example`,
    name: 'Owner',
    password: PASSWORD,
  });
  const a = await createHumanAdministrator(
    ctx.stores,
    tenant,
    'admin',
    { email: `admin@${tenant}.example`, name: 'Admin', password: PASSWORD },
    { actor: o.admin },
  );
  const make = async (id: string, uri: string, role: AdminRole, serial: number): Promise<TestAdmin> => {
    const key = await provider.ed25519.generateKeyPair();
    return {
      id,
      secret: secretOf(uri),
      key,
      certificate: await certify(provider, root.privateKey, tenant, id, key.publicKey, role, now, serial),
      token: '',
    };
  };
  const owner = await make(o.admin, o.totpUri, 'owner', 1);
  const admin = await make(a.admin, a.totpUri, 'admin', 2);
  await login(t, tenant, `owner@${tenant}.example`, owner, now);
  await login(t, tenant, `admin@${tenant}.example`, admin, now);
  return { tenant, root, owner, admin };
}

/** Signs `body` as `who` (the protocol's signer, with its checks). */
export function sign(
  provider: CryptoProvider,
  who: TestAdmin,
  body: OrganisationObjectBody,
): Promise<Uint8Array> {
  return signOrganisationObject(provider, who.key.privateKey, who.certificate, body);
}

/** Signs `body` with `privateKey` under `certificate`, skipping every check the signer makes. */
export async function forge(
  provider: CryptoProvider,
  privateKey: Uint8Array,
  certificate: Uint8Array,
  body: OrganisationObjectBody,
): Promise<Uint8Array> {
  const signed = organisationObjectSignedBytes(certificate, body);
  const label = utf8(ORGANISATION_OBJECT_LABELS[body.kind]).length;
  return concatBytes(signed.subarray(label), await provider.ed25519.sign(privateKey, signed));
}

/** An admin-API request as `who`. */
export function asAdmin(
  t: TestServer,
  who: TestAdmin,
  method: string,
  path: string,
  json?: unknown,
): Promise<TestResponse> {
  return t.request(method, path, {
    headers: { authorization: `Cloister-Admin ${who.token}` },
    ...(json === undefined ? {} : { json }),
  });
}

/** Sets the tenant's root through the route (the owner's certificate, a fresh factor). */
export async function setRoot(t: TestServer, org: TestOrganisation): Promise<TestResponse> {
  return asAdmin(t, org.owner, 'PUT', '/admin/v1/organisation/root', {
    rootPublicKey: b64(org.root.publicKey),
    ownerCertificate: b64(org.owner.certificate),
  });
}

/** The server context's clock, for signing at the server's now. */
export const nowOf = (ctx: ServerContext): number => ctx.now();
