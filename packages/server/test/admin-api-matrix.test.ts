/**
 * The route × role × tenant test of the admin API (issue 14): two tenants made through the
 * operator's route; in tenant A an administrator of every role (people logged in with TOTP, with
 * a fresh second factor; an integration with every scope it may have), each holding a
 * root-certified signing key; users with devices in both tenants. For EVERY operation of
 * `ADMIN_OPERATIONS` and every role: a role without the permission gets 403 (an integration key
 * on a route that needs a person too; an operator route 401 for every administrator) and nothing
 * changes; a role with it gets the operation's success status on its own tenant's object and 404
 * on tenant B's (where the path names one), and that refusal changes nothing either. An
 * operation without a sample fails the test. Then: the operator's token missing or wrong is 401,
 * a route that needs a fresh factor is 403 without one, an idle session is 401.
 */
import { randomBytes } from 'node:crypto';
import { deviceId, generateDeviceIdentity, registrationId, toPublicIdentity } from '@cloister/crypto';
import {
  type AdminRole,
  type DeviceListBody,
  deviceListHash,
  deviceListSignedBytes,
  generateOrganisationRoot,
  issueAdminCertificate,
  maySign,
  ORGANISATION_OBJECT_KINDS,
  type OrganisationObjectKind,
  type OrganisationPayload,
  poolId,
  signDeviceList,
  signOrganisationObject,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyAdminOperation } from '../src/admin/api/operation.js';
