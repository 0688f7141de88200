/**
 * What the server keeps of each tenant's organisation plane (`spec/organisation.md` §10): the
 * organisation root's public key with the owner certificate it was set with, the newest sequence
 * accepted per kind of signed organisation object, and the signed objects themselves, byte for
 * byte as their signer made them (the server cannot make or change one; clients verify each
 * against the root they pinned). The store checks forms and the sequence rule and decides nothing
 * else; `../organisation/` verifies signatures and applies effects.
 *
 * Rows:
 * - `s_org_roots[k(tenant)][ε]` the root: `rootPublicKey`, `ownerCertificate`, `fingerprint`, `setAt`;
 * - `s_org_sequences[k(tenant)][utf8(kind)]` the newest accepted `sequence` of the kind;
 * - `s_org_objects[k(tenant, kind)][utf8(scope)]` the newest object of a scope (policy layers,
 *   pool rules, device admissions);
 * - `s_org_objects[k(tenant, "policy-layer/group")][utf8(scope)]` a copy of each group policy layer,
 *   so that the tenant's group layers are listed without reading its pool and user layers
 *   ({@link OrganisationStore.groupLayers}; `spec/server-policy.md` §1);
 * - `s_org_lists[k(tenant, kind)][u64 sequence]` every object of a listed kind (broadcasts,
 *   certificate delegations), an ordered table: its sort keys are sequence numbers only.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import {
  ORGANISATION_OBJECT_KINDS,
  type OrganisationObjectKind,
  type TenantId,
  tenantId,
} from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkBytesIn,
  checkId,
  checkInteger,
  checkPage,
  checkText,
  getRec,
  key,
  NO_SORT,
  type Rec,
  read,
  readUint,
  T,
  u64,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadTenant } from './tenants.js';

/**
 * The kinds the store keeps as a list (every object, newest first); every other kind keeps the
 * newest object per scope.
 *
 * @example
 * ```ts
 * LISTED_ORGANISATION_KINDS.includes('broadcast'); // true
 * ```
 */
export const LISTED_ORGANISATION_KINDS: readonly OrganisationObjectKind[] = Object.freeze([
  'broadcast',
  'certificate-delegation',
]);

/**
 * Largest stored organisation object, in bytes (a 256 KiB payload, a certificate and the envelope).
 *
 * @example
 * ```ts
 * if (signedObject.length > MAX_STORED_ORGANISATION_OBJECT_BYTES) reply.code(413); // the store would refuse it
 * ```
 */
export const MAX_STORED_ORGANISATION_OBJECT_BYTES = 256 * 1024 + 1024;

const MAX_SCOPE = 300;

/** The scope prefix of group policy layers, and the partition name of their copies. */
const GROUP_LAYER_PREFIX = 'policy-layer/group/';
const GROUP_LAYER_INDEX = 'policy-layer/group';
const isGroupLayer = (kind: OrganisationObjectKind, scope: string): boolean =>
  kind === 'policy-layer' && scope.startsWith(GROUP_LAYER_PREFIX);
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/**
 * A tenant's organisation root as the server keeps it.
 *
 * @example
 * ```ts
 * const root: OrganisationRoot | undefined = await stores.organisation.root(tenant);
 * console.log(root?.fingerprint ?? 'no root yet'); // 'cloister-root:v1:…'
 * ```
 */
export interface OrganisationRoot {
  /** The tenant the root belongs to. */
  readonly tenant: TenantId;
  /** The root's Ed25519 public key (32 bytes). */
  readonly rootPublicKey: Uint8Array;
  /** The owner certificate the root was set with (the root signed it). */
  readonly ownerCertificate: Uint8Array;
  /** `cloister-root:v1:…` of the root public key. */
  readonly fingerprint: string;
  /** When the root was set, ms since the epoch (the store's clock). */
  readonly setAt: number;
}

/**
 * What {@link OrganisationStore.setRoot} takes (checked for form only; `setOrganisationRoot`
 * verifies the certificate).
 *
 * @example
 * ```ts
 * import { rootFingerprint } from '@cloister/protocol';
 *
 * const input: OrganisationRootInput = {
 *   rootPublicKey,
 *   ownerCertificate,
 *   fingerprint: await rootFingerprint(provider, rootPublicKey),
 * };
 * await stores.organisation.setRoot(tenant, input);
 * ```
 */
export interface OrganisationRootInput {
  /** The root's Ed25519 public key (32 bytes). */
  readonly rootPublicKey: Uint8Array;
  /** The encoded owner certificate the root signed. */
  readonly ownerCertificate: Uint8Array;
  /** `cloister-root:v1:…` of the root public key. */
  readonly fingerprint: string;
}

