/**
 * Policy documents per layer (server default, tenant, pool, group, user). Each document is a
 * map of features `{ enabled, locked, config }`; resolving the layers into effective policy is
 * the server's job, this store only keeps them. Every write bumps a revision, and a write may
 * require the revision it read (optimistic concurrency between administrators).
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import {
  type GroupId,
  groupId,
  type PoolId,
  poolId,
  type TenantId,
  tenantId,
  type UserId,
  userId,
} from '@cloister/protocol';
import type { Executor, RecordValue } from '@cloister/storage';
import {
  checkBool,
  checkId,
  checkInteger,
  checkJson,
  checkObject,
  checkPage,
  getRec,
  key,
  type Rec,
  read,
  T,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';
import { ConflictError } from './errors.js';

/**
 * Largest encoded policy document, in bytes.
 *
 * @example
 * ```ts
 * console.log(MAX_POLICY_BYTES); // 65536
 * ```
 */
export const MAX_POLICY_BYTES = 64 * 1024;
/**
 * Most features in one policy document.
 *
 * @example
 * ```ts
 * console.log(MAX_POLICY_FEATURES); // 256
 * ```
 */
export const MAX_POLICY_FEATURES = 256;

/**
 * Which layer a policy document belongs to.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 *
 * const layer: PolicyLayer = { kind: 'user', tenant, user: userId('alice') };
 * const stored = await stores.policies.get(layer);
 * ```
 */
export type PolicyLayer =
  | { readonly kind: 'server' }
  | { readonly kind: 'tenant'; readonly tenant: TenantId }
  | { readonly kind: 'pool'; readonly tenant: TenantId; readonly pool: PoolId }
  | { readonly kind: 'group'; readonly tenant: TenantId; readonly group: GroupId }
  | { readonly kind: 'user'; readonly tenant: TenantId; readonly user: UserId };

/**
 * One feature of a policy document.
 *
 * @example
 * ```ts
 * const noFiles: PolicyFeature = { enabled: false, locked: true };
 * ```
 */
export interface PolicyFeature {
  /** Whether the feature is on. */
  readonly enabled: boolean;
  /** A locked feature cannot be loosened by a more specific layer. */
  readonly locked: boolean;
  /** The feature's settings (JSON-like), if it has any. */
  readonly config?: RecordValue;
}

/**
 * A policy document: features by name (`a-z 0-9 . _ -`, 1..64 characters).
 *
 * @example
 * ```ts
 * const doc: PolicyDocument = { 'files.send': { enabled: false, locked: true }, retention: { enabled: true, locked: false, config: { days: 30 } } };
 * ```
 */
export type PolicyDocument = { readonly [feature: string]: PolicyFeature };

/**
 * A stored policy document.
 *
 * @example
 * ```ts
 * const stored: StoredPolicy | undefined = await stores.policies.get({ kind: 'tenant', tenant });
 * console.log(stored?.revision, stored?.document['files.send']?.enabled);
 * ```
 */
export interface StoredPolicy {
  /** The layer the document belongs to. */
  readonly layer: PolicyLayer;
  /** The document, as written. */
  readonly document: PolicyDocument;
  /** 1 for the first write, then one more per write. */
  readonly revision: number;
  /** When it was last written, ms since the epoch (the store's clock). */
  readonly updatedAt: number;
}

/**
 * Options of {@link PolicyStore.set}.
 *
 * @example
 * ```ts
 * const layer: PolicyLayer = { kind: 'tenant', tenant };
 * const stored = await stores.policies.get(layer);
 * const options: SetPolicyOptions = { expectedRevision: stored?.revision ?? 0 };
 * await stores.policies.set(layer, { 'files.send': { enabled: false, locked: true } }, options);
 * ```
 */
export interface SetPolicyOptions {
  /** Write only if the stored revision is this one (0: only if there is none). */
  readonly expectedRevision?: number;
}

