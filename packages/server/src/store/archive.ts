/**
 * The compliance archive: per tenant, the sealed copies clients make of each message for the
 * tenant's auditors (HPKE to the archive key, `spec/compliance-seal.md`). The server stores the
 * ciphertext as it came, with what it knows anyway: the tenant, the time it received the item
 * and its size. Items are ordered by receipt time (8 bytes, big-endian ms, then 8 random bytes)
 * and expire by the archive's own retention. Each item is counted in the tenant's archive usage
 * (`usage.ts`): the tenant quota covers the archive and the tenant's blobs together.
 *
 * @module
 */
import { type CryptoProvider, concatBytes, fromHex, toHex, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBytesIn,
  checkId,
  checkInteger,
  checkObject,
  checkPage,
  checkTime,
  key,
  read,
  readUint,
  T,
  u64,
  write,
} from './_util.js';
import type { ServerPage } from './common.js';
import { QuotaExceededError } from './errors.js';
import { createUsageLedger, type UsageLedger, type UsageScope, usageBucket } from './usage.js';

/**
 * Largest sealed archive item, in bytes (256 KiB; a sealed message is at most about 129 KiB).
 *
 * @example
 * ```ts
 * if (sealed.length > MAX_ARCHIVE_ITEM_BYTES) reply.code(413); // the store would refuse it
 * ```
 */
export const MAX_ARCHIVE_ITEM_BYTES = 256 * 1024;

/**
 * What {@link ArchiveStore.append} stores.
 *
 * @example
 * ```ts
 * const input: ArchiveInput = { sealed, expiresAt: Date.now() + 10 * 365 * 86_400_000 };
 * const item = await stores.archive.append(tenant, input);
 * ```
 */
export interface ArchiveInput {
  /** The sealed item, opaque to the server. */
  readonly sealed: Uint8Array;
  /** When the item expires under the archive's retention, or `null` for never. */
  readonly expiresAt: number | null;
}

/**
 * Options of {@link ArchiveStore.append}.
 *
 * @example
 * ```ts
 * const options: ArchiveAppendOptions = { tenantMaxBytes: 2 ** 40 }; // 1 TiB for blobs and archive together
 * await stores.archive.append(tenant, { sealed, expiresAt: null }, options);
 * ```
 */
export interface ArchiveAppendOptions {
  /**
   * The tenant quota: most bytes the tenant's blobs and archive items may take together. Past it
   * the item is refused with `QuotaExceededError('tenant.bytes')` before anything is written.
   */
  readonly tenantMaxBytes?: number;
}

/**
 * A stored archive item.
 *
 * @example
 * ```ts
 * const page = await stores.archive.list(tenant, { limit: 10 });
 * const item: ArchiveItem | undefined = page.items[0];
 * if (item !== undefined) console.log(item.id, new Date(item.receivedAt), item.size);
 * ```
 */
export interface ArchiveItem {
  /** The tenant whose archive holds the item. */
  readonly tenant: TenantId;
  /** Opaque id (also the listing cursor). */
  readonly id: string;
  /** When the server received it, ms since the epoch (the store's clock). */
  readonly receivedAt: number;
  /** Length of `sealed`, in bytes. */
  readonly size: number;
  /** The sealed item, as it came. */
  readonly sealed: Uint8Array;
  /** When the item expires, ms since the epoch, or `null` for never. */
  readonly expiresAt: number | null;
}

/**
 * Options of {@link ArchiveStore.list}.
 *
 * @example
 * ```ts
 * const options: ArchiveListOptions = { from: Date.parse('2026-01-01'), to: Date.parse('2026-02-01'), limit: 500 };
 * const page = await stores.archive.list(tenant, options);
 * ```
 */
export interface ArchiveListOptions {
  /** Received at or after this time (ms since the epoch). */
  readonly from?: number;
  /** Received before this time. */
  readonly to?: number;
  /** Continue after this item id (a previous page's `next`). */
  readonly after?: string;
  /** At most this many items (1..1000, default 100). */
  readonly limit?: number;
}

