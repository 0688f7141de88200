/**
 * The compliance archive: per tenant, the sealed copies clients make of each message for the
 * tenant's auditors (HPKE to the archive key, `spec/compliance-seal.md`). The server stores the
 * seal as it came, with what it knows anyway: the tenant, the time it received the item, its size,
 * the delivery it was filed with, and its per-tenant filing sequence number (1, 2, 3, … claimed
 * in the filing transaction, so that auditors see gaps). Items are ordered by receipt time (8 bytes,
 * big-endian ms, then 8 random bytes) and expire by the archive's own retention. Each item is
 * counted in the tenant's archive usage (`usage.ts`): the tenant quota covers the archive and the
 * tenant's blobs together.
 *
 * At rest, a seal that expires is stored encrypted under a crypto-shredding keyring of the tenant's
 * archive (`spec/retention.md` §7, table `s_archive_keys`, scope the tenant id, one key per period,
 * default one day): when its period ends the key is destroyed, and every copy of the row (a backup,
 * a replica) is noise. Rows stored before this (the seal in plain) stay readable. While the tenant
 * is under a legal hold ({@link ArchiveStore.hold}), nothing of its archive expires: the item rows
 * and the keyring's key rows have their expiry cleared (each item keeps the expiry it had), and
 * {@link ArchiveStore.release} puts it back (`spec/retention.md` §8, `spec/archive-server.md`).
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  DecryptionFailed,
  fromHex,
  StorageError,
  toHex,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import {
  createShreddingKeyring,
  type Executor,
  MAX_SHRED_PERIOD_MS,
  MIN_SHRED_PERIOD_MS,
  type RecordValue,
  SHRED_OVERHEAD,
  ShreddedError,
  type ShreddingKeyring,
  type StorageAdapter,
  type StorageTx,
} from '@cloister/storage';
import {
  checkBytesIn,
  checkId,
  checkInteger,
  checkObject,
  checkPage,
  checkTime,
  getRec,
  key,
  NO_SORT,
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
 * The label of the associated data that binds an item's shredded ciphertext to its tenant and id
 * (`cloister/server/v1/archive-item`): a row moved to another tenant or id does not open.
 *
 * @example
 * ```ts
 * console.log(ARCHIVE_ITEM_LABEL); // 'cloister/server/v1/archive-item'
 * ```
 */
export const ARCHIVE_ITEM_LABEL = 'cloister/server/v1/archive-item';

/**
 * The default period of the archive's shredding keyring: one day. An item stays readable at most
 * one period past its expiry (its key is destroyed at the end of the period its expiry falls in).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const archive = createArchiveStore(adapterExecutor(adapter), provider, { shredPeriodMs: DEFAULT_ARCHIVE_SHRED_PERIOD_MS });
 * ```
 */
export const DEFAULT_ARCHIVE_SHRED_PERIOD_MS = 86_400_000;

/**
 * Length of the delivery id an item may carry (16 bytes, the `messageId` of the delivery the seal
 * travelled with).
 *
 * @example
 * ```ts
 * const input: ArchiveInput = { sealed, expiresAt: null, deliveryId: new Uint8Array(ARCHIVE_DELIVERY_ID_BYTES) };
 * ```
 */
export const ARCHIVE_DELIVERY_ID_BYTES = 16;

/**
 * What {@link ArchiveStore.append} stores.
 *
 * @example
 * ```ts
 * const deliveryId = new Uint8Array(16); // the messageId of the delivery the seal came with
 * const input: ArchiveInput = { sealed, expiresAt: Date.now() + 10 * 365 * 86_400_000, deliveryId };
 * const item = await stores.archive.append(tenant, input);
 * ```
 */
