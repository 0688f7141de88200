/**
 * The effective policy of the calling device's user (R27, R29; spec/server-policy.md):
 * `GET /v1/policy` answers
 *
 *   { "revision": "<opaque>", "features": { "<name>": { "enabled": true, "config": … } },
 *     "retention": { "messageLifetimeMs": 2592000000 },
 *     "revocations": "<base64url>", "reach": "<base64url>" }
 *
 * Features are resolved from the layers server → tenant → the user's pools → user: a layer sets a
 * feature unless a less specific layer locked it; across several pools the most restrictive wins
 * (enabled only when every pool that sets the feature enables it). A feature no layer sets is not
 * listed (clients treat it as enabled). The `retention` feature is reported as `retention`, not as
 * a feature; its lifetime comes from the same resolver the server uses for its own retention.
 * `revocations` and `reach` are the tenant's signed revocation list and the caller's signed reach
 * statement (`../revocations.ts`, spec/revocations.md), with which recipients refuse content from
 * revoked certificates and from senders whose pools may not reach them.
 *
 * When the tenant has an organisation root, `organisation` carries the signed organisation objects
 * that concern the caller, byte for byte as administrators signed them (base64url), for the
 * client to verify against the root it pinned (spec/organisation.md §10.5): `layers` the signed
 * policy layers that apply (the tenant layer, the layers of the caller's pools, the caller's user
 * layer), `groupLayers` every group policy layer of the tenant (the server does not know who is in
 * which conversation group, so it cannot choose; each device applies the layers of its own groups),
 * `delegations` the certificate delegations not yet expired (newest first, at most 4),
 * `broadcasts` always empty (broadcasts travel end to end into the devices' mailboxes,
 * spec/broadcast.md).
 *
 * @module
 */
import { concatBytes, LimitError, UnauthenticatedError, utf8 } from '@cloister/crypto';
import {
  decodeOrganisationObject,
  MAX_GROUP_LAYERS,
  type PoolId,
  resolvePolicyFeatures,
  type TenantId,
  type UserId,
} from '@cloister/protocol';
import type { RecordValue } from '@cloister/storage';
import { authenticate } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { serverLifetime } from '../retention.js';
import { currentRevocationList, reachStatementFor } from '../revocations.js';
import type { PolicyDocument, PolicyLayer, StoredPolicy } from '../store/index.js';

/**
 * Well-known feature names clients enforce (spec/server-policy.md §3).
 *
 * @example
 * ```ts
 * const showAttachButton = policy.features[POLICY_FEATURES.filesSend]?.enabled ?? true;
 * const allowCopy = policy.features[POLICY_FEATURES.clipboardCopy]?.enabled ?? true;
 * ```
 */
export const POLICY_FEATURES = Object.freeze({
  /** R27: may the user send files, images and videos. */
  filesSend: 'files.send',
  /** R27: may the app allow copy and paste out of conversations (the app enforces it). */
  clipboardCopy: 'clipboard.copy',
} as const);

/**
 * One resolved feature.
 *
 * @example
 * ```ts
 * const files: EffectiveFeature | undefined = policy.features['files.send'];
 * const maySendFiles = files?.enabled ?? true; // a feature no layer sets is enabled
 * ```
 */
export interface EffectiveFeature {
  /** Whether the feature is on for the user, after layering and locks. */
  readonly enabled: boolean;
  /** The feature's configuration from the layer that decided it (across pools, a disabling pool's), when it has one. */
  readonly config?: RecordValue;
}

/**
 * The answer of `GET /v1/policy`.
 *
 * @example
 * ```ts
 * const answer = await fetch(`${url}/v1/policy`, { headers: { authorization: authorizationHeader(credential) } });
 * const effective = (await answer.json()) as EffectivePolicyResponse;
 * const maySendFiles = effective.features['files.send']?.enabled ?? true;
 * ```
 */