/**
 * Policy documents per layer.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 *
 * const layer = { kind: 'pool', tenant, pool: poolId('ward-3') } as const;
 * const p = await stores.policies.set(layer, { 'files.send': { enabled: false, locked: true } });
 * await stores.policies.set(layer, { 'files.send': { enabled: true, locked: true } }, { expectedRevision: p.revision });
 * ```
 */
export interface PolicyStore {
  /**
   * The document of `layer`, or `undefined` when none was written.
   *
   * @example
   * ```ts
   * const stored = await stores.policies.get({ kind: 'server' });
   * console.log(stored?.revision, stored?.document['files.send']?.enabled);
   * ```
   */
  get(layer: PolicyLayer): Promise<StoredPolicy | undefined>;
  /**
   * Writes a document; `ConflictError('policy.revision')` when `expectedRevision` does not match.
   *
   * @example
   * ```ts
   * const stored = await stores.policies.set({ kind: 'tenant', tenant }, { 'files.send': { enabled: false, locked: true } });
   * console.log(stored.revision); // 1 for the first write
   * ```
   */
  set(layer: PolicyLayer, document: PolicyDocument, options?: SetPolicyOptions): Promise<StoredPolicy>;
  /**
   * Deletes a document; `false` when absent.
   *
   * @example
   * ```ts
   * const removed = await stores.policies.delete({ kind: 'user', tenant, user }); // false when none was written
   * ```
   */
  delete(layer: PolicyLayer): Promise<boolean>;
  /**
   * The tenant's documents (tenant, pool, group and user layers), in a stable order.
   *
   * @example
   * ```ts
   * const { items, next } = await stores.policies.list(tenant, { limit: 100 });
   * for (const p of items) console.log(p.layer.kind, p.revision);
   * ```
   */
  list(tenant: TenantId, options?: ServerPageOptions): Promise<ServerPage<StoredPolicy>>;
}

const FEATURE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SERVER_PARTITION = new Uint8Array(0);

function checkLayer(value: unknown): PolicyLayer {
  const o = checkObject(value, 'layer');
  switch (o.kind) {
    case 'server':
      return { kind: 'server' };
    case 'tenant':
      return { kind: 'tenant', tenant: checkId(o.tenant, 'layer.tenant', tenantId) };
    case 'pool':
      return {
        kind: 'pool',
        tenant: checkId(o.tenant, 'layer.tenant', tenantId),
        pool: checkId(o.pool, 'layer.pool', poolId),
      };
    case 'group':
      return {
        kind: 'group',
        tenant: checkId(o.tenant, 'layer.tenant', tenantId),
        group: checkId(o.group, 'layer.group', groupId),
      };
    case 'user':
      return {
        kind: 'user',
        tenant: checkId(o.tenant, 'layer.tenant', tenantId),
        user: checkId(o.user, 'layer.user', userId),
      };
    default:
      throw new ValidationError('layer.kind', 'server, tenant, pool, group or user');
  }
}

/** Partition (the tenant, or empty for the server layer) and sort key of a layer. */
function address(layer: PolicyLayer): { partition: Uint8Array; sort: Uint8Array } {
  switch (layer.kind) {
    case 'server':
      return { partition: SERVER_PARTITION, sort: key('server') };
    case 'tenant':
      return { partition: key(layer.tenant), sort: key('tenant') };
    case 'pool':
      return { partition: key(layer.tenant), sort: key('pool', layer.pool) };
    case 'group':
      return { partition: key(layer.tenant), sort: key('group', layer.group) };
    case 'user':
      return { partition: key(layer.tenant), sort: key('user', layer.user) };
  }
}

