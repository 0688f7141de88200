/**
 * The admin-API operations of the organisation plane (`spec/organisation.md` §10.4), declared
 * with `defineAdminOperation` (the admin API's route module registers them with every other
 * operation, and the OpenAPI document is generated from these declarations):
 *
 * | op id | route | access |
 * |---|---|---|
 * | getOrganisation | GET /admin/v1/organisation | policy.read |
 * | setOrganisationRoot | PUT /admin/v1/organisation/root | root.operate, fresh factor, no key |
 * | publishPolicyLayer | POST /admin/v1/organisation/policy-layers | policy.write (+ archive.key and a fresh factor for a tenant layer naming `archive`) |
 * | listPolicyLayers | GET /admin/v1/organisation/policy-layers | policy.read |
 * | wipeDevice | POST /admin/v1/users/:user/devices/:device/wipe | devices.wipe, fresh factor, no key |
 * | getWipe | GET /admin/v1/users/:user/devices/:device/wipe | devices.read |
 * | publishPoolRules | PUT /admin/v1/organisation/pool-rules | pools.write |
 * | publishAdmission | POST /admin/v1/organisation/admissions | devices.admit |
 * | publishDelegation | POST /admin/v1/organisation/delegations | root.operate, fresh factor, no key |
 *
 * Every object is signed on the administrator's machine; the server only verifies and stores it,
 * and every publish route requires the object's certificate to certify the calling administrator.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import {
  ARCHIVE_FEATURE,
  decodeOrganisationObject,
  MAX_ADMIN_CERTIFICATE_BYTES,
  ORGANISATION_OBJECT_KINDS,
  type OrganisationObjectKind,
  type OrganisationPayload,
  type TenantId,
  type UserId,
  userId,
} from '@cloister/protocol';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type AnyAdminOperation, defineAdminOperation } from '../admin/api/operation.js';
import { ADMIN_SCHEMAS, deviceIdParam, identifier, pageQuery } from '../admin/api/schemas.js';
import { authenticateAdmin } from '../admin/sessions.js';
import type { ServerContext } from '../context.js';
import { NotFoundError, type StoredOrganisationObject } from '../store/index.js';
import { wipeStatus } from '../wipe.js';
import { nextOrganisationSequence, publishOrganisationObject } from './objects.js';
import { setOrganisationRoot } from './root.js';

function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  ADMIN_SCHEMAS.add(schema, { id, description });
  return schema;
}

/** Unpadded canonical base64url of `min..max` bytes, decoded. */
function base64url(min: number, max: number, what: string) {
  const maxChars = Math.ceil((max * 4) / 3);
  return z
    .string()
    .min(1)
    .max(maxChars)
    .regex(/^[A-Za-z0-9_-]+$/, `base64url of ${what}`)
    .transform((text, zctx) => {
      const out = new Uint8Array(Buffer.from(text, 'base64url'));
      if (out.length < min || out.length > max || Buffer.from(out).toString('base64url') !== text) {
        zctx.addIssue({ code: 'custom', message: `canonical base64url of ${what}` });
        return z.NEVER;
      }
      return out;
    });
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** Largest signed object accepted (a 256 KiB payload, the certificate and the envelope). */
const MAX_OBJECT_BYTES = 256 * 1024 + 1024;

const signedObject = base64url(1, MAX_OBJECT_BYTES, 'a signed organisation object');

const objectBody = named(
  z.object({ object: signedObject }).strict(),
  'SignedOrganisationObjectBody',
  'A signed organisation object (spec/organisation.md §4), base64url, made on the administrator’s machine.',
);

const wipeBody = named(
  z.object({ command: signedObject }).strict(),
  'SignedWipeBody',
  'A signed organisation object of kind wipe naming this user and device, base64url.',
);

const kindSchema = z.enum(ORGANISATION_OBJECT_KINDS);

const publishedView = named(
  z.object({ kind: kindSchema, sequence: z.number().int().min(1), scope: z.string() }).strict(),
  'PublishedOrganisationObject',
  'The kind, sequence and scope of an object the server accepted.',
);

const sequencesView = z
  .object(
    Object.fromEntries(ORGANISATION_OBJECT_KINDS.map((k) => [k, z.number().int().min(1)])) as Record<
      OrganisationObjectKind,
      z.ZodNumber
    >,
  )
  .strict();

const organisationView = named(
  z
    .object({
      rootFingerprint: z.string().nullable(),
      serverSigningKey: z.string(),
      sequences: sequencesView,
      delegation: z
        .object({ notBeforeMs: z.number().int(), notAfterMs: z.number().int() })
        .strict()
        .nullable(),
    })
    .strict(),
  'Organisation',
  'The tenant’s organisation root fingerprint, the server signing key a delegation must name, the next sequence of each kind and the current certificate delegation.',
);

const rootBody = named(
  z
    .object({
      rootPublicKey: base64url(32, 32, 'a 32-byte Ed25519 public key'),
      ownerCertificate: base64url(1, MAX_ADMIN_CERTIFICATE_BYTES, 'an administrator certificate'),
    })
    .strict(),
  'OrganisationRootBody',
  'The organisation root public key and an owner certificate it issued to the calling owner.',
);

const rootView = named(
  z.object({ fingerprint: z.string() }).strict(),
  'OrganisationRootSet',
  'The fingerprint of the root now set (cloister-root:v1:…).',
);

const objectView = z
  .object({
    scope: z.string(),
    sequence: z.number().int(),
    issuedAtMs: z.number().int(),
    admin: z.string(),
    object: z.string(),
  })
  .strict();

const policyLayersView = named(
  z
    .object({
      layers: z.array(
        objectView.extend({
          layer: z.enum(['tenant', 'pool', 'group', 'user']),
          target: z.string().nullable(),
        }),
      ),
      next: z.string().optional(),
    })
    .strict(),
  'PolicyLayerList',
  'The newest signed policy layer of each layer of the tenant.',
);

const wipeView = named(
  z
    .object({
      state: z.enum(['none', 'pending', 'confirmed']),
      commandId: z.string().nullable(),
      issuedAt: z.number().int().nullable(),
      confirmedAt: z.number().int().nullable(),
    })
    .strict(),
  'WipeState',
  'Where the wipe of a device stands.',
);

const deviceParams = z.object({ user: identifier, device: deviceIdParam }).strict();

/** Publishes `bytes` as the caller, requiring `kind` and the caller's own certificate. */
function publishAs(
  ctx: ServerContext,
  me: { readonly tenant: TenantId; readonly admin: { readonly id: string } },
  bytes: Uint8Array,
  kind: OrganisationObjectKind,
) {
  return publishOrganisationObject(ctx, me.tenant, bytes, { actor: me.admin.id, signer: me.admin.id, kind });
}

function viewOf(o: StoredOrganisationObject) {
  return {
    scope: o.scope,
    sequence: o.sequence,
    issuedAtMs: o.issuedAtMs,
    admin: o.admin,
    object: b64(o.bytes),
  };
}

type PayloadOf<K extends OrganisationObjectKind> = Extract<OrganisationPayload, { kind: K }>['payload'];

/** One page of a kind's stored objects, each with its decoded payload (the kind checked). */
async function pageOfKind<K extends 'policy-layer'>(
  ctx: ServerContext,
  tenant: TenantId,
  kind: K,
  query: { readonly after?: string | undefined; readonly limit?: number | undefined },
): Promise<{
  items: { stored: StoredOrganisationObject; payload: PayloadOf<K> }[];
  next?: string;
}> {
  const page = await ctx.stores.organisation.list(tenant, kind, {
    ...(query.after === undefined ? {} : { after: query.after }),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
  });
  const items = page.items.map((stored): { stored: StoredOrganisationObject; payload: PayloadOf<K> } => {
    const o = decodeOrganisationObject(stored.bytes);
    if (o.kind !== kind) throw new ValidationError('object.kind', kind);
    return { stored, payload: o.payload as PayloadOf<K> };
  });
  return { items, ...(page.next === undefined ? {} : { next: page.next }) };
}

async function requireDevice(ctx: ServerContext, tenant: TenantId, user: UserId, device: number) {
  const found = await ctx.stores.devices.get(tenant, user, device as never);
  if (found === undefined) throw new NotFoundError('device');
  return found;
}

/** A tenant layer naming `archive` needs `archive.key` and a fresh second factor too. */
async function checkArchiveAuthority(ctx: ServerContext, request: FastifyRequest, bytes: Uint8Array) {
  const o = decodeOrganisationObject(bytes);
  if (
    o.kind === 'policy-layer' &&
    o.payload.layer === 'tenant' &&
    Object.hasOwn(o.payload.document, ARCHIVE_FEATURE)
  ) {
    await authenticateAdmin(ctx, request, { permission: 'archive.key', freshFactor: true, allowKey: false });
  }
}

const getOrganisation = defineAdminOperation({
  id: 'getOrganisation',
  method: 'GET',
  path: '/admin/v1/organisation',
  tag: 'organisation',
  summary: 'The organisation root, the server signing key, the next sequences and the current delegation',
  access: { permission: 'policy.read' },
  status: 200,
  response: organisationView,
  handle: async (ctx, { me }) => {
    const tenant = await ctx.stores.tenants.get(me.tenant);
    if (tenant === undefined) throw new NotFoundError('tenant');
    const root = await ctx.stores.organisation.root(me.tenant);
    const sequences: Record<string, number> = {};
    for (const kind of ORGANISATION_OBJECT_KINDS)
      sequences[kind] = await nextOrganisationSequence(ctx, me.tenant, kind);
    const now = ctx.now();
    let delegation: { notBeforeMs: number; notAfterMs: number } | null = null;
    const page = await ctx.stores.organisation.list(me.tenant, 'certificate-delegation', { limit: 8 });
    for (const stored of page.items) {
      const o = decodeOrganisationObject(stored.bytes);
      if (o.kind === 'certificate-delegation' && o.payload.notAfterMs > now) {
        delegation = { notBeforeMs: o.payload.notBeforeMs, notAfterMs: o.payload.notAfterMs };
        break;
      }
    }
    return {
      rootFingerprint: root?.fingerprint ?? null,
      serverSigningKey: b64(tenant.signingKey),
      sequences,
      delegation,
    };
  },
});

const setRoot = defineAdminOperation({
  id: 'setOrganisationRoot',
  method: 'PUT',
  path: '/admin/v1/organisation/root',
  tag: 'organisation',
  summary: 'Set the organisation root (once per tenant)',
  description:
    'The owner certificate must verify under the root, name the tenant and the role owner, and certify the calling owner. A second call is 409.',
  access: { permission: 'root.operate', freshFactor: true, allowKey: false },
  body: rootBody,
  status: 201,
  response: rootView,
  handle: (ctx, { me, body }) =>
    setOrganisationRoot(ctx, me.tenant, {
      rootPublicKey: body.rootPublicKey,
      ownerCertificate: body.ownerCertificate,
      actor: me.admin.id,
      admin: me.admin.id,
    }),
});

const publishPolicyLayer = defineAdminOperation({
  id: 'publishPolicyLayer',
  method: 'POST',
  path: '/admin/v1/organisation/policy-layers',
  tag: 'organisation',
  summary: 'Publish a signed policy layer',
  description:
    'A tenant layer that names the archive feature also needs the archive.key permission and a fresh second factor; only the tenant layer may name it.',
  access: { permission: 'policy.write' },
  body: objectBody,
  status: 201,
  response: publishedView,
  handle: async (ctx, { me, body, request }) => {
    await checkArchiveAuthority(ctx, request, body.object);
    return publishAs(ctx, me, body.object, 'policy-layer');
  },
});

const listPolicyLayers = defineAdminOperation({
  id: 'listPolicyLayers',
  method: 'GET',
  path: '/admin/v1/organisation/policy-layers',
  tag: 'organisation',
  summary: 'The newest signed policy layer of each layer',
  access: { permission: 'policy.read' },
  query: pageQuery,
  status: 200,
  response: policyLayersView,
  handle: async (ctx, { me, query }) => {
    const page = await pageOfKind(ctx, me.tenant, 'policy-layer', query);
    const layers = page.items.map(({ stored, payload }) => ({
      ...viewOf(stored),
      layer: payload.layer,
      target: payload.target,
    }));
    return { layers, ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

const wipeDevice = defineAdminOperation({
  id: 'wipeDevice',
  method: 'POST',
  path: '/admin/v1/users/:user/devices/:device/wipe',
  tag: 'devices',
  summary: 'Wipe a device with a command signed on the administrator’s machine',
  description:
    'The signed wipe must name this user and device. The device is blocked and keeps only GET /v1/wipe and POST /v1/wipe/report.',
  access: { permission: 'devices.wipe', freshFactor: true, allowKey: false },
  params: deviceParams,
  body: wipeBody,
  status: 201,
  response: publishedView,
  handle: async (ctx, { me, params, body }) => {
    const user = userId(params.user);
    await requireDevice(ctx, me.tenant, user, params.device);
    const o = decodeOrganisationObject(body.command);
    if (o.kind !== 'wipe') throw new ValidationError('command', 'an organisation object of kind wipe');
    if (o.payload.user !== user || o.payload.deviceId !== params.device) {
      throw new ValidationError('command', 'a wipe naming this user and device');
    }
    return publishAs(ctx, me, body.command, 'wipe');
  },
});

const getWipe = defineAdminOperation({
  id: 'getWipe',
  method: 'GET',
  path: '/admin/v1/users/:user/devices/:device/wipe',
  tag: 'devices',
  summary: 'Where the wipe of a device stands',
  access: { permission: 'devices.read' },
  params: deviceParams,
  status: 200,
  response: wipeView,
  handle: async (ctx, { me, params }) => {
    const user = userId(params.user);
    await requireDevice(ctx, me.tenant, user, params.device);
    const status = await wipeStatus(ctx, { tenant: me.tenant, user, device: params.device as never });
    return {
      state: status.state,
      commandId: status.state === 'none' ? null : status.commandId,
      issuedAt: status.state === 'none' ? null : status.issuedAt,
      confirmedAt: status.state === 'confirmed' ? status.confirmedAt : null,
    };
  },
});

const publishPoolRules = defineAdminOperation({
  id: 'publishPoolRules',
  method: 'PUT',
  path: '/admin/v1/organisation/pool-rules',
  tag: 'organisation',
  summary: 'Publish the signed pool rules (each existing pool’s mayContact follows them)',
  access: { permission: 'pools.write' },
  body: objectBody,
  status: 201,
  response: publishedView,
  handle: (ctx, { me, body }) => publishAs(ctx, me, body.object, 'pool-rules'),
});

const publishAdmission = defineAdminOperation({
  id: 'publishAdmission',
  method: 'POST',
  path: '/admin/v1/organisation/admissions',
  tag: 'organisation',
  summary: 'Publish a signed zero-touch device admission',
  access: { permission: 'devices.admit' },
  body: objectBody,
  status: 201,
  response: publishedView,
  handle: (ctx, { me, body }) => publishAs(ctx, me, body.object, 'device-admission'),
});

const publishDelegation = defineAdminOperation({
  id: 'publishDelegation',
  method: 'POST',
  path: '/admin/v1/organisation/delegations',
  tag: 'organisation',
  summary: 'Publish a signed certificate delegation to the server signing key',
  description: 'The delegation must name the tenant’s server signing key (GET /admin/v1/organisation).',
  access: { permission: 'root.operate', freshFactor: true, allowKey: false },
  body: objectBody,
  status: 201,
  response: publishedView,
  handle: (ctx, { me, body }) => publishAs(ctx, me, body.object, 'certificate-delegation'),
});

/**
 * The nine operations of the organisation plane (broadcasts are `admin/api/broadcasts.ts`), for the admin API's route module and the
 * OpenAPI document.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ORGANISATION_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const ORGANISATION_OPERATIONS: readonly AnyAdminOperation[] = Object.freeze([
  getOrganisation,
  setRoot,
  publishPolicyLayer,
  listPolicyLayers,
  wipeDevice,
  getWipe,
  publishPoolRules,
  publishAdmission,
  publishDelegation,
]);
