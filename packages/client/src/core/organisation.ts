/**
 * The organisation's signed objects as a root-pinned device accepts them (spec/organisation-client.md):
 * every object is verified against the root pinned at enrolment (`verifyOrganisationObject`),
 * checked against the newest object this device holds in its scope (an older sequence is a
 * rollback, the same sequence with other bytes a fork: both refused), and kept in `c_organisation`
 * in the caller's transaction. What it decides: the signed policy layers that apply (the group
 * layers of conversation groups among them, per group: `spec/restrictions.md` §1.2), the
 * broadcasts to show, the certificate delegations under which sender certificates are trusted, and
 * whether a wipe command is this device's. A refused object changes nothing and becomes an
 * `organisation-refused` event. No I/O.
 *
 * @module
 */
import {
  CloisterError,
  type CryptoProvider,
  DecodeError,
  type DeviceId,
  equalBytes,
  ForbiddenError,
  InvalidKeyError,
  LimitError,
  type SenderCertificate,
  toHex,
  ValidationError,
} from '@cloister/crypto';
import {
  type BroadcastPayload,
  decodeOrganisationObject,
  delegationCovers,
  groupIdOfLayerTarget,
  type LayerDocument,
  MAX_GROUP_LAYERS,
  type OrganisationObjectKind,
  organisationObjectScope,
  type PolicyLayerPayload,
  type SignedOrganisationObject,
  tenantId,
  type UserId,
  verifyOrganisationObject,
  type WipePayload,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { requireBase64Url, toBase64Url } from '../_base64.js';
import { CLIENT_LOCAL_TABLES, getRecord, isBytes, isNumber, putRecord } from '../local.js';
import type { ClientEvent } from './types.js';

const TABLE = CLIENT_LOCAL_TABLES.organisation;
const PATH = 'c_organisation';

/** Most objects of one list in a `GET /v1/policy` answer that a device looks at. */
export const MAX_ORGANISATION_LIST = 64;

/**
 * Most group layers a device holds: a tenant has at most `MAX_GROUP_LAYERS` at a time, and a
 * device keeps every one it verified (withholding one cannot roll it back), so this leaves room
 * for the layers of groups an organisation stopped restricting long ago.
 */
export const MAX_HELD_GROUP_LAYERS = 4 * MAX_GROUP_LAYERS;

/** Most certificate delegations a device keeps (the newest; old messages need the older ones). */
export const MAX_KEPT_DELEGATIONS = 32;

/**
 * The shortest lifetime the server gives a sender certificate (1 minute). A certificate carries
 * only its expiry; its issue time is taken as the latest moment it can have been issued: the
 * earlier of its arrival and its expiry minus this.
 */
export const SENDER_CERTIFICATE_MIN_LIFETIME_MS = 60_000;

/** What the organisation checks need of this device. */
export interface OrganisationSelf {
  readonly provider: CryptoProvider;
  readonly tenant: string;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** The organisation root pinned at enrolment; undefined for a device enrolled without one. */
  readonly organisationRoot?: Uint8Array | undefined;
  /** The key the server signs sender certificates with (the enrolment answer's `tenantSigningKey`). */
  readonly tenantPublicKey: Uint8Array;
}

/** The `organisation` field of a `GET /v1/policy` answer, as bytes. */
export interface OrganisationAnswer {
  readonly layers: readonly Uint8Array[];
  /** Every group layer of the tenant (the server does not know which groups this device is in). */
  readonly groupLayers: readonly Uint8Array[];
  readonly delegations: readonly Uint8Array[];
  readonly broadcasts: readonly Uint8Array[];
}

/**
 * The `organisation` field of a `GET /v1/policy` answer: absent is undefined; lists longer than
 * {@link MAX_ORGANISATION_LIST} (`groupLayers`: `MAX_GROUP_LAYERS`) or entries that are not
 * canonical base64url are a `DecodeError`.
 *
 * @example
 * ```ts
 * parseOrganisationAnswer({ layers: ['AQE…'], delegations: [], broadcasts: [] });
 * ```
 */
export function parseOrganisationAnswer(value: unknown): OrganisationAnswer | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new DecodeError('policy.organisation', 'an object');
  const list = (name: keyof OrganisationAnswer, most = MAX_ORGANISATION_LIST): Uint8Array[] => {
    const v = (value as Record<string, unknown>)[name];
    if (v === undefined) return [];
    const field = `policy.organisation.${name}`;
    if (!Array.isArray(v) || v.length > most) {
      throw new DecodeError(field, `a list of at most ${most} objects`);
    }
    return v.map((x, i) => requireBase64Url(x, `${field}[${i}]`));
  };
  return {
    layers: list('layers'),
    groupLayers: list('groupLayers', MAX_GROUP_LAYERS),
    delegations: list('delegations'),
    broadcasts: list('broadcasts'),
  };
}

