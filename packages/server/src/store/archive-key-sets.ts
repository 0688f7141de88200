/**
 * The registry of each tenant's archive key sets (`spec/archive-server.md` §1): the archive public
 * key the auditors made at their key ceremony, its fingerprint, the k-of-n threshold and, per
 * holder, the share of the private key wrapped to that auditor. The server cannot open a share;
 * it keeps them so that each auditor can fetch their own, and checks only lengths and uniqueness.
 * Rows of `s_archive_key_sets`: partition the tenant, sort the set id (32 hex characters: 16 bytes).
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import { checkBytesIn, checkId, checkInteger, checkText, key, read, T, write } from './_util.js';
import { ConflictError, NotFoundError } from './errors.js';

/**
 * Most key sets one tenant may register (100).
 *
 * @example
 * ```ts
 * if ((await stores.archiveKeySets.list(tenant)).length >= MAX_ARCHIVE_KEY_SETS) console.warn('full');
 * ```
 */
export const MAX_ARCHIVE_KEY_SETS = 100;

/**
 * Largest wrapped share the registry keeps, in bytes (4096).
 *
 * @example
 * ```ts
 * const share = new Uint8Array(200); // a wrapped share
 * if (share.length > MAX_ARCHIVE_SHARE_BYTES) throw new RangeError('share too large');
 * ```
 */
export const MAX_ARCHIVE_SHARE_BYTES = 4096;

/**
 * One holder's wrapped share.
 *
 * @example
 * ```ts
 * const holder: ArchiveShareHolder = { holder: 'auditor-1', share: new Uint8Array(200) };
 * ```
 */
export interface ArchiveShareHolder {
  /** The holder's name (1..255 characters, distinct within the set). */
  readonly holder: string;
  /** The share wrapped to the holder (1..4096 bytes), opaque to the server. */
  readonly share: Uint8Array;
}

/**
 * A registered archive key set.
 *
 * @example
 * ```ts
 * const set: ArchiveKeySet | undefined = await stores.archiveKeySets.get(tenant, '0123456789abcdef0123456789abcdef');
 * if (set !== undefined) console.log(set.fingerprint, `${set.threshold} of ${set.holders.length}`);
 * ```
 */
export interface ArchiveKeySet {
  /** The tenant. */
  readonly tenant: TenantId;
  /** The share set id every share carries (32 lower-case hex characters: 16 bytes). */
  readonly id: string;
  /** The archive X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Its fingerprint (`cloister-archive:v1:…`). */
  readonly fingerprint: string;
  /** How many shares open the key (2..16, at most the number of holders). */
  readonly threshold: number;
  /** The holders and their wrapped shares (2..16). */
  readonly holders: readonly ArchiveShareHolder[];
  /** A label (1..128 characters), or `null`. */
  readonly label: string | null;
  /** When it was registered, ms. */
  readonly createdAt: number;
  /** The administrator who registered it. */
  readonly createdBy: string;
}

/**
 * The tenants' archive key sets.
 *
 * @example
 * ```ts
 * const sets = await stores.archiveKeySets.list(tenant);
 * for (const set of sets) console.log(set.id, set.fingerprint);
 * ```
 */
export interface ArchiveKeySetStore {
  /**
   * Registers a key set. `ConflictError('archive.key-set')` when the id is taken,
   * `ConflictError('archive.key-sets')` past {@link MAX_ARCHIVE_KEY_SETS}; `ValidationError` for
   * a malformed set (lengths, threshold, duplicate holders).
   *
   * @example
   * ```ts
   * const holders = [
   *   { holder: 'dpo', share: new Uint8Array(200) },
   *   { holder: 'internal-audit', share: new Uint8Array(200) },
   * ];
   * const publicKey = new Uint8Array(32);
   * const fingerprint = 'cloister-archive:v1:…';
   * await stores.archiveKeySets.create({ tenant, id: '0123456789abcdef0123456789abcdef', publicKey, fingerprint, threshold: 2, holders, label: null, createdAt: Date.now(), createdBy: admin.id });
   * ```
   */
  create(set: ArchiveKeySet): Promise<void>;
  /**
   * The key set `id` of the tenant, or `undefined`.
   *
   * @example
   * ```ts
   * const set = await stores.archiveKeySets.get(tenant, '0123456789abcdef0123456789abcdef');
   * ```
   */
  get(tenant: TenantId, id: string): Promise<ArchiveKeySet | undefined>;
  /**
   * The tenant's key sets, oldest first.
   *
   * @example
   * ```ts
   * const sets = await stores.archiveKeySets.list(tenant);
   * ```
   */
  list(tenant: TenantId): Promise<ArchiveKeySet[]>;
}