import { ADMIN_OPERATIONS } from '../src/admin/api/operations.js';
import { createHumanAdministrator } from '../src/admin/enrolment.js';
import { ROLE_PERMISSIONS, roleAllows } from '../src/admin/permissions.js';
import { totpCode } from '../src/admin/totp.js';
import { credentialHash } from '../src/auth.js';
import { newMailboxId } from '../src/delivery-token.js';
import { nextOrganisationSequence } from '../src/organisation/objects.js';
import type { Role } from '../src/store/index.js';
import {
  type AdminTestServer,
  type Caller,
  createTenantAsOperator,
  login,
  OPERATOR_TOKEN,
  PASSWORD,
  secretOf,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';
import { integrationIn, keyIn, webhookIn } from './helpers/integrations.js';

const T0 = 1_750_000_000_000 - (1_750_000_000_000 % 30_000) + 5_000;
const ROLES: readonly Role[] = ['owner', 'admin', 'user-manager', 'auditor', 'integration'];
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

interface Actor {
  readonly role: Role;
  readonly id: string;
  readonly caller: Caller;
  readonly secret?: Uint8Array;
  readonly signingKey: { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array };
  certificate: Uint8Array;
}

interface Sample {
  readonly params?: Record<string, string | number>;
  readonly query?: Record<string, string>;
  readonly json?: unknown;
}

type Where = 'A' | 'B';
interface SampleSpec {
  /** Builds the input against an object of tenant `where`, signed (where it matters) by `signer`. */
  readonly prepare: (where: Where, signer: Actor) => Promise<Sample>;
  /** Whether the path names an object of a tenant (then tenant B's answers 404). */
  readonly namesObject?: boolean;
}

let t: AdminTestServer;
let A: TenantId;
let B: TenantId;
let root: { publicKey: Uint8Array; privateKey: Uint8Array };
const actors = new Map<Role, Actor>();
let n = 0;
/** Calls made, by the answer expected: reported at the end. */
const tally = new Map<string, number>();
const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
const fresh = (prefix: string) => `${prefix}${++n}`;
const tenantOf = (where: Where) => (where === 'A' ? A : B);

/** A pool of tenant `where` (with `members` new users in it). */
async function poolIn(where: Where, members = 0): Promise<string> {
  const pool = fresh('pool');
  await t.server.context.stores.pools.put(tenantOf(where), poolId(pool), { name: pool });
  for (let i = 0; i < members; i++) {
    await t.server.context.stores.users.create(tenantOf(where), userId(fresh('pm')), {
      displayName: 'M',
      pools: [poolId(pool)],
    });
  }
  return pool;
}

async function userWithDevice(where: Where): Promise<{ user: string; device: number }> {
  const user = fresh('u');
  await setUpDevice(t.server.context, tenantOf(where), user, 1);
  return { user, device: 1 };
}

/**
 * A user whose device 1 is on an epoch-1 list and whose device 2 (real identities) it lacks, and
 * the organisation-signed list that admits device 2, signed by `signer` (or the owner when its
 * role may not admit devices).
 */
async function admissionOf(where: Where, signer: Actor): Promise<{ user: string; list: string }> {
  const ctx = t.server.context;
  const tenant = tenantOf(where);
  const user = userId(fresh('za'));
  await ctx.stores.users.create(tenant, user, { displayName: user });
  const entries = [];
  for (const device of [1, 2]) {
    const identity = toPublicIdentity(await generateDeviceIdentity(ctx.provider));
    await ctx.stores.devices.add(tenant, user, deviceId(device), {
      identity,
      registrationId: registrationId(device),
      mailbox: await newMailboxId(ctx.provider),
      credentialHash: await credentialHash(ctx, new Uint8Array(randomBytes(32))),
    });
    entries.push({ deviceId: deviceId(device), identity, addedAtMs: t.time });
  }
  // Signed for the caller's tenant A: a user of tenant B is not found before the list matters.
  const first = {
    tenant: A,
    user,
    epoch: 1,
    issuedAtMs: t.time,
    previous: new Uint8Array(32),
    root: new Uint8Array(32),
    signer: { kind: 'device' as const, deviceId: deviceId(1) },
    devices: [entries[0] as (typeof entries)[number]],
  };
  // The store does not check signatures; the route checks the new list, not the head's signature.
  const head = encodeListForTest(first);
  await ctx.stores.deviceLists.append(tenant, user, head, 1);
  const s = maySign(signer.role as AdminRole, 'device-admission') ? signer : (actors.get('owner') as Actor);
  const hash = await deviceListHash(ctx.provider, head);
  const list = await signDeviceList(
    ctx.provider,
    {
      ...first,
      epoch: 2,
      previous: hash,
      root: hash,
      signer: { kind: 'organisation', deviceId: deviceId(2), certificate: s.certificate },
      devices: entries,
    },
    s.signingKey.privateKey,
  );
  return { user, list: b64(list) };
}

/** A list's bytes with a zero signature (what the store keeps; only its successor is verified here). */
function encodeListForTest(body: DeviceListBody): Uint8Array {
  const signed = deviceListSignedBytes(body);
  const out = new Uint8Array(signed.length - 'cloister/v1/device-list'.length + 64);
  out.set(signed.subarray('cloister/v1/device-list'.length));
  return out;
}

async function signed(
  signer: Actor,
  kind: OrganisationObjectKind,
  body: OrganisationPayload,
): Promise<string> {
  // A signer whose role may not sign this kind (a refused call's input) borrows the owner's key:
  // the request is refused before its body matters.
  const s = maySign(signer.role as AdminRole, kind) ? signer : (actors.get('owner') as Actor);
  const sequence = await nextOrganisationSequence(t.server.context, A, kind);
  const bytes = await signOrganisationObject(
    t.server.context.provider,
    s.signingKey.privateKey,
    s.certificate,
    {
      ...body,
      tenant: A,
      issuedAtMs: t.time,
      sequence,
    } as never,
  );
  return b64(bytes);
}

async function revokeScimTokens(tenant: TenantId): Promise<void> {
  const stores = t.server.context.stores;
  for (const x of await stores.scimTokens.list(tenant)) await stores.scimTokens.revoke(tenant, x.id, t.time);
}

const SAMPLES: Readonly<Record<string, SampleSpec>> = {
  // tenants (operator) and the caller's tenant
  createTenant: {
    prepare: async () => {
      const id = fresh('tn');
      return { json: { id, name: 'N', owner: { email: `o@${id}.example`, name: 'O', password: PASSWORD } } };
    },
  },
  listTenants: { prepare: async () => ({ query: { limit: '10' } }) },
  getTenant: { prepare: async () => ({}) },
  listDomains: { prepare: async () => ({}) },
  addDomain: { prepare: async () => ({ json: { domain: `${fresh('d')}.a.example` } }) },
  removeDomain: {
    namesObject: true,
    prepare: async (where) => {
      const domain = `${fresh('r')}.example`;
      await t.server.context.stores.domains.add(tenantOf(where), domain);
      return { params: { domain } };
    },
  },
  // administrators
  listAdministrators: { prepare: async () => ({}) },
  createAdministrator: {
    prepare: async () => ({
      json: { email: `${fresh('adm')}@a.example`, name: 'New', role: 'auditor', password: PASSWORD },
    }),
  },
  updateAdministrator: {
    namesObject: true,
    prepare: async (where) => {
      const { admin } = await createHumanAdministrator(
        t.server.context.stores,
        tenantOf(where),
        'auditor',
        { email: `${fresh('x')}@x.example`, name: 'X', password: PASSWORD },
        { actor: 'system' },
      );
      return { params: { admin }, json: { role: 'user-manager' } };
    },
  },
  deleteAdministrator: {
    namesObject: true,
    prepare: async (where) => {
      const { admin } = await createHumanAdministrator(
        t.server.context.stores,
        tenantOf(where),
        'auditor',
        { email: `${fresh('y')}@y.example`, name: 'Y', password: PASSWORD },
        { actor: 'system' },
      );
      return { params: { admin } };
    },
  },
  // users
  listUsers: { prepare: async () => ({ query: { limit: '5' } }) },
  getUser: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  inviteUser: { prepare: async () => ({ json: { user: fresh('inv'), uses: 2 } }) },
  blockUser: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  unblockUser: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  deleteUser: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  // devices and activity
  listDevices: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  blockDevice: { namesObject: true, prepare: async (w) => ({ params: await userWithDevice(w) }) },
  unblockDevice: { namesObject: true, prepare: async (w) => ({ params: await userWithDevice(w) }) },
  getUserActivity: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  getUsage: { prepare: async () => ({}) },
  // statistics and data-subject requests
  getDailyStatistics: { prepare: async () => ({}) },
  getMonthlyStatistics: { prepare: async () => ({}) },
  exportStatistics: { prepare: async () => ({}) },
  exportSubject: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  // restrictions and client compliance
  listNonCompliantDevices: { prepare: async () => ({ query: { limit: '5' } }) },
  // SCIM tokens and directory detachment (at most 5 live tokens: earlier samples' are revoked first)
  createScimToken: {
    prepare: async (w) => {
      await revokeScimTokens(tenantOf(w));
      return { json: { name: 'matrix idp' } };
    },
  },
  listScimTokens: { prepare: async () => ({}) },
  revokeScimToken: {
    namesObject: true,
    prepare: async (w) => {
      await revokeScimTokens(tenantOf(w));
      const id = `stk_${randomBytes(16).toString('base64url')}`;
      await t.server.context.stores.scimTokens.create(
        {
          tenant: tenantOf(w),
          id,
          name: 'matrix',
          source: 'scim',
          tokenHash: new Uint8Array(randomBytes(32)),
          createdAt: t.time,
          createdBy: 'adm_matrix',
          expiresAt: null,
          lastUsedAt: null,
          revokedAt: null,
        },
        t.time,
      );
      return { params: { id } };
    },
  },
  detachUser: {
    namesObject: true,
    prepare: async (w) => {
      const user = `dir_${randomBytes(6).toString('hex')}`;
      await t.server.context.stores.users.create(tenantOf(w), userId(user), {
        displayName: user,
        directory: {
          source: 'scim',
          externalId: user,
          state: 'active',
          since: t.time,
          reenableRequested: false,
        },
      });
      return { params: { user } };
    },
  },
  // audit
  searchAudit: { prepare: async () => ({ query: { limit: '10', action: 'admin.' } }) },
  verifyAudit: { prepare: async () => ({}) },
  exportAudit: { prepare: async () => ({}) },
  auditCheckpoint: { prepare: async () => ({}) },
  auditInclusionProof: { prepare: async () => ({ query: { index: '0', size: '1' } }) },
  auditConsistencyProof: { prepare: async () => ({ query: { from: '1', to: '2' } }) },
  auditLogKey: { prepare: async () => ({}) },
  // the organisation plane
  getOrganisation: { prepare: async () => ({}) },
  setOrganisationRoot: {
    prepare: async () => ({
      json: {
        rootPublicKey: b64(root.publicKey),
        ownerCertificate: b64((actors.get('owner') as Actor).certificate),
      },
    }),
  },
  publishPolicyLayer: {
    prepare: async (_w, signer) => ({
      json: {
        object: await signed(signer, 'policy-layer', {
          kind: 'policy-layer',
          payload: {
            layer: 'tenant',
            target: null,
            document: { 'files.send': { enabled: true, locked: false } },
          },
        }),
      },
    }),
  },
  listPolicyLayers: { prepare: async () => ({}) },
  wipeDevice: {
    namesObject: true,
    prepare: async (where, signer) => {
      const { user, device } = await userWithDevice(where);
      const command = await signed(signer, 'wipe', {
        kind: 'wipe',
        payload: {
          user: userId(user),
          deviceId: device as never,
          commandId: new Uint8Array(randomBytes(16)),
        },
      });
      return { params: { user, device }, json: { command } };
    },
  },
  getWipe: { namesObject: true, prepare: async (w) => ({ params: await userWithDevice(w) }) },
  // broadcasts: sent end to end (admin/api/broadcasts.ts)
  broadcastAudience: { prepare: async () => ({ query: { limit: '10' } }) },
  sendBroadcast: {
    prepare: async (_w, signer) => ({
      json: {
        object: await signed(signer, 'broadcast', {
          kind: 'broadcast',
          payload: {
            broadcastId: new Uint8Array(randomBytes(16)),
            audience: { kind: 'tenant' },
            text: 'Fire drill',
          },
        }),
        envelopes: [],
      },
    }),
  },
  broadcastCounts: {
    namesObject: true,
    prepare: async (where) => {
      const id = b64(new Uint8Array(randomBytes(16)));
      await t.server.context.stores.broadcasts.create(where === 'A' ? A : B, {
        id,
        sequence: 1,
        objectHash: new Uint8Array(32),
        admin: 'adm_matrix',
        issuedAtMs: t.time,
        createdAt: t.time,
      });
      return { params: { broadcastId: id } };
    },
  },
  // integrations: API keys and webhooks
  createIntegrationKey: {
    namesObject: true,
    prepare: async (w) => ({
      params: { integration: await integrationIn(t.server.context, tenantOf(w)) },
      json: { name: 'HR sync', scopes: ['users:read', 'devices'] },
    }),
  },
  listIntegrationKeys: { prepare: async () => ({}) },
  revokeIntegrationKey: {
    namesObject: true,
    prepare: async (w) => {
      const ctx = t.server.context;
      const key = await keyIn(ctx, tenantOf(w), await integrationIn(ctx, tenantOf(w)));
      return { params: { key: key.id } };
    },
  },
  createWebhook: {
    prepare: async () => ({ json: { url: 'https://hooks.example.com/cloister', events: ['test.never'] } }),
  },
  listWebhooks: { prepare: async () => ({}) },
  deleteWebhook: {
    namesObject: true,
    prepare: async (w) => ({ params: { webhook: (await webhookIn(t.server.context, tenantOf(w))).id } }),
  },
  listWebhookDeliveries: {
    namesObject: true,
    prepare: async (w) => ({ params: { webhook: (await webhookIn(t.server.context, tenantOf(w))).id } }),
  },
  rotateWebhookSecret: {
    namesObject: true,
    prepare: async (w) => ({
      params: { webhook: (await webhookIn(t.server.context, tenantOf(w))).id },
      json: { overlapSeconds: 3600 },
    }),
  },
  redeliverWebhookEvent: {
    namesObject: true,
    prepare: async (w) => {
      // A failed event: queued by an audit record, claimed and settled failed here (no
      // dispatcher runs in this test).
      const ctx = t.server.context;
      const action = `test.redeliver${++n}`;
      const hook = await webhookIn(ctx, tenantOf(w), 'https://hooks.example.com/cloister', [action]);
      await ctx.stores.audit.append(tenantOf(w), { actor: 'test', action, target: 'x', outcome: 'success' });
      const claimed = await ctx.stores.integrations.claimDue(t.time, 100, 60_000);
      const item = claimed.find((i) => i.webhook === hook.id);
      if (item === undefined) throw new Error('no event queued');
      // The others are earlier samples' redelivered events: nothing sends them here.
      for (const other of claimed) if (other !== item) await ctx.stores.integrations.drop(other);
      await ctx.stores.integrations.settle(item, { status: 'failed', at: t.time, result: '500' });
      return { params: { webhook: hook.id, delivery: item.event } };
    },
  },
  // pools
  listPools: { prepare: async () => ({ query: { limit: '5' } }) },
  getPool: { namesObject: true, prepare: async (w) => ({ params: { pool: await poolIn(w, 1) } }) },
  createPool: { prepare: async () => ({ json: { id: fresh('np'), name: 'New pool' } }) },
  renamePool: {
    namesObject: true,
    prepare: async (w) => ({ params: { pool: await poolIn(w) }, json: { name: 'Renamed' } }),
  },
  deletePool: {
    namesObject: true,
    prepare: async (w) => ({ params: { pool: await poolIn(w, 1) }, query: { removeMembers: 'true' } }),
  },
  listPoolMembers: { namesObject: true, prepare: async (w) => ({ params: { pool: await poolIn(w, 2) } }) },
  addPoolMembers: {
    namesObject: true,
    prepare: async (w) => ({
      params: { pool: await poolIn(w) },
      json: { users: [(await userWithDevice(w)).user] },
    }),
  },
  removePoolMembers: {
    namesObject: true,
    prepare: async (w) => {
      const pool = await poolIn(w);
      const { user } = await userWithDevice(w);
      await t.server.context.stores.users.update(tenantOf(w), userId(user), { pools: [poolId(pool)] });
      return { params: { pool }, json: { users: [user] } };
    },
  },
  setUserPools: {
    namesObject: true,
    prepare: async (w) => ({
      params: { user: (await userWithDevice(w)).user },
      json: { pools: [await poolIn(w)] },
    }),
  },
  // allowlist (kept off here: the other samples invite and enrol freely)
  getAllowlist: { prepare: async () => ({}) },
  replaceAllowlist: {
    prepare: async () => ({ json: { enabled: false, domains: [`${fresh('al')}.example`] } }),
  },
  addAllowlistEntries: { prepare: async () => ({ json: { users: [fresh('alu')] } }) },
  removeAllowlistEntries: {
    prepare: async (w) => {
      const domain = `${fresh('alr')}.example`;
      await t.server.context.stores.allowlist.add(tenantOf(w), { domains: [domain] });
      return { json: { domains: [domain] } };
    },
  },
  publishPoolRules: {
    prepare: async (_w, signer) => ({
      json: {
        object: await signed(signer, 'pool-rules', {
          kind: 'pool-rules',
          payload: { rules: [{ pool: 'ward' as never, mayContact: [] }] },
        }),
      },
    }),
  },
  publishAdmission: {
    prepare: async (_w, signer) => {
      const { user } = await userWithDevice('A');
      const identity = toPublicIdentity(await generateDeviceIdentity(t.server.context.provider));
      return {
        json: {
          object: await signed(signer, 'device-admission', {
            kind: 'device-admission',
            payload: { user: userId(user), deviceId: 7 as never, identity },
          }),
        },
      };
    },
  },
  getDeviceAdmission: {
    namesObject: true,
    prepare: async (w) => ({ params: { user: (await userWithDevice(w)).user } }),
  },
  admitDevice: {
    namesObject: true,
    prepare: async (w, signer) => {
      const { user, list } = await admissionOf(w, signer);
      return { params: { user }, json: { list } };
    },
  },
  publishDelegation: {
    prepare: async (_w, signer) => {
      const tenant = await t.server.context.stores.tenants.get(A);
      return {
        json: {
          object: await signed(signer, 'certificate-delegation', {
            kind: 'certificate-delegation',
            payload: {
              serverSigningPublicKey: (tenant as { signingKey: Uint8Array }).signingKey,
              notBeforeMs: t.time - 1000,
              notAfterMs: t.time + 86_400_000,
            },
          }),
        },
      };
    },
  },
  // filters and bulk operations (admin/api/filters.ts, bulk.ts): dry runs (audited, nothing runs
  // in the background), and resumes of jobs whose last batch committed
  findUsers: { prepare: async () => ({ query: { status: 'active', limit: '5' } }) },
  findDevices: { prepare: async () => ({ query: { limit: '5' } }) },
  bulkBlock: { prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], dryRun: true } }) },
  bulkUnblock: {
    prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], dryRun: true } }),
  },
  bulkMove: {
    prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], pool: 'ward', dryRun: true } }),
  },
  bulkInvite: { prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], dryRun: true } }) },
  bulkWipe: {
    prepare: async (where, signer) => {
      const { user, device } = await userWithDevice(where);
      const command = await signed(signer, 'wipe', {
        kind: 'wipe',
        payload: {
          user: userId(user),
          deviceId: device as never,
          commandId: new Uint8Array(randomBytes(16)),
        },
      });
      return { json: { commands: [command], dryRun: true } };
    },
  },
  bulkDelete: { prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], dryRun: true } }) },
  resumeBulkBlock: {
    namesObject: true,
    prepare: async (w) => ({ params: { job: await jobIn(w, 'block') } }),
  },
  resumeBulkUnblock: {
    namesObject: true,
    prepare: async (w) => ({ params: { job: await jobIn(w, 'unblock') } }),
  },
  resumeBulkMove: { namesObject: true, prepare: async (w) => ({ params: { job: await jobIn(w, 'move') } }) },
  resumeBulkInvite: {
    namesObject: true,
    prepare: async (w) => ({ params: { job: await jobIn(w, 'invite') } }),
  },
  resumeBulkWipe: { namesObject: true, prepare: async (w) => ({ params: { job: await jobIn(w, 'wipe') } }) },
  resumeBulkDelete: {
    namesObject: true,
    prepare: async (w) => ({ params: { job: await jobIn(w, 'delete') } }),
  },
  listJobs: { prepare: async () => ({ query: { limit: '5' } }) },
  getJob: { namesObject: true, prepare: async (w) => ({ params: { job: await jobIn(w, 'block') } }) },
  getJobResults: { namesObject: true, prepare: async (w) => ({ params: { job: await jobIn(w, 'block') } }) },
  // the compliance archive and legal holds (admin/api/archive.ts, legal-holds.ts)
  createArchiveKeySet: {
    prepare: async () => ({
      json: {
        setId: randomBytes(16).toString('hex'),
        publicKey: b64(randomBytes(32)),
        threshold: 2,
        holders: [
          { holder: 'dpo', share: b64(randomBytes(64)) },
          { holder: 'audit', share: b64(randomBytes(64)) },
        ],
      },
    }),
  },
  listArchiveKeySets: { prepare: async () => ({}) },
  listArchiveItems: { prepare: async () => ({ query: { limit: '5', purpose: 'matrix' } }) },
  exportArchive: { prepare: async () => ({ query: { purpose: 'matrix' } }) },
  createLegalHold: {
    prepare: async (w) => ({ json: { users: [(await userWithDevice(w)).user], reason: 'case 1' } }),
  },
  listLegalHolds: { prepare: async () => ({}) },
  liftLegalHold: {
    namesObject: true,
    prepare: async (w) => {
      const id = `lh_${b64(randomBytes(16))}`;
      await t.server.context.stores.legalHolds.create({
        tenant: tenantOf(w),
        id,
        users: [userId(fresh('lh'))],
        reason: 'matrix',
        createdAt: t.time,
        createdBy: 'system',
      });
      return { params: { id } };
    },
  },
};