/**
 * The tenants' compliance archives.
 *
 * @example
 * ```ts
 * await stores.archive.append(tenant, { sealed, expiresAt: Date.now() + 10 * 365 * 86_400_000 });
 * const page = await stores.archive.list(tenant, { from: Date.parse('2026-01-01'), to: Date.parse('2026-02-01') });
 * ```
 */
export interface ArchiveStore {
  /**
   * Stores a sealed item and counts it in the tenant's archive usage; resolves it (with its id
   * and receipt time). With `options.tenantMaxBytes`, `QuotaExceededError('tenant.bytes')` when
   * the item would take the tenant past it (nothing written).
   *
   * @example
   * ```ts
   * const item = await stores.archive.append(tenant, { sealed, expiresAt: null }, { tenantMaxBytes: 2 ** 40 });
   * ```
   */
  append(tenant: TenantId, input: ArchiveInput, options?: ArchiveAppendOptions): Promise<ArchiveItem>;
  /**
   * Whether an item of `size` bytes fits under the tenant quota `tenantMaxBytes` now (what the
   * tenant's blobs and archive hold, plus `size`). Inside a transaction, an `append` with the same
   * quota right after it gives the same answer.
   *
   * @example
   * ```ts
   * const ok = await stores.archive.fits(tenant, sealed.length, 2 ** 40);
   * ```
   */
  fits(tenant: TenantId, size: number, tenantMaxBytes: number): Promise<boolean>;
  /**
   * Items received in `[from, to)`, in receipt order.
   *
   * @example
   * ```ts
   * const page = await stores.archive.list(tenant, { from: Date.parse('2026-01-01'), to: Date.parse('2026-02-01'), limit: 100 });
   * ```
   */
  list(tenant: TenantId, options?: ArchiveListOptions): Promise<ServerPage<ArchiveItem>>;
  /**
   * The item `id` of the tenant's archive, or `undefined`.
   *
   * @example
   * ```ts
   * const { id } = await stores.archive.append(tenant, { sealed, expiresAt: null });
   * const item = await stores.archive.get(tenant, id); // → the item, `sealed` as stored
   * ```
   */
  get(tenant: TenantId, id: string): Promise<ArchiveItem | undefined>;
  /**
   * Deletes one item (taking it off the tenant's archive usage); `false` when absent.
   *
   * @example
   * ```ts
   * const { items } = await stores.archive.list(tenant, { to: Date.parse('2019-01-01') });
   * for (const item of items) await stores.archive.delete(tenant, item.id); // frees item.size bytes of the tenant's usage
   * ```
   */
  delete(tenant: TenantId, id: string): Promise<boolean>;
}

const ID_BYTES = 16;

function checkItemId(id: unknown, field: string): Uint8Array {
  const bytes = fromHex(typeof id === 'string' ? id : '', field);
  if (bytes.length !== ID_BYTES) throw new ValidationError(field, 'an archive item id');
  return bytes;
}

function itemFrom(
  tenant: TenantId,
  sort: Uint8Array,
  value: Uint8Array,
  expiresAt: number | null,
): ArchiveItem {
  const r = read(value, T.archive);
  const sealed = r.bytes('sealed', 1, MAX_ARCHIVE_ITEM_BYTES);
  return { tenant, id: toHex(sort), receivedAt: r.int('receivedAt'), size: sealed.length, sealed, expiresAt };
}

const archiveScope = (tenant: TenantId): UsageScope => ({ kind: 'tenant-archive', tenant });

function checkQuota(value: unknown, field: string): number {
  return checkInteger(value, field, 0, Number.MAX_SAFE_INTEGER);
}

/** Whether `size` more bytes keep the tenant's blobs and archive within `quota`. */
async function fitsIn(
  tx: StorageTx,
  ledger: UsageLedger,
  tenant: TenantId,
  size: number,
  quota: number,
): Promise<boolean> {
  const blobs = await ledger.read(tx, { kind: 'tenant-blobs', tenant });
  const archive = await ledger.read(tx, archiveScope(tenant));
  return blobs.bytes + archive.bytes + size <= quota;
}

/**
 * Creates the archive store over `run`; `provider` supplies the random tie-breakers.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const archive = createArchiveStore(adapterExecutor(adapter), provider);
 * ```
 */