function checkDocument(value: unknown): PolicyDocument {
  const o = checkObject(value, 'document');
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  if (entries.length > MAX_POLICY_FEATURES)
    throw new ValidationError('document', `at most ${MAX_POLICY_FEATURES} features`);
  const out: Record<string, PolicyFeature> = {};
  for (const [name, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!FEATURE.test(name)) throw new ValidationError('document', 'feature names of a-z 0-9 . _ - (1..64)');
    const f = checkObject(v, `document.${name}`);
    out[name] = {
      enabled: checkBool(f.enabled, `document.${name}.enabled`),
      locked: checkBool(f.locked, `document.${name}.locked`),
      ...(f.config === undefined ? {} : { config: checkJson(f.config, `document.${name}.config`) }),
    };
  }
  if (write(documentValue(out)).length > MAX_POLICY_BYTES) {
    throw new ValidationError('document', `at most ${MAX_POLICY_BYTES} bytes encoded`);
  }
  return out;
}

function documentValue(doc: PolicyDocument): RecordValue {
  const out: Record<string, RecordValue> = {};
  for (const [name, f] of Object.entries(doc)) {
    out[name] = {
      enabled: f.enabled,
      locked: f.locked,
      ...(f.config === undefined ? {} : { config: f.config }),
    };
  }
  return out;
}

function layerValue(layer: PolicyLayer): RecordValue {
  return { ...layer };
}

function policyFrom(r: Rec): StoredPolicy {
  let layer: PolicyLayer;
  let document: PolicyDocument;
  try {
    layer = checkLayer(r.obj('layer').data);
    document = checkDocument(r.obj('document').data);
  } catch (e) {
    if (e instanceof ValidationError) throw new DecodeError(r.path, 'invalid policy layer or document');
    throw e;
  }
  return { layer, document, revision: r.int('revision', 1), updatedAt: r.int('updatedAt') };
}

function parseCursor(after: string): unknown {
  try {
    return JSON.parse(after) as unknown;
  } catch {
    throw new ValidationError('after', 'a policy cursor');
  }
}

/**
 * Creates the policy store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const policies = createPolicyStore(adapterExecutor(adapter));
 * ```
 */
export function createPolicyStore(run: Executor): PolicyStore {
  return {
    async get(layer) {
      const a = address(checkLayer(layer));
      return run(
        async (tx) => {
          const r = await getRec(tx, T.policies, a.partition, a.sort);
          return r === undefined ? undefined : policyFrom(r);
        },
        { readOnly: true },
      );
    },

    async set(layer, document, options) {
      const l = checkLayer(layer);
      const a = address(l);
      const doc = checkDocument(document);
      const o = options === undefined ? {} : checkObject(options, 'options');
      const expected =
        o.expectedRevision === undefined
          ? undefined
          : checkInteger(o.expectedRevision, 'options.expectedRevision', 0, Number.MAX_SAFE_INTEGER);
      return run(async (tx) => {
        const before = await getRec(tx, T.policies, a.partition, a.sort, true);
        const revision = before === undefined ? 0 : before.int('revision', 1);
        if (expected !== undefined && expected !== revision) {
          throw new ConflictError('policy.revision', 'the policy changed since it was read');
        }
        const stored: StoredPolicy = { layer: l, document: doc, revision: revision + 1, updatedAt: tx.now };
        const value = write({
          layer: layerValue(l),
          document: documentValue(doc),
          revision: stored.revision,
          updatedAt: stored.updatedAt,
        });
        const ok = await tx.put(
          T.policies,
          { ...a, value },
          before === undefined ? { ifAbsent: true } : undefined,
        );
        if (!ok) throw new ConflictError('policy.revision', 'the policy changed since it was read');
        return stored;
      });
    },

    async delete(layer) {
      const a = address(checkLayer(layer));
      return run((tx) => tx.delete(T.policies, a.partition, a.sort));
    },

    async list(tenant, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const { after, limit } = checkPage(options);
      const afterSort = after === undefined ? undefined : address(checkLayer(parseCursor(after))).sort;
      return run(
        async (tx) => {
          const rows = await tx.list(T.policies, key(tid), {
            limit,
            ...(afterSort === undefined ? {} : { after: afterSort }),
          });
          const items = rows.map((row) => policyFrom(read(row.value, T.policies)));
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined
            ? { items, next: JSON.stringify(last.layer) }
            : { items };
        },
        { readOnly: true },
      );
    },
  };
}