/** An interrupted bulk job of tenant `where` whose one item is done (its resume only marks it done). */
async function jobIn(
  where: Where,
  action: 'block' | 'unblock' | 'move' | 'invite' | 'wipe' | 'delete',
): Promise<string> {
  const stores = t.server.context.stores;
  const id = `job_${b64(randomBytes(16))}`;
  const job = {
    id,
    action,
    createdBy: 'adm_AAAAAAAAAAAAAAAAAAAAAA',
    options: {},
    idempotencyKey: null,
    inputDigest: new Uint8Array(32),
    runner: 'gone',
    leaseUntil: 0,
  };
  await stores.jobs.create(tenantOf(where), job, [{ user: fresh('ju'), device: null, command: null }]);
  await stores.jobs.update(tenantOf(where), id, { state: 'interrupted', done: 1, ok: 1 });
  return id;
}

function pathOf(op: AnyAdminOperation, params: Record<string, string | number> = {}): string {
  return op.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`sample of ${op.id} lacks :${name}`);
    return encodeURIComponent(String(v));
  });
}

function call(op: AnyAdminOperation, caller: Caller, sample: Sample) {
  const query = sample.query === undefined ? '' : `?${new URLSearchParams(sample.query).toString()}`;
  return t.as(caller, op.method, pathOf(op, sample.params) + query, {
    ...(sample.json === undefined ? {} : { json: sample.json }),
  });
}