export interface ArchiveInput {
  /** The sealed item, opaque to the server. */
  readonly sealed: Uint8Array;
  /** When the item expires under the archive's retention, or `null` for never. */
  readonly expiresAt: number | null;
  /** The id of the delivery the seal was filed with (16 bytes), if any. */
  readonly deliveryId?: Uint8Array;
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
 * if (item !== undefined) console.log(item.id, item.seq, new Date(item.receivedAt), item.size);
 * ```
 */
export interface ArchiveItem {
  /** The tenant whose archive holds the item. */
  readonly tenant: TenantId;
  /** Opaque id (also the listing cursor). */
  readonly id: string;
  /** The tenant's filing sequence number (from 1), or `null` for items filed before numbering. */
  readonly seq: number | null;
  /** When the server received it, ms since the epoch (the store's clock). */
  readonly receivedAt: number;
  /** The delivery it was filed with (16 bytes), or `null` (none given, or filed before). */
  readonly deliveryId: Uint8Array | null;
  /** Length of `sealed`, in bytes. */
  readonly size: number;
  /** The sealed item, as it came. */
  readonly sealed: Uint8Array;
  /** When the item expires, ms since the epoch, or `null` for never (or while a legal hold freezes it). */
  readonly expiresAt: number | null;
  /** While a legal hold freezes the item: the expiry it had, restored when the hold is lifted; else `null`. */
  readonly heldExpiresAt: number | null;
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
 * The archive's own state for a tenant.
 *
 * @example
 * ```ts
 * const { lastSeq, held }: ArchiveState = await stores.archive.state(tenant);
 * ```
 */
export interface ArchiveState {
  /** The last filing sequence number claimed (0: none yet). */
  readonly lastSeq: number;
  /** Whether a legal hold freezes the archive's expiry. */
  readonly held: boolean;
}

/**
 * What {@link ArchiveStore.release} did.
 *
 * @example
 * ```ts
 * const { restored, deleted }: ArchiveRelease = await stores.archive.release(tenant);
 * ```
 */
export interface ArchiveRelease {
  /** Items whose expiry was put back (still before it). */
  readonly restored: number;
  /** Items already past their expiry, deleted. */
  readonly deleted: number;
}

/**
 * Options of {@link createArchiveStore}.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const options: ArchiveStoreOptions = { shredPeriodMs: 3_600_000 }; // one key per hour
 * const archive = createArchiveStore(adapterExecutor(adapter), provider, options);
 * ```
 */
export interface ArchiveStoreOptions {
  /** Period of the shredding keyring in ms (1 s..10 years; default {@link DEFAULT_ARCHIVE_SHRED_PERIOD_MS}). */
  readonly shredPeriodMs?: number;
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
   * Stores a sealed item with the tenant's next sequence number and counts it in the tenant's
   * archive usage; resolves it (with its id, sequence number and receipt time). An item that
   * expires is stored under the tenant's shredding keyring; while the tenant is held, its expiry
   * is kept aside (`heldExpiresAt`) and it does not expire. With `options.tenantMaxBytes`,
   * `QuotaExceededError('tenant.bytes')` when the item would take the tenant past it (nothing written).
   *
   * @example
   * ```ts
   * const deliveryId = new Uint8Array(16);
   * const item = await stores.archive.append(tenant, { sealed, expiresAt: null, deliveryId }, { tenantMaxBytes: 2 ** 40 });
   * console.log(item.seq); // 1, 2, 3, …
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
   * Items received in `[from, to)`, in receipt order (then id). Expired and shredded items are not
   * listed, nor rows that do not decode or open (altered or moved: a gap in the sequence numbers).
   *
   * @example
   * ```ts
   * const page = await stores.archive.list(tenant, { from: Date.parse('2026-01-01'), to: Date.parse('2026-02-01'), limit: 100 });
   * ```
   */
  list(tenant: TenantId, options?: ArchiveListOptions): Promise<ServerPage<ArchiveItem>>;
  /**
   * The item `id` of the tenant's archive, or `undefined` (absent, expired or shredded);
   * `DecodeError` for a row that does not decode or open (altered, or moved from another tenant or id).
   *
   * @example
   * ```ts
   * const { id } = await stores.archive.append(tenant, { sealed, expiresAt: null });
   * const item = await stores.archive.get(tenant, id); // → the item, `sealed` as filed
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
  /**
   * The tenant's last filing sequence number and whether its archive is held.
   *
   * @example
   * ```ts
   * const { lastSeq, held } = await stores.archive.state(tenant);
   * ```
   */
  state(tenant: TenantId): Promise<ArchiveState>;
  /**
   * Freezes the tenant's archive for a legal hold: from the commit on nothing of it expires or is
   * shredded (item rows and the keyring's live key rows lose their expiry; each item keeps its own
   * in `heldExpiresAt`), and items filed later are frozen as they are filed. Resolves how many
   * items were frozen (0 when the archive was already held). One transaction; its work grows with
   * the archive's size.
   *
   * @example
   * ```ts
   * await stores.transaction(async (s) => {
   *   await s.archive.hold(tenant);
   *   await s.audit.append(tenant, { actor: admin.id, action: 'legal-hold.create', target: tenant, outcome: 'success' });
   * });
   * ```
   */
  hold(tenant: TenantId): Promise<number>;
  /**
   * Ends the freeze ({@link ArchiveStore.hold}): each frozen item gets its expiry back, items
   * already past it are deleted, and the keyring's key rows expire again at their period's end
   * (those whose period has ended are deleted: their items are gone). Nothing when not held.
   *
   * @example
   * ```ts
   * const { restored, deleted } = await stores.archive.release(tenant);
   * ```
   */
  release(tenant: TenantId): Promise<ArchiveRelease>;
}

const ID_BYTES = 16;
const PAGE = 500;

function checkItemId(id: unknown, field: string): Uint8Array {
  const bytes = fromHex(typeof id === 'string' ? id : '', field);
  if (bytes.length !== ID_BYTES) throw new ValidationError(field, 'an archive item id');
  return bytes;
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

/** An adapter view of an open transaction, for the keyring (its `transaction` runs in `tx`). */
function txAdapter(tx: StorageTx): StorageAdapter {
  const refuse = () => Promise.reject(new StorageError('inside an archive transaction'));
  return {
    kind: 'archive-tx',
    now: () => tx.now,
    transaction: (fn) => fn(tx),
    purgeExpired: refuse,
    close: refuse,
  };
}

/** The associated data of an item's ciphertext: label, tenant, item id. */
function itemAad(tenant: TenantId, sort: Uint8Array): Uint8Array {
  const t = utf8(tenant);
  return concatBytes(utf8(ARCHIVE_ITEM_LABEL), uintBE(t.length, 2), t, sort);
}

/** The head row: the last sequence number claimed and whether the archive is held. */
interface Head {
  readonly seq: number;
  readonly held: boolean;
}

async function readHead(tx: StorageTx, tid: TenantId, forUpdate: boolean): Promise<Head | undefined> {
  const r = await getRec(tx, T.archiveHead, key(tid), NO_SORT, forUpdate);
  return r === undefined ? undefined : { seq: r.int('seq'), held: r.has('held') && r.bool('held') };
}

/**
 * Locks the tenant's head row (creating it when absent: an insert holds its row until commit; a
 * create lost to another transaction means the row exists now, so it is read and locked).
 */
async function lockHead(tx: StorageTx, tid: TenantId): Promise<Head> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const head = await readHead(tx, tid, true);
    if (head !== undefined) return head;
    const fresh = { seq: 0, held: false };
    if (
      await tx.put(
        T.archiveHead,
        { partition: key(tid), sort: NO_SORT, value: write(fresh) },
        { ifAbsent: true },
      )
    )
      return fresh;
  }
  throw new StorageError('archive: could not lock the sequence head');
}