export interface EffectivePolicyResponse {
  /** Changes whenever any contributing layer (or the user's pool list) changes; compare, never parse. */
  readonly revision: string;
  /** The resolved features by name; a feature no layer sets is not listed (treat it as enabled). */
  readonly features: { readonly [name: string]: EffectiveFeature };
  /** The user's resolved message retention (the `retention` feature). */
  readonly retention: {
    /** How long the device may keep a message, ms; `null` for no limit. */
    readonly messageLifetimeMs: number | null;
  };
  /**
   * The tenant's signed revocation list, base64url (spec/revocations.md). Absent only when the
   * tenant has more revoked users and devices than a list holds.
   */
  readonly revocations?: string;
  /** The caller's signed reach statement, base64url. Absent only when too many pools reach the caller. */
  readonly reach?: string;
  /** The signed organisation objects for the caller; present when the tenant has an organisation root. */
  readonly organisation?: OrganisationObjectsResponse;
}

/**
 * The signed organisation objects `GET /v1/policy` hands a device (each base64url).
 *
 * @example
 * ```ts
 * import { verifyOrganisationObject } from '@cloister/protocol';
 * const objects: OrganisationObjectsResponse | undefined = policy.organisation;
 * for (const layer of objects?.layers ?? []) {
 *   await verifyOrganisationObject(provider, Buffer.from(layer, 'base64url'), { rootPublicKey, tenant, now: Date.now() });
 * }
 * ```
 */
export interface OrganisationObjectsResponse {
  /** The tenant layer, the caller's pools' layers and the caller's user layer, in that order. */
  readonly layers: readonly string[];
  /**
   * Every group policy layer of the tenant, newest first (at most `MAX_GROUP_LAYERS`, which the
   * admin API never lets a tenant exceed): the server cannot know group membership, so every
   * device receives all of them and applies those of its own conversation groups.
   */
  readonly groupLayers: readonly string[];
  /** Certificate delegations whose `notAfterMs` is still ahead, newest first (at most 4). */
  readonly delegations: readonly string[];
  /** Always empty: broadcasts reach devices end to end, through their mailboxes (spec/broadcast.md). */
  readonly broadcasts: readonly string[];
}

/** Most delegations served. */
const MAX_SERVED_DELEGATIONS = 4;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The signed organisation objects for `user` (in `pools`), or `undefined` when the tenant has no root. */
async function organisationObjects(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
  pools: readonly PoolId[],
): Promise<OrganisationObjectsResponse | undefined> {
  const org = ctx.stores.organisation;
  if ((await org.root(tenant)) === undefined) return undefined;
  const scopes = [
    'policy-layer/tenant',
    ...pools.map((p) => `policy-layer/pool/${p}`),
    `policy-layer/user/${user}`,
  ];
  const found = await Promise.all(scopes.map((scope) => org.get(tenant, 'policy-layer', scope)));
  const layers = found.flatMap((o) => (o === undefined ? [] : [b64(o.bytes)]));
  const groups = await org.groupLayers(tenant, MAX_GROUP_LAYERS);
  const groupLayers = groups.sort((a, b) => b.sequence - a.sequence).map((o) => b64(o.bytes));
  const now = ctx.now();
  const delegations: string[] = [];
  const page = await org.list(tenant, 'certificate-delegation', { limit: 16 });
  for (const stored of page.items) {
    const o = decodeOrganisationObject(stored.bytes);
    if (o.kind === 'certificate-delegation' && o.payload.notAfterMs > now)
      delegations.push(b64(stored.bytes));
    if (delegations.length === MAX_SERVED_DELEGATIONS) break;
  }
  // Broadcasts travel end to end into the devices' mailboxes (spec/broadcast.md); the server keeps
  // none to serve, and the list stays empty for older clients.
  return { layers, groupLayers, delegations, broadcasts: [] };
}

/**
 * Resolves the features of a user from the documents of each layer (no I/O).
 *
 * @example
 * ```ts
 * const features = resolveFeatures({
 *   server: { 'files.send': { enabled: true, locked: false } },
 *   tenant: { 'files.send': { enabled: false, locked: true } },
 *   pools: [],
 *   user: { 'files.send': { enabled: true, locked: false } },
 * });
 * // features['files.send'] = { enabled: false }: the tenant locked it
 * ```
 */