/** What a refused object is reported as. */
function refusal(bytes: Uint8Array, e: unknown): ClientEvent {
  let kind: OrganisationObjectKind | 'unknown' = 'unknown';
  try {
    kind = decodeOrganisationObject(bytes).kind;
  } catch {
    // undecodable: reported as unknown
  }
  return {
    type: 'organisation-refused',
    kind,
    reason: e instanceof CloisterError ? e.code : 'ERR_UNKNOWN',
  };
}

/** Rethrows what is not a refusal (storage failures, bugs). */
function refusable(e: unknown): void {
  if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
}

interface Held {
  readonly sequence: number;
  readonly bytes: Uint8Array;
}

async function loadHeld(tx: StorageTx, scope: string): Promise<Held | undefined> {
  const r = await getRecord(tx, TABLE, `scope:${scope}`, PATH);
  if (r === undefined || !isNumber(r.sequence) || !isBytes(r.bytes)) return undefined;
  return { sequence: r.sequence, bytes: r.bytes };
}

async function keep(tx: StorageTx, o: SignedOrganisationObject): Promise<void> {
  await putRecord(tx, TABLE, `scope:${organisationObjectScope(o)}`, { sequence: o.sequence, bytes: o.bytes });
}

function requireRoot(self: OrganisationSelf): Uint8Array {
  if (self.organisationRoot === undefined) {
    throw new InvalidKeyError('organisationRoot', 'this device was enrolled without an organisation root');
  }
  return self.organisationRoot;
}

/** The outcome of checking one object against the root and the held object of its scope. */
type Checked =
  | { readonly state: 'new'; readonly object: SignedOrganisationObject }
  | { readonly state: 'held'; readonly object: SignedOrganisationObject }
  | { readonly state: 'older'; readonly held: Held };

/**
 * Verifies one object of `kind` against the pinned root and the held object of its scope. An
 * older sequence than the held one is `older` (the caller decides whether that is a refusal);
 * the held object again is `held`; the same sequence with other bytes throws (a fork).
 */
async function check(
  self: OrganisationSelf,
  tx: StorageTx,
  bytes: Uint8Array,
  kind: OrganisationObjectKind,
  now: number,
): Promise<Checked> {
  const root = requireRoot(self);
  const decoded = decodeOrganisationObject(bytes);
  if (decoded.kind !== kind) throw new ValidationError('object.kind', `an object of kind ${kind}`);
  const held = await loadHeld(tx, organisationObjectScope(decoded));
  if (held !== undefined && decoded.sequence < held.sequence) return { state: 'older', held };
  const object = await verifyOrganisationObject(self.provider, bytes, {
    rootPublicKey: root,
    tenant: tenantId(self.tenant),
    now,
    ...(held === undefined ? {} : { newestSequence: held.sequence }),
  });
  if (held !== undefined && held.sequence === object.sequence) {
    if (!equalBytes(held.bytes, object.bytes)) {
      throw new InvalidKeyError(
        'object.sequence',
        'another object with the sequence of the held one (a fork)',
      );
    }
    return { state: 'held', object };
  }
  return { state: 'new', object };
}

/** The signed layers that apply to this device's user, as documents. */
export interface SignedLayers {
  readonly tenant?: LayerDocument | undefined;
  readonly pools: readonly LayerDocument[];
  readonly user?: LayerDocument | undefined;
  /**
   * The group layers held, by the hex of the group id they name (as in a group conversation id
   * `g:<hex>`); each applies only in that group's conversation.
   */
  readonly groups?: { readonly [groupHex: string]: LayerDocument } | undefined;
  /** `<scope>@<sequence>` of each layer used, sorted: changes exactly when the layers do. */
  readonly revision: string;
}