/** What `role` must get from `op` on its own tenant's object. */
function expected(op: AnyAdminOperation, role: Role): number {
  if (op.access === 'operator') return 401;
  const { permission, allowKey, freshFactor } = op.access;
  if (role === 'integration') {
    if (allowKey === false) return 403;
    if (!roleAllows('integration', permission, ROLE_PERMISSIONS.integration)) return 403;
    return freshFactor === true ? 403 : op.status;
  }
  return roleAllows(role, permission) ? op.status : 403;
}

/** Everything a refused call must leave as it was. */
async function state(sample: Sample, where: Where): Promise<string> {
  const s = t.server.context.stores;
  const tenant = tenantOf(where);
  const user = sample.params?.user;
  const sequences: number[] = [];
  for (const kind of ORGANISATION_OBJECT_KINDS) sequences.push(await s.organisation.sequence(A, kind));
  return JSON.stringify({
    auditA: (await s.audit.head(A))?.seq ?? 0,
    auditB: (await s.audit.head(B))?.seq ?? 0,
    tenants: (await s.tenants.list({ limit: 1000 })).items.map((x) => x.id),
    users: (await s.users.list(tenant, { limit: 1000 })).items,
    devices:
      typeof user === 'string'
        ? (await s.devices.list(tenant, userId(user))).map((d) => [d.id, d.blocked])
        : null,
    admins: (await s.administrators.list(tenant, { limit: 1000 })).items.map((a) => [
      a.id,
      a.role,
      a.disabled,
    ]),
    domains: await s.domains.list(tenant),
    pools: (await s.pools.list(tenant, { limit: 1000 })).items,
    allowlist: await s.allowlist.get(tenant),
    sequences,
    root: (await s.organisation.root(A))?.fingerprint ?? null,
  });
}