export function resolveFeatures(layers: {
  readonly server?: PolicyDocument | undefined;
  readonly tenant?: PolicyDocument | undefined;
  readonly pools: readonly PolicyDocument[];
  readonly user?: PolicyDocument | undefined;
}): { [name: string]: EffectiveFeature } {
  return resolvePolicyFeatures<RecordValue>(layers);
}

/**
 * The part of a user's effective policy that `revision` covers: the revision, the resolved
 * features, the message lifetime and the signed organisation objects (as `GET /v1/policy` answers
 * them); the compliance check compares a device's report with it.
 *
 * @example
 * ```ts
 * const { revision } = await resolvedPolicy(ctx, tenant, user);
 * const stale = report.revision !== revision;
 * ```
 */
export async function resolvedPolicy(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
): Promise<Pick<EffectivePolicyResponse, 'revision' | 'features' | 'retention' | 'organisation'>> {
  const caller = await ctx.stores.users.get(tenant, user);
  if (caller === undefined) throw new UnauthenticatedError();
  const pools = [...caller.pools].sort();
  const layers: PolicyLayer[] = [
    { kind: 'server' },
    { kind: 'tenant', tenant },
    ...pools.map((pool) => ({ kind: 'pool', tenant, pool }) as const),
    { kind: 'user', tenant, user },
  ];
  const stored: (StoredPolicy | undefined)[] = await Promise.all(
    layers.map((l) => ctx.stores.policies.get(l)),
  );
  const doc = (i: number) => stored[i]?.document;
  const features = resolveFeatures({
    server: doc(0),
    tenant: doc(1),
    pools: stored.slice(2, 2 + pools.length).flatMap((s) => (s === undefined ? [] : [s.document])),
    user: doc(layers.length - 1),
  });
  // "forever" comes back as the clamp we pass; report it as null.
  const forever = Number.MAX_SAFE_INTEGER;
  const lifetime = await serverLifetime(ctx.stores, tenant, user, 'message.device', forever);
  const organisation = await organisationObjects(ctx, tenant, user, pools);
  // The revision digests which layers exist with which revision and write time, the pool list and
  // the signed organisation objects served.
  const facts = JSON.stringify([
    pools,
    layers.map((l, i) => [l.kind, stored[i]?.revision ?? 0, stored[i]?.updatedAt ?? 0]),
    ...(organisation === undefined ? [] : [organisation]),
  ]);
  const digest = await ctx.provider.sha256(
    concatBytes(utf8('cloister/server/v1/policy-revision'), utf8(facts)),
  );
  return {
    revision: Buffer.from(digest.subarray(0, 16)).toString('base64url'),
    features,
    retention: { messageLifetimeMs: lifetime >= forever ? null : lifetime },
    ...(organisation === undefined ? {} : { organisation }),
  };
}

async function effectivePolicy(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
): Promise<EffectivePolicyResponse> {
  const { revision, features, retention, organisation } = await resolvedPolicy(ctx, tenant, user);
  // Over the format's bounds the signed object is left out (clients keep the one they hold).
  const orNothing = (e: unknown) => {
    if (e instanceof LimitError) return undefined;
    throw e;
  };
  const revocations = await currentRevocationList(ctx, tenant).catch(orNothing);
  const reach = await reachStatementFor(ctx, tenant, user).catch(orNothing);
  return {
    revision,
    features,
    retention,
    ...(revocations === undefined ? {} : { revocations: Buffer.from(revocations).toString('base64url') }),
    ...(reach === undefined ? {} : { reach: Buffer.from(reach).toString('base64url') }),
    ...(organisation === undefined ? {} : { organisation }),
  };
}

/**
 * Registers `GET /v1/policy` (authenticated): the effective policy of the calling device's user.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, policyRoutes] });
 * ```
 */
export const policyRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/policy', async (request): Promise<EffectivePolicyResponse> => {
    const me = await authenticate(ctx, request);
    return effectivePolicy(ctx, me.tenant, me.user);
  });
};