const SET_ID = /^[0-9a-f]{32}$/;

/**
 * Checks a key set's form (what the server can check: lengths, ranges, distinct holders).
 *
 * @example
 * ```ts
 * const set = await stores.archiveKeySets.get(tenant, '0123456789abcdef0123456789abcdef');
 * if (set !== undefined) checkArchiveKeySet(set); // throws ValidationError naming the field
 * ```
 */
export function checkArchiveKeySet(set: ArchiveKeySet): ArchiveKeySet {
  checkId(set.tenant, 'tenant', tenantId);
  if (typeof set.id !== 'string' || !SET_ID.test(set.id))
    throw new ValidationError('id', '32 hex characters');
  checkBytesIn(set.publicKey, 'publicKey', 32, 32);
  checkText(set.fingerprint, 'fingerprint', 128);
  const n = Array.isArray(set.holders) ? set.holders.length : 0;
  if (n < 2 || n > 16) throw new ValidationError('holders', '2..16 holders');
  checkInteger(set.threshold, 'threshold', 2, n);
  const names = new Set<string>();
  set.holders.forEach((h, i) => {
    checkText(h.holder, `holders[${i}].holder`, 255);
    checkBytesIn(h.share, `holders[${i}].share`, 1, MAX_ARCHIVE_SHARE_BYTES);
    if (names.has(h.holder)) throw new ValidationError('holders', 'distinct holders');
    names.add(h.holder);
  });
  if (set.label !== null) checkText(set.label, 'label', 128);
  checkInteger(set.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
  checkText(set.createdBy, 'createdBy', 128);
  return set;
}

function decode(tenant: TenantId, bytes: Uint8Array): ArchiveKeySet {
  const r = read(bytes, T.archiveKeySets);
  return {
    tenant,
    id: r.str('id', 32),
    publicKey: r.bytes('publicKey', 32, 32),
    fingerprint: r.str('fingerprint', 128),
    threshold: r.int('threshold', 2, 16),
    holders: r.arr('holders').map((h, i) => {
      const o = h as Record<string, unknown>;
      if (typeof o?.holder !== 'string' || !(o.share instanceof Uint8Array))
        throw new DecodeError(`${T.archiveKeySets}.holders[${i}]`, 'expected a holder');
      return { holder: o.holder, share: o.share };
    }),
    label: r.has('label') ? r.str('label', 128) : null,
    createdAt: r.int('createdAt'),
    createdBy: r.str('createdBy', 128),
  };
}

/**
 * Creates the key-set store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const keySets = createArchiveKeySetStore(adapterExecutor(adapter));
 * ```
 */
export function createArchiveKeySetStore(run: Executor): ArchiveKeySetStore {
  return {
    async create(set) {
      const s = checkArchiveKeySet(set);
      await run(async (tx) => {
        const all = await tx.list(T.archiveKeySets, key(s.tenant), { limit: MAX_ARCHIVE_KEY_SETS + 1 });
        if (all.length >= MAX_ARCHIVE_KEY_SETS)
          throw new ConflictError('archive.key-sets', 'too many key sets');
        const value = write({
          id: s.id,
          publicKey: s.publicKey,
          fingerprint: s.fingerprint,
          threshold: s.threshold,
          holders: s.holders.map((h) => ({ holder: h.holder, share: h.share })),
          label: s.label,
          createdAt: s.createdAt,
          createdBy: s.createdBy,
        });
        const row = { partition: key(s.tenant), sort: key(s.id), value };
        if (!(await tx.put(T.archiveKeySets, row, { ifAbsent: true })))
          throw new ConflictError('archive.key-set', 'this key set id is taken');
      });
    },
    async get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      if (typeof id !== 'string' || !SET_ID.test(id)) throw new NotFoundError('archive key set');
      return run(
        async (tx) => {
          const row = await tx.get(T.archiveKeySets, key(tid), key(id));
          return row === undefined ? undefined : decode(tid, row.value);
        },
        { readOnly: true },
      );
    },
    async list(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const rows = await run((tx) => tx.list(T.archiveKeySets, key(tid), { limit: MAX_ARCHIVE_KEY_SETS }), {
        readOnly: true,
      });
      return rows
        .map((row) => decode(tid, row.value))
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
  };
}