/**
 * A stored signed organisation object and the facts the server indexes it by.
 *
 * @example
 * ```ts
 * const layer: StoredOrganisationObject | undefined = await stores.organisation.get(tenant, 'policy-layer', 'policy-layer/tenant');
 * if (layer !== undefined) console.log(layer.sequence, layer.admin, layer.bytes.length);
 * ```
 */
export interface StoredOrganisationObject {
  /** The object's kind (`policy-layer`, `broadcast`, …). */
  readonly kind: OrganisationObjectKind;
  /** `organisationObjectScope` of the object (`policy-layer/user/alice`, `broadcast`, …). */
  readonly scope: string;
  /** The object's sequence number in its kind (1 and up; each newer object has a greater one). */
  readonly sequence: number;
  /** When its signer issued it, ms since the epoch (the signer's clock). */
  readonly issuedAtMs: number;
  /** The administrator whose certificate signed it. */
  readonly admin: string;
  /** The signed object, exactly as published. */
  readonly bytes: Uint8Array;
  /** When the server stored it (its clock). */
  readonly storedAt: number;
}

/**
 * What {@link OrganisationStore.put} takes.
 *
 * @example
 * ```ts
 * const input: OrganisationObjectInput = {
 *   kind: 'broadcast', scope: 'broadcast', sequence: 3, issuedAtMs: Date.now(), admin: admin.id, bytes: signedObject,
 * };
 * const stored = await stores.organisation.put(tenant, input);
 * ```
 */
export type OrganisationObjectInput = Omit<StoredOrganisationObject, 'storedAt'>;

/**
 * The organisation plane's rows of each tenant.
 *
 * @example
 * ```ts
 * await stores.transaction(async (s) => {
 *   await s.organisation.advanceSequence(tenant, 'broadcast', 4);
 *   await s.organisation.put(tenant, {
 *     kind: 'broadcast', scope: 'broadcast', sequence: 4, issuedAtMs: Date.now(), admin: admin.id, bytes: signedObject,
 *   });
 * });
 * ```
 */
export interface OrganisationStore {
  /**
   * The tenant's root, or `undefined` while none is set.
   *
   * @example
   * ```ts
   * const root = await stores.organisation.root(tenant); // undefined while none is set
   * ```
   */
  root(tenant: TenantId): Promise<OrganisationRoot | undefined>;
  /**
   * Sets the root once: `ConflictError('organisation-root')` the second time, `NotFoundError('tenant')`.
   *
   * @example
   * ```ts
   * import { rootFingerprint } from '@cloister/protocol';
   *
   * const fingerprint = await rootFingerprint(provider, rootPublicKey);
   * const root = await stores.organisation.setRoot(tenant, { rootPublicKey, ownerCertificate, fingerprint });
   * ```
   */
  setRoot(tenant: TenantId, input: OrganisationRootInput): Promise<OrganisationRoot>;
  /**
   * The newest sequence accepted for `kind` (0 when none).
   *
   * @example
   * ```ts
   * const newest = await stores.organisation.sequence(tenant, 'broadcast'); // 0 before the first broadcast
   * ```
   */
  sequence(tenant: TenantId, kind: OrganisationObjectKind): Promise<number>;
  /**
   * Records `sequence` as the newest of `kind`: `ConflictError('organisation-sequence')` unless it is greater than the stored one.
   *
   * @example
   * ```ts
   * const next = (await stores.organisation.sequence(tenant, 'broadcast')) + 1;
   * await stores.organisation.advanceSequence(tenant, 'broadcast', next); // ConflictError('organisation-sequence') if not greater
   * ```
   */
  advanceSequence(tenant: TenantId, kind: OrganisationObjectKind, sequence: number): Promise<void>;
  /**
   * Stores an object: the newest of its scope, or one more of a listed kind.
   *
   * @example
   * ```ts
   * await stores.organisation.put(tenant, {
   *   kind: 'broadcast', scope: 'broadcast', sequence: 5, issuedAtMs: Date.now(), admin: admin.id, bytes: signedObject,
   * });
   * ```
   */
  put(tenant: TenantId, object: OrganisationObjectInput): Promise<StoredOrganisationObject>;
  /**
   * The newest object of a scope (a listed kind: the newest of the kind).
   *
   * @example
   * ```ts
   * const layer = await stores.organisation.get(tenant, 'policy-layer', `policy-layer/user/${user}`);
   * if (layer !== undefined) console.log(layer.sequence, layer.admin, new Date(layer.issuedAtMs));
   * ```
   */
  get(
    tenant: TenantId,
    kind: OrganisationObjectKind,
    scope: string,
  ): Promise<StoredOrganisationObject | undefined>;
  /**
   * Removes the object of one scope of a kind that keeps one per scope (`policy-layer`, `wipe`,
   * `device-admission`, …); whether one was there. A listed kind (broadcasts, delegations) is
   * `ValidationError`: its objects name no single user and stay.
   *
   * @example
   * ```ts
   * // when the user is deleted, the objects about them go too:
   * await stores.organisation.remove(tenant, 'policy-layer', `policy-layer/user/${user}`);
   * const had = await stores.organisation.remove(tenant, 'wipe', `wipe/${user}/${device}`); // false when none was there
   * ```
   */
  remove(tenant: TenantId, kind: OrganisationObjectKind, scope: string): Promise<boolean>;
  /**
   * Objects of `kind`: a listed kind newest first, any other kind one per scope in a stable order.
   *
   * @example
   * ```ts
   * const { items } = await stores.organisation.list(tenant, 'broadcast', { limit: 20 }); // newest first
   * ```
   */
  list(
    tenant: TenantId,
    kind: OrganisationObjectKind,
    options?: ServerPageOptions,
  ): Promise<ServerPage<StoredOrganisationObject>>;
  /**
   * The tenant's group policy layers (scopes `policy-layer/group/…`), at most `limit` (1..1000), in
   * a stable but unspecified order; read from their own rows, not from the pool and user layers.
   *
   * @example
   * ```ts
   * const groups = await stores.organisation.groupLayers(tenant, 257);
   * if (groups.length > 256) console.log('more group layers than devices are served');
   * ```
   */
  groupLayers(tenant: TenantId, limit: number): Promise<StoredOrganisationObject[]>;
}