async function auditHead(tenant: TenantId): Promise<number> {
  return (await t.server.context.stores.audit.head(tenant))?.seq ?? 0;
}

// setOrganisationRoot runs first: the other organisation operations need the root.
const ORDERED = [...ADMIN_OPERATIONS].sort(
  (x, y) => Number(y.id === 'setOrganisationRoot') - Number(x.id === 'setOrganisationRoot'),
);

describe('admin API: every route × role × tenant', () => {
  beforeAll(async () => {
    t = await startAdminServer(T0, {
      postgresSchema: `adm_matrix_${randomBytes(4).toString('hex')}`,
      webhooks: { dispatch: false },
    });
    const ctx = t.server.context;
    root = await generateOrganisationRoot(ctx.provider);
    const a = await createTenantAsOperator(t, 'ta');
    const b = await createTenantAsOperator(t, 'tb');
    A = tenantId(a.id);
    B = tenantId(b.id);
    await ctx.stores.pools.put(A, 'ward' as never, { name: 'Ward' });
    const ownerSession = await login(t, a.id, a.owner.email, a.owner.secret);
    const certify = async (id: string, role: Role, key: { publicKey: Uint8Array; privateKey: Uint8Array }) =>
      issueAdminCertificate(ctx.provider, root.privateKey, {
        tenant: A,
        admin: id,
        adminPublicKey: key.publicKey,
        role,
        issuedAtMs: T0 - 60_000,
        expiresAtMs: T0 + 30 * 86_400_000,
        serial: actors.size + 1,
      });
    const ownerKey = await ctx.provider.ed25519.generateKeyPair();
    actors.set('owner', {
      role: 'owner',
      id: a.owner.admin,
      caller: { session: ownerSession },
      secret: a.owner.secret,
      signingKey: ownerKey,
      certificate: await certify(a.owner.admin, 'owner', ownerKey),
    });
    for (const role of ['admin', 'user-manager', 'auditor', 'integration'] as const) {
      const email = `${role}@ta.example`;
      const body =
        role === 'integration'
          ? { email, name: role, role, scopes: ROLE_PERMISSIONS.integration }
          : { email, name: role, role, password: PASSWORD };
      const res = await t.as({ session: ownerSession }, 'POST', '/admin/v1/administrators', { json: body });
      expect(res.status, res.body.toString()).toBe(201);
      const id = res.json.admin.id as string;
      const key = await ctx.provider.ed25519.generateKeyPair();
      const certificate = await certify(id, role, key);
      if (role === 'integration') {
        actors.set(role, { role, id, caller: { key: res.json.apiKey }, signingKey: key, certificate });
      } else {
        const secret = secretOf(res.json.totpUri);
        const session = await login(t, a.id, email, secret);
        actors.set(role, { role, id, caller: { session }, secret, signingKey: key, certificate });
      }
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (tally.size > 0) {
      console.info(
        `admin API matrix: ${ADMIN_OPERATIONS.length} operations × ${ROLES.length} roles; answers ${JSON.stringify(Object.fromEntries(tally))}`,
      );
    }
  });

  it('has a sample for every operation', () => {
    const missing = ADMIN_OPERATIONS.map((op) => op.id).filter((id) => SAMPLES[id] === undefined);
    expect(missing).toEqual([]);
    expect(new Set(ADMIN_OPERATIONS.map((op) => op.id)).size).toBe(ADMIN_OPERATIONS.length);
  });

  it.each(ORDERED.map((op) => [op.id, op] as const))('%s', async (_id, op) => {
    const spec = SAMPLES[op.id];
    expect(spec, `no sample for ${op.id}`).toBeDefined();
    if (spec === undefined) return;
    // Refusals first: a role that may not call the operation leaves everything as it was.
    const order = [...ROLES].sort(
      (x, y) => Number(expected(op, x) === op.status) - Number(expected(op, y) === op.status),
    );
    for (const role of order) {
      const actor = actors.get(role) as Actor;
      const want = expected(op, role);
      const sample = await spec.prepare('A', actor);
      // The snapshot a refusal is held against (a call expected to succeed changes things).
      const before = want === op.status ? undefined : await state(sample, 'A');
      const auditBefore = await auditHead(A);
      const res = await call(op, actor.caller, sample);
      expect(res.status, `${op.id} as ${role}: ${res.body.toString().slice(0, 200)}`).toBe(want);
      count(String(want === op.status ? 'success' : want));
      if (before !== undefined) {
        expect(res.json?.error?.code).toBe(want === 401 ? 'ERR_UNAUTHENTICATED' : 'ERR_FORBIDDEN');
        expect(await state(sample, 'A'), `${op.id} as ${role} changed something`).toBe(before);
        continue;
      }
      if (op.method !== 'GET' || op.id === 'exportAudit') {
        expect(await auditHead(A), `${op.id} as ${role} is audited`).toBeGreaterThan(auditBefore);
      }
      if (spec.namesObject === true) {
        const other = await spec.prepare('B', actor);
        const beforeB = await state(other, 'B');
        const resB = await call(op, actor.caller, other);
        expect(resB.status, `${op.id} as ${role} on tenant B: ${resB.body.toString().slice(0, 200)}`).toBe(
          404,
        );
        expect(resB.json.error.code).toBe('ERR_NOT_FOUND');
        count('404 (tenant B)');
        expect(await state(other, 'B'), `${op.id} as ${role} on tenant B changed something`).toBe(beforeB);
      }
    }
    if (op.access === 'operator') {
      for (const caller of [
        { none: true } as const,
        { operator: randomBytes(32).toString('base64url') },
        { operator: 'short' },
        { session: OPERATOR_TOKEN },
      ]) {
        const sample = await spec.prepare('A', actors.get('owner') as Actor);
        const before = await state(sample, 'A');
        const res = await call(op, caller, sample);
        expect(res.status).toBe(401);
        expect(await state(sample, 'A')).toBe(before);
        count('401 (operator token)');
      }
      const res = await call(
        op,
        { operator: OPERATOR_TOKEN },
        await spec.prepare('A', actors.get('owner') as Actor),
      );
      expect(res.status, res.body.toString().slice(0, 200)).toBe(op.status);
    }
  });

  it('made every kind of call', () => {
    expect(tally.get('success') ?? 0).toBeGreaterThan(ADMIN_OPERATIONS.length);
    expect(tally.get('403') ?? 0).toBeGreaterThan(40);
    expect(tally.get('404 (tenant B)') ?? 0).toBeGreaterThan(20);
    // 401 only where an administrator calls an operator route (2 operations × 5 roles).
    expect(tally.get('401') ?? 0).toBe(10);
  });

  it('refuses a route that needs a fresh factor once the factor is stale, until a step-up', async () => {
    const owner = actors.get('owner') as Actor;
    t.time = T0 + 6 * 60_000;
    const { user } = await userWithDevice('A');
    const before = await state({ params: { user } }, 'A');
    const refused = await t.as(owner.caller, 'DELETE', `/admin/v1/users/${user}`);
    expect(refused.status).toBe(403);
    expect(await state({ params: { user } }, 'A')).toBe(before);
    const stepUp = await t.as(owner.caller, 'POST', '/admin/v1/session/step-up', {
      json: { totp: totpCode(owner.secret as Uint8Array, t.time) },
    });
    expect(stepUp.status).toBe(200);
    expect((await t.as(owner.caller, 'DELETE', `/admin/v1/users/${user}`)).status).toBe(204);
  });

  it('answers 401 to an idle session and to a removed administrator', async () => {
    const auditor = actors.get('auditor') as Actor;
    t.time = T0 + 6 * 60_000 + 16 * 60_000;
    expect((await t.as(auditor.caller, 'GET', '/admin/v1/users')).status).toBe(401);
    const owner = actors.get('owner') as Actor;
    const session = await login(t, 'ta', 'owner@ta.example', owner.secret as Uint8Array);
    const integration = actors.get('integration') as Actor;
    expect((await t.as(integration.caller, 'GET', '/admin/v1/users')).status).toBe(200);
    expect((await t.as({ session }, 'DELETE', `/admin/v1/administrators/${integration.id}`)).status).toBe(
      204,
    );
    expect((await t.as(integration.caller, 'GET', '/admin/v1/users')).status).toBe(401);
  });
});