const GROUP_INDEX = 'group-layers';

/** The targets of the group layers held (their scopes are `policy-layer/group/<target>`). */
async function heldGroupTargets(tx: StorageTx): Promise<string[]> {
  const r = await getRecord(tx, TABLE, GROUP_INDEX, PATH);
  const targets = r?.targets;
  return Array.isArray(targets) ? targets.filter((x): x is string => typeof x === 'string') : [];
}

type LayerObject = SignedOrganisationObject & {
  readonly kind: 'policy-layer';
  readonly payload: PolicyLayerPayload;
};

/**
 * Verifies the served policy layers and keeps the new ones; returns the layers that apply. The
 * tenant layer, this user's layer and every group layer are sticky: the newest held one applies
 * even when the server leaves it out (withholding cannot roll it back). Pool layers apply as
 * served: the server's list of the user's pools is all a device has. Group layers come in
 * `servedGroups` (every group layer of the tenant; one whose target is not a group id, or beyond
 * {@link MAX_HELD_GROUP_LAYERS} held, is refused); each applies only in the conversation of the
 * group it names. A layer of another user, a layer of another kind in `servedGroups`, an older
 * version of a held layer and a fork are refused.
 *
 * @example
 * ```ts
 * const { layers, events } = await acceptPolicyLayers(self, tx, answer.layers, now, answer.groupLayers);
 * ```
 */
export async function acceptPolicyLayers(
  self: OrganisationSelf,
  tx: StorageTx,
  served: readonly Uint8Array[],
  now: number,
  servedGroups: readonly Uint8Array[] = [],
): Promise<{ readonly layers: SignedLayers; readonly events: ClientEvent[] }> {
  const events: ClientEvent[] = [];
  const pools = new Map<string, LayerObject>();
  const groupTargets = await heldGroupTargets(tx);
  const heldBefore = groupTargets.length;
  const all = [
    ...served.map((bytes) => ({ bytes, group: false })),
    ...servedGroups.map((bytes) => ({ bytes, group: true })),
  ];
  for (const { bytes, group } of all) {
    try {
      const c = await check(self, tx, bytes, 'policy-layer', now);
      if (c.state === 'older') {
        throw new InvalidKeyError('object.sequence', 'older than the newest accepted object of its scope');
      }
      const o = c.object as LayerObject;
      const { layer, target } = o.payload;
      if (group !== (layer === 'group')) {
        throw new ValidationError('payload.layer', group ? 'a group layer' : 'a tenant, pool or user layer');
      }
      if (layer === 'user' && target !== self.userId)
        throw new ForbiddenError('a user layer of another user');
      if (layer === 'group') {
        if (groupIdOfLayerTarget(target as string) === undefined) {
          throw new ValidationError('payload.target', 'the base64url of a group id of 1..64 bytes');
        }
        if (!groupTargets.includes(target as string)) {
          if (groupTargets.length >= MAX_HELD_GROUP_LAYERS) {
            throw new LimitError(`at most ${MAX_HELD_GROUP_LAYERS} group layers are held`);
          }
          groupTargets.push(target as string);
        }
      }
      if (c.state === 'new') await keep(tx, o);
      if (layer === 'pool') pools.set(target as string, o);
    } catch (e) {
      refusable(e);
      events.push(refusal(bytes, e));
    }
  }
  if (groupTargets.length !== heldBefore) await putRecord(tx, TABLE, GROUP_INDEX, { targets: groupTargets });
  const layerOf = async (scope: string): Promise<LayerObject | undefined> => {
    const held = await loadHeld(tx, scope);
    return held === undefined ? undefined : (decodeOrganisationObject(held.bytes) as LayerObject);
  };
  const tenant = await layerOf('policy-layer/tenant');
  const user = await layerOf(`policy-layer/user/${self.userId}`);
  const poolLayers = [...pools.keys()].sort().map((k) => pools.get(k) as LayerObject);
  const groupLayers: LayerObject[] = [];
  const groups: { [groupHex: string]: LayerDocument } = {};
  for (const target of [...groupTargets].sort()) {
    const o = await layerOf(`policy-layer/group/${target}`);
    const id = groupIdOfLayerTarget(target);
    if (o === undefined || id === undefined) continue;
    groupLayers.push(o);
    groups[toHex(id)] = o.payload.document;
  }
  const used = [tenant, ...poolLayers, user, ...groupLayers].filter((o): o is LayerObject => o !== undefined);
  return {
    layers: {
      tenant: tenant?.payload.document,
      pools: poolLayers.map((o) => o.payload.document),
      user: user?.payload.document,
      groups,
      revision: used
        .map((o) => `${organisationObjectScope(o)}@${o.sequence}`)
        .sort()
        .join(','),
    },
    events,
  };
}