const writeHead = (tx: StorageTx, tid: TenantId, head: Head) =>
  tx.put(T.archiveHead, {
    partition: key(tid),
    sort: NO_SORT,
    value: write({ seq: head.seq, held: head.held }),
  });

/** Every row of a partition, page by page (the callback may rewrite or delete the row it gets). */
async function eachRow(
  tx: StorageTx,
  table: string,
  partition: Uint8Array,
  fn: (row: { sort: Uint8Array; value: Uint8Array; expiresAt: number | null }) => Promise<void>,
): Promise<void> {
  let after: Uint8Array | undefined;
  for (;;) {
    const rows = await tx.list(table, partition, { limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const row of rows) await fn(row);
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < PAGE) return;
    after = last.sort;
  }
}

/**
 * Creates the archive store over `run`; `provider` supplies the random tie-breakers and the
 * shredding keyring's cryptography.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const archive = createArchiveStore(adapterExecutor(adapter), provider, { shredPeriodMs: 86_400_000 });
 * ```
 */
export function createArchiveStore(
  run: Executor,
  provider: CryptoProvider,
  options: ArchiveStoreOptions = {},
): ArchiveStore {
  const ledger = createUsageLedger(provider);
  const periodMs = options.shredPeriodMs ?? DEFAULT_ARCHIVE_SHRED_PERIOD_MS;
  const keyringOf = (tx: StorageTx, tid: TenantId): ShreddingKeyring =>
    createShreddingKeyring({ adapter: txAdapter(tx), provider, periodMs, table: T.archiveKeys, scope: tid });
  checkInteger(periodMs, 'shredPeriodMs', MIN_SHRED_PERIOD_MS, MAX_SHRED_PERIOD_MS);

  /** Decodes (and, for a shredded-at-rest row, opens) an item; `undefined` when its key is gone. */
  async function itemOf(
    tx: StorageTx,
    tid: TenantId,
    sort: Uint8Array,
    value: Uint8Array,
    expiresAt: number | null,
  ): Promise<ArchiveItem | undefined> {
    const r = read(value, T.archive);
    let sealed: Uint8Array;
    if (r.has('box')) {
      const box = r.bytes('box', 1 + SHRED_OVERHEAD, MAX_ARCHIVE_ITEM_BYTES + SHRED_OVERHEAD);
      try {
        sealed = await keyringOf(tx, tid).open(box, { aad: itemAad(tid, sort) });
      } catch (error) {
        if (error instanceof ShreddedError) return undefined;
        if (error instanceof DecryptionFailed) throw new DecodeError(T.archive, 'an item that does not open');
        throw error;
      }
    } else sealed = r.bytes('sealed', 1, MAX_ARCHIVE_ITEM_BYTES);
    return {
      tenant: tid,
      id: toHex(sort),
      seq: r.has('seq') ? r.int('seq', 1) : null,
      receivedAt: r.int('receivedAt'),
      deliveryId: r.has('deliveryId')
        ? r.bytes('deliveryId', ARCHIVE_DELIVERY_ID_BYTES, ARCHIVE_DELIVERY_ID_BYTES)
        : null,
      size: sealed.length,
      sealed,
      expiresAt,
      heldExpiresAt: r.has('heldExpiresAt') ? r.int('heldExpiresAt') : null,
    };
  }

  /**
   * Usage moves of many items (a hold's freeze or release), applied once per bucket: each item
   * leaves the bucket of `from` and joins that of `to` (none when it is deleted).
   */
  function usageMoves(tid: TenantId) {
    const scope = archiveScope(tid);
    const out = new Map<number, { bytes: number; count: number }>();
    const into = new Map<number, { expiresAt: number | null; bytes: number; count: number }>();
    return {
      move(from: number | null, to: number | null | undefined, size: number) {
        const fb = usageBucket(scope, from);
        const o = out.get(fb) ?? { bytes: 0, count: 0 };
        out.set(fb, { bytes: o.bytes + size, count: o.count + 1 });
        if (to === undefined) return;
        const tb = usageBucket(scope, to);
        const i = into.get(tb) ?? { expiresAt: to, bytes: 0, count: 0 };
        into.set(tb, { expiresAt: i.expiresAt, bytes: i.bytes + size, count: i.count + 1 });
      },
      async apply(tx: StorageTx) {
        for (const [bucket, d] of out) await ledger.subtract(tx, scope, bucket, d);
        for (const d of into.values())
          await ledger.add(tx, scope, d.expiresAt, { bytes: d.bytes, count: d.count });
      },
    };
  }

  return {
    async append(tenant, input, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const i = checkObject(input, 'input');
      const sealed = new Uint8Array(checkBytesIn(i.sealed, 'sealed', 1, MAX_ARCHIVE_ITEM_BYTES));
      const expiresAt = i.expiresAt === null ? null : checkTime(i.expiresAt, 'expiresAt');
      const deliveryId =
        i.deliveryId === undefined
          ? undefined
          : new Uint8Array(
              checkBytesIn(i.deliveryId, 'deliveryId', ARCHIVE_DELIVERY_ID_BYTES, ARCHIVE_DELIVERY_ID_BYTES),
            );
      const o = options === undefined ? {} : checkObject(options, 'options');
      const quota =
        o.tenantMaxBytes === undefined ? undefined : checkQuota(o.tenantMaxBytes, 'options.tenantMaxBytes');
      return run(async (tx) => {
        if (expiresAt !== null && expiresAt <= tx.now)
          throw new ValidationError('expiresAt', 'a time after now');
        if (quota !== undefined && !(await fitsIn(tx, ledger, tid, sealed.length, quota)))
          throw new QuotaExceededError('tenant.bytes');
        // The sequence number is claimed under the head row's lock: filings of a tenant take
        // consecutive numbers, and a hold's freeze and a filing never interleave.
        const head = await lockHead(tx, tid);
        const seq = head.seq + 1;
        await writeHead(tx, tid, { seq, held: head.held });
        const sort = concatBytes(u64(tx.now), provider.randomBytes(8));
        const record: Record<string, RecordValue> = {
          receivedAt: tx.now,
          size: sealed.length,
          counted: true,
          seq,
          ...(deliveryId === undefined ? {} : { deliveryId }),
        };
        if (expiresAt === null) record.sealed = sealed;
        else {
          const keyring = keyringOf(tx, tid);
          record.box = await keyring.seal(sealed, { expiresAt, aad: itemAad(tid, sort) });
          if (head.held) {
            record.heldExpiresAt = expiresAt;
            await pinKey(tx, tid, keyring.periodEnd(expiresAt));
          }
        }
        const rowExpiresAt = head.held ? null : expiresAt;
        await tx.put(T.archive, { partition: key(tid), sort, value: write(record), expiresAt: rowExpiresAt });
        await ledger.add(tx, archiveScope(tid), rowExpiresAt, { bytes: sealed.length, count: 1 });
        return {
          tenant: tid,
          id: toHex(sort),
          seq,
          receivedAt: tx.now,
          deliveryId: deliveryId ?? null,
          size: sealed.length,
          sealed,
          expiresAt: rowExpiresAt,
          heldExpiresAt: head.held ? expiresAt : null,
        };
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
          const inRange = rows.filter((row) => readUint(row.sort, 0, 8) < to);
          const items: ArchiveItem[] = [];
          for (const row of inRange) {
            // A row that does not decode or open (altered, moved) is left out like a deleted one:
            // the auditor sees a gap in the sequence numbers, and one bad row blocks no read.
            const item = await itemOf(tx, tid, row.sort, row.value, row.expiresAt).catch((error: unknown) => {
              if (error instanceof DecodeError) return undefined;
              throw error;
            });
            if (item !== undefined) items.push(item);
          }
          const last = inRange[inRange.length - 1];
          return inRange.length === limit && last !== undefined
            ? { items, next: toHex(last.sort) }
            : { items };
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
          return row === undefined ? undefined : itemOf(tx, tid, sort, row.value, row.expiresAt);
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
          const size = r.has('box')
            ? r.int('size', 1, MAX_ARCHIVE_ITEM_BYTES)
            : r.bytes('sealed', 1, MAX_ARCHIVE_ITEM_BYTES).length;
          await ledger.subtract(tx, scope, usageBucket(scope, row.expiresAt), { bytes: size, count: 1 });
        }
        return true;
      });
    },

    async state(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx) => {
          const head = await readHead(tx, tid, false);
          return { lastSeq: head?.seq ?? 0, held: head?.held ?? false };
        },
        { readOnly: true },
      );
    },

    async hold(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(async (tx) => {
        const head = await lockHead(tx, tid);
        if (head.held) return 0;
        await writeHead(tx, tid, { seq: head.seq, held: true });
        // The live period keys first: none of them is destroyed while the hold lasts.
        await eachRow(tx, T.archiveKeys, utf8(tid), async (row) => {
          if (row.expiresAt !== null) await pinKey(tx, tid, readUint(row.sort, 0, 8));
        });
        let frozen = 0;
        const moves = usageMoves(tid);
        await eachRow(tx, T.archive, key(tid), async (row) => {
          if (row.expiresAt === null) return;
          const r = read(row.value, T.archive);
          const data = { ...(r.data as Record<string, RecordValue>), heldExpiresAt: row.expiresAt };
          await tx.put(T.archive, {
            partition: key(tid),
            sort: row.sort,
            value: write(data),
            expiresAt: null,
          });
          if (r.has('counted')) moves.move(row.expiresAt, null, sizeOf(r));
          frozen++;
        });
        await moves.apply(tx);
        return frozen;
      });
    },

    async release(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(async (tx) => {
        const head = await lockHead(tx, tid);
        if (!head.held) return { restored: 0, deleted: 0 };
        await writeHead(tx, tid, { seq: head.seq, held: false });
        let restored = 0;
        let deleted = 0;
        const moves = usageMoves(tid);
        await eachRow(tx, T.archive, key(tid), async (row) => {
          const r = read(row.value, T.archive);
          if (row.expiresAt !== null || !r.has('heldExpiresAt')) return;
          const expiresAt = r.int('heldExpiresAt');
          const { heldExpiresAt: _, ...rest } = r.data as Record<string, RecordValue>;
          const counted = r.has('counted');
          if (expiresAt <= tx.now) {
            await tx.delete(T.archive, key(tid), row.sort);
            if (counted) moves.move(null, undefined, sizeOf(r));
            deleted++;
          } else {
            await tx.put(T.archive, { partition: key(tid), sort: row.sort, value: write(rest), expiresAt });
            if (counted) moves.move(null, expiresAt, sizeOf(r));
            restored++;
          }
        });
        await moves.apply(tx);
        // Every key row expires again at its period's end; an ended period's key goes now.
        await eachRow(tx, T.archiveKeys, utf8(tid), async (row) => {
          if (row.expiresAt !== null) return;
          const end = readUint(row.sort, 0, 8);
          if (end <= tx.now) await tx.delete(T.archiveKeys, utf8(tid), row.sort);
          else
            await tx.put(T.archiveKeys, {
              partition: utf8(tid),
              sort: row.sort,
              value: row.value,
              expiresAt: end,
            });
        });
        return { restored, deleted };
      });
    },
  };
}

/** The seal's size of a decoded item record. */
function sizeOf(r: ReturnType<typeof read>): number {
  return r.has('box')
    ? r.int('size', 1, MAX_ARCHIVE_ITEM_BYTES)
    : r.bytes('sealed', 1, MAX_ARCHIVE_ITEM_BYTES).length;
}

/** Clears the expiry of the tenant's key of the period ending at `end` (it is then never destroyed). */
async function pinKey(tx: StorageTx, tid: TenantId, end: number): Promise<void> {
  const partition = utf8(tid);
  const sort = u64(end);
  const row = await tx.get(T.archiveKeys, partition, sort, { forUpdate: true });
  if (row === undefined || row.expiresAt === null) return;
  await tx.put(T.archiveKeys, { partition, sort, value: row.value, expiresAt: null });
}