function checkKind(value: unknown): OrganisationObjectKind {
  if (!ORGANISATION_OBJECT_KINDS.includes(value as OrganisationObjectKind)) {
    throw new ValidationError('kind', ORGANISATION_OBJECT_KINDS.join(', '));
  }
  return value as OrganisationObjectKind;
}

const listed = (kind: OrganisationObjectKind): boolean => LISTED_ORGANISATION_KINDS.includes(kind);

function checkInput(value: OrganisationObjectInput): OrganisationObjectInput {
  if (typeof value !== 'object' || value === null) throw new ValidationError('object', 'an object');
  return {
    kind: checkKind(value.kind),
    scope: checkText(value.scope, 'object.scope', MAX_SCOPE),
    sequence: checkInteger(value.sequence, 'object.sequence', 1, MAX_SEQUENCE),
    issuedAtMs: checkInteger(value.issuedAtMs, 'object.issuedAtMs', 0, MAX_SEQUENCE),
    admin: checkText(value.admin, 'object.admin', 128),
    bytes: checkBytesIn(value.bytes, 'object.bytes', 1, MAX_STORED_ORGANISATION_OBJECT_BYTES),
  };
}

function objectFrom(r: Rec): StoredOrganisationObject {
  let kind: OrganisationObjectKind;
  try {
    kind = checkKind(r.str('kind', 64));
  } catch {
    throw new DecodeError(`${r.path}.kind`, 'a kind of organisation object');
  }
  return {
    kind,
    scope: r.str('scope', MAX_SCOPE),
    sequence: r.int('sequence', 1),
    issuedAtMs: r.int('issuedAtMs'),
    admin: r.str('admin', 128),
    bytes: r.bytes('bytes', 1, MAX_STORED_ORGANISATION_OBJECT_BYTES),
    storedAt: r.int('storedAt'),
  };
}

function rootFrom(tenant: TenantId, r: Rec): OrganisationRoot {
  return {
    tenant,
    rootPublicKey: r.bytes('rootPublicKey', 32, 32),
    ownerCertificate: r.bytes('ownerCertificate', 1, 1024),
    fingerprint: r.str('fingerprint', 64),
    setAt: r.int('setAt'),
  };
}

/**
 * Creates the organisation store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const organisation = createOrganisationStore(adapterExecutor(adapter));
 * const newest = await organisation.sequence(tenant, 'broadcast'); // 0 when none
 * ```
 */