async function keptDelegations(tx: StorageTx): Promise<Uint8Array[]> {
  const r = await getRecord(tx, TABLE, 'delegations', PATH);
  const items = r?.items;
  return Array.isArray(items) ? items.filter(isBytes) : [];
}

/**
 * Verifies served certificate delegations (oldest first) and keeps each new one, the newest
 * {@link MAX_KEPT_DELEGATIONS}, for as long as old messages may need them. Delegations older than
 * the newest held are skipped without a report (the server serves the last few on purpose).
 *
 * @example
 * ```ts
 * const events = await acceptDelegations(self, tx, answer.delegations, now);
 * ```
 */
export async function acceptDelegations(
  self: OrganisationSelf,
  tx: StorageTx,
  served: readonly Uint8Array[],
  now: number,
): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  const kept = await keptDelegations(tx);
  let changed = false;
  for (const bytes of oldestFirst(served)) {
    if (kept.some((k) => equalBytes(k, bytes))) continue;
    try {
      const c = await check(self, tx, bytes, 'certificate-delegation', now);
      if (c.state !== 'new') continue;
      await keep(tx, c.object);
      kept.push(c.object.bytes);
      changed = true;
    } catch (e) {
      refusable(e);
      events.push(refusal(bytes, e));
    }
  }
  if (changed) await putRecord(tx, TABLE, 'delegations', { items: kept.slice(-MAX_KEPT_DELEGATIONS) });
  return events;
}

/**
 * Whether a sender certificate (already verified under `signingKey`) is covered by a delegation
 * this device verified: one that names `signingKey` and whose window holds the certificate's
 * issue time, the earlier of `now` and its expiry minus {@link SENDER_CERTIFICATE_MIN_LIFETIME_MS}.
 *
 * @example
 * ```ts
 * if (self.organisationRoot !== undefined && !(await certificateDelegated(tx, key, certificate, now))) refuse();
 * ```
 */
export async function certificateDelegated(
  tx: StorageTx,
  signingKey: Uint8Array,
  certificate: Pick<SenderCertificate, 'expiresAt'>,
  now: number,
): Promise<boolean> {
  const at = Math.min(now, certificate.expiresAt - SENDER_CERTIFICATE_MIN_LIFETIME_MS);
  for (const bytes of await keptDelegations(tx)) {
    const o = decodeOrganisationObject(bytes);
    if (o.kind === 'certificate-delegation' && delegationCovers(o.payload, signingKey, at)) return true;
  }
  return false;
}

function oldestFirst(served: readonly Uint8Array[]): Uint8Array[] {
  const seq = (b: Uint8Array) => {
    try {
      return decodeOrganisationObject(b).sequence;
    } catch {
      return 0;
    }
  };
  return [...served].sort((a, b) => seq(a) - seq(b));
}

/**
 * A broadcast as the app sees it.
 *
 * @example
 * ```ts
 * client.on('broadcast', ({ broadcast }: { broadcast: ClientBroadcast }) => {
 *   console.log(`${broadcast.from} (${broadcast.role}): ${broadcast.text}`);
 * });
 * ```
 */
export interface ClientBroadcast {
  /** base64url of the 16-byte broadcast id. */
  readonly id: string;
  /** The broadcast's text. */
  readonly text: string;
  /** When the administrator signed it (ms since the epoch, the administrator's clock). */
  readonly issuedAt: number;
  /** The administrator id in the signer's certificate. */
  readonly from: string;
  /** The administrator's role in the signer's certificate. */
  readonly role: string;
}