export function createArchiveStore(run: Executor, provider: CryptoProvider): ArchiveStore {
  const ledger = createUsageLedger(provider);
  return {
    async append(tenant, input, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const i = checkObject(input, 'input');
      const sealed = checkBytesIn(i.sealed, 'sealed', 1, MAX_ARCHIVE_ITEM_BYTES).slice();
      const expiresAt = i.expiresAt === null ? null : checkTime(i.expiresAt, 'expiresAt');
      const o = options === undefined ? {} : checkObject(options, 'options');
      const quota =
        o.tenantMaxBytes === undefined ? undefined : checkQuota(o.tenantMaxBytes, 'options.tenantMaxBytes');
      return run(async (tx) => {
        if (expiresAt !== null && expiresAt <= tx.now)
          throw new ValidationError('expiresAt', 'a time after now');
        if (quota !== undefined && !(await fitsIn(tx, ledger, tid, sealed.length, quota)))
          throw new QuotaExceededError('tenant.bytes');
        const sort = concatBytes(u64(tx.now), provider.randomBytes(8));
        await tx.put(T.archive, {
          partition: key(tid),
          sort,
          value: write({ sealed, receivedAt: tx.now, size: sealed.length, counted: true }),
          expiresAt,
        });
        await ledger.add(tx, archiveScope(tid), expiresAt, { bytes: sealed.length, count: 1 });
        return { tenant: tid, id: toHex(sort), receivedAt: tx.now, size: sealed.length, sealed, expiresAt };
      });
    },

    async fits(tenant, size, tenantMaxBytes) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const bytes = checkInteger(size, 'size', 0, Number.MAX_SAFE_INTEGER);
      const quota = checkQuota(tenantMaxBytes, 'tenantMaxBytes');
      return run((tx) => fitsIn(tx, ledger, tid, bytes, quota), { readOnly: true });
    },

    async list(tenant, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const o = options === undefined ? {} : checkObject(options, 'options');
      const { limit } = checkPage({ ...(o.limit === undefined ? {} : { limit: o.limit as number }) });
      const from = o.from === undefined ? 0 : checkTime(o.from, 'from');
      const to = o.to === undefined ? Number.MAX_SAFE_INTEGER : checkTime(o.to, 'to');
      const afterId = o.after === undefined ? undefined : checkItemId(o.after, 'after');
      // Start after the cursor, or just before the first possible key at `from`.
      const start = from === 0 ? undefined : concatBytes(u64(from - 1), new Uint8Array(8).fill(0xff));
      let after = afterId;
      if (start !== undefined && (after === undefined || readUint(after, 0, 8) < from)) after = start;
      return run(
        async (tx) => {
          const rows = await tx.list(T.archive, key(tid), {
            limit,
            ...(after === undefined ? {} : { after }),
          });
          const items = rows
            .filter((row) => readUint(row.sort, 0, 8) < to)
            .map((row) => itemFrom(tid, row.sort, row.value, row.expiresAt));
          const last = items[items.length - 1];
          return items.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },

    async get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const sort = checkItemId(id, 'id');
      return run(
        async (tx) => {
          const row = await tx.get(T.archive, key(tid), sort);
          return row === undefined ? undefined : itemFrom(tid, sort, row.value, row.expiresAt);
        },
        { readOnly: true },
      );
    },

    async delete(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const sort = checkItemId(id, 'id');
      return run(async (tx) => {
        const row = await tx.get(T.archive, key(tid), sort, { forUpdate: true });
        if (row === undefined) return tx.delete(T.archive, key(tid), sort);
        const r = read(row.value, T.archive);
        await tx.delete(T.archive, key(tid), sort);
        // Items stored before the ledger existed were never counted.
        if (r.has('counted')) {
          const scope = archiveScope(tid);
          const size = r.bytes('sealed', 1, MAX_ARCHIVE_ITEM_BYTES).length;
          await ledger.subtract(tx, scope, usageBucket(scope, row.expiresAt), { bytes: size, count: 1 });
        }
        return true;
      });
    },
  };
}