export function createOrganisationStore(run: Executor): OrganisationStore {
  return {
    async root(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.orgRoots, key(tid), NO_SORT);
          return r === undefined ? undefined : rootFrom(tid, r);
        },
        { readOnly: true },
      );
    },

    async setRoot(tenant, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
      const rootPublicKey = checkBytesIn(input.rootPublicKey, 'rootPublicKey', 32, 32);
      const ownerCertificate = checkBytesIn(input.ownerCertificate, 'ownerCertificate', 1, 1024);
      const fingerprint = checkText(input.fingerprint, 'fingerprint', 64);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const root: OrganisationRoot = {
          tenant: tid,
          rootPublicKey: rootPublicKey.slice(),
          ownerCertificate: ownerCertificate.slice(),
          fingerprint,
          setAt: tx.now,
        };
        const value = write({ rootPublicKey, ownerCertificate, fingerprint, setAt: tx.now });
        const ok = await tx.put(
          T.orgRoots,
          { partition: key(tid), sort: NO_SORT, value },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('organisation-root', 'the tenant has an organisation root already');
        return root;
      });
    },

    async sequence(tenant, kind) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkKind(kind);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.orgSequences, key(tid), key(k));
          return r === undefined ? 0 : r.int('sequence', 1);
        },
        { readOnly: true },
      );
    },

    async advanceSequence(tenant, kind, sequence) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkKind(kind);
      const next = checkInteger(sequence, 'sequence', 1, MAX_SEQUENCE);
      await run(async (tx) => {
        const r = await getRec(tx, T.orgSequences, key(tid), key(k), true);
        const stored = r === undefined ? 0 : r.int('sequence', 1);
        if (next <= stored) {
          throw new ConflictError(
            'organisation-sequence',
            `the sequence must be greater than ${stored} (the newest ${k} accepted)`,
          );
        }
        await tx.put(T.orgSequences, { partition: key(tid), sort: key(k), value: write({ sequence: next }) });
      });
    },

    async put(tenant, object) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const o = checkInput(object);
      return run(async (tx) => {
        const stored: StoredOrganisationObject = { ...o, bytes: o.bytes.slice(), storedAt: tx.now };
        const value = write({ ...o, storedAt: tx.now });
        if (listed(o.kind)) {
          await tx.put(T.orgLists, { partition: key(tid, o.kind), sort: u64(o.sequence), value });
        } else {
          await tx.put(T.orgObjects, { partition: key(tid, o.kind), sort: key(o.scope), value });
          if (isGroupLayer(o.kind, o.scope)) {
            await tx.put(T.orgObjects, { partition: key(tid, GROUP_LAYER_INDEX), sort: key(o.scope), value });
          }
        }
        return stored;
      });
    },

    async get(tenant, kind, scope) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkKind(kind);
      const sc = checkText(scope, 'scope', MAX_SCOPE);
      return run(
        async (tx) => {
          if (listed(k)) {
            const [row] = await tx.list(T.orgLists, key(tid, k), { reverse: true, limit: 1 });
            return row === undefined ? undefined : objectFrom(read(row.value, T.orgLists));
          }
          const r = await getRec(tx, T.orgObjects, key(tid, k), key(sc));
          return r === undefined ? undefined : objectFrom(r);
        },
        { readOnly: true },
      );
    },

    async remove(tenant, kind, scope) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkKind(kind);
      const sc = checkText(scope, 'scope', MAX_SCOPE);
      if (listed(k)) throw new ValidationError('kind', 'a kind with one object per scope');
      return run(async (tx) => {
        if ((await getRec(tx, T.orgObjects, key(tid, k), key(sc), true)) === undefined) return false;
        await tx.delete(T.orgObjects, key(tid, k), key(sc));
        if (isGroupLayer(k, sc)) await tx.delete(T.orgObjects, key(tid, GROUP_LAYER_INDEX), key(sc));
        return true;
      });
    },

    async list(tenant, kind, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkKind(kind);
      const { after, limit } = checkPage(options);
      return run(
        async (tx) => {
          if (listed(k)) {
            let afterSort: Uint8Array | undefined;
            if (after !== undefined) {
              if (!/^[1-9][0-9]{0,15}$/.test(after)) throw new ValidationError('after', 'a sequence cursor');
              afterSort = u64(checkInteger(Number(after), 'after', 1, MAX_SEQUENCE));
            }
            const rows = await tx.list(T.orgLists, key(tid, k), {
              reverse: true,
              limit,
              ...(afterSort === undefined ? {} : { after: afterSort }),
            });
            const items = rows.map((row) => objectFrom(read(row.value, T.orgLists)));
            const last = rows[rows.length - 1];
            return rows.length === limit && last !== undefined
              ? { items, next: String(readUint(last.sort, 0, 8)) }
              : { items };
          }
          const rows = await tx.list(T.orgObjects, key(tid, k), {
            limit,
            ...(after === undefined ? {} : { after: key(checkText(after, 'after', MAX_SCOPE)) }),
          });
          const items = rows.map((row) => objectFrom(read(row.value, T.orgObjects)));
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.scope } : { items };
        },
        { readOnly: true },
      );
    },

    async groupLayers(tenant, limit) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const n = checkInteger(limit, 'limit', 1, 1000);
      return run(
        async (tx) => {
          const rows = await tx.list(T.orgObjects, key(tid, GROUP_LAYER_INDEX), { limit: n });
          return rows.map((row) => objectFrom(read(row.value, T.orgObjects)));
        },
        { readOnly: true },
      );
    },
  };
}