/** The audiences of a broadcast that include this device's user. */
function addressed(payload: BroadcastPayload, user: UserId, pools: readonly string[]): boolean {
  const a = payload.audience;
  if (a.kind === 'tenant') return true;
  if (a.kind === 'users') return a.users.includes(user);
  return a.pools.some((p) => pools.includes(p));
}

/**
 * Verifies served broadcasts (oldest first) and returns a `broadcast` event for each one newer
 * than the newest this device showed and addressed to it (the tenant, one of `pools` — the user's
 * pools as the server lists them — or the user). Older ones were shown already or are past: no
 * event. One addressed to others, or that does not verify, is refused.
 *
 * @example
 * ```ts
 * const events = await acceptBroadcasts(self, tx, answer.broadcasts, pools, now);
 * ```
 */
export async function acceptBroadcasts(
  self: OrganisationSelf,
  tx: StorageTx,
  served: readonly Uint8Array[],
  pools: readonly string[],
  now: number,
): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  for (const bytes of oldestFirst(served)) {
    try {
      const c = await check(self, tx, bytes, 'broadcast', now);
      if (c.state !== 'new') continue;
      const o = c.object as SignedOrganisationObject & { kind: 'broadcast'; payload: BroadcastPayload };
      if (!addressed(o.payload, self.userId, pools)) throw new ForbiddenError('a broadcast to others');
      await keep(tx, o);
      events.push({
        type: 'broadcast',
        broadcast: {
          id: toBase64Url(o.payload.broadcastId),
          text: o.payload.text,
          issuedAt: o.issuedAtMs,
          from: o.certificate.admin,
          role: o.certificate.role,
        },
      });
    } catch (e) {
      refusable(e);
      events.push(refusal(bytes, e));
    }
  }
  return events;
}

/**
 * Whether any served broadcast (decodable, unverified) is addressed to pools: only then does the
 * shell need the user's pool list.
 *
 * @example
 * ```ts
 * const pools = broadcastsNeedPools(answer.broadcasts) ? await myPools() : [];
 * ```
 */
export function broadcastsNeedPools(served: readonly Uint8Array[]): boolean {
  return served.some((b) => {
    try {
      const o = decodeOrganisationObject(b);
      return o.kind === 'broadcast' && o.payload.audience.kind === 'pools';
    } catch {
      return false;
    }
  });
}

/**
 * Verifies a wipe command for this device: a `wipe` object under the pinned root, not older than
 * a held one of its scope, naming this device's user and device. A device enrolled without a root
 * refuses every command. Throws `InvalidKeyError` (root, signature, certificate, sequence),
 * `ForbiddenError` (a role that may not wipe), `DecodeError`, or `ValidationError` with field
 * `payload` when it names another device; returns the payload.
 *
 * @example
 * ```ts
 * const { commandId } = await verifyWipe(self, tx, bytes, now);
 * ```
 */
export async function verifyWipe(
  self: OrganisationSelf,
  tx: StorageTx,
  bytes: Uint8Array,
  now: number,
): Promise<WipePayload> {
  const c = await check(self, tx, bytes, 'wipe', now);
  if (c.state === 'older') {
    throw new InvalidKeyError('object.sequence', 'older than the newest accepted object of its scope');
  }
  const o = c.object as SignedOrganisationObject & { kind: 'wipe'; payload: WipePayload };
  if (o.payload.user !== self.userId || o.payload.deviceId !== self.deviceId) {
    throw new ValidationError('payload', 'a wipe command for this device');
  }
  await keep(tx, o);
  return o.payload;
}

/**
 * The archive fingerprint last reported to the app (`null`: archiving off), or undefined before
 * the first report.
 *
 * @example
 * ```ts
 * const before = await loadArchiveState(tx);
 * ```
 */
export async function loadArchiveState(tx: StorageTx): Promise<string | null | undefined> {
  const r = await getRecord(tx, TABLE, 'archive', PATH);
  if (r === undefined) return undefined;
  return typeof r.fingerprint === 'string' ? r.fingerprint : null;
}

/**
 * Records the archive fingerprint reported to the app (`null`: off).
 *
 * @example
 * ```ts
 * await saveArchiveState(tx, 'cloister-archive:v1:…');
 * ```
 */
export async function saveArchiveState(tx: StorageTx, fingerprint: string | null): Promise<void> {
  await putRecord(tx, TABLE, 'archive', { fingerprint });
}
