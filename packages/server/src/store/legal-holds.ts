/**
 * Each tenant's legal holds (`spec/archive-server.md` §5): a hold names users and a reason; while a
 * user is on any hold the user cannot be deleted (409 `legal-hold`), and while the tenant has any
 * hold its compliance archive does not expire (the server cannot tell whose messages a seal holds,
 * so the whole archive is frozen: `ArchiveStore.hold`). Lifting deletes the hold's row (the audit
 * log keeps its history). Rows of `s_legal_holds`: partition the tenant, sort the hold id.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkId, checkIdList, checkInteger, checkText, key, NO_SORT, read, T, write } from './_util.js';
import { ConflictError, NotFoundError } from './errors.js';

/**
 * Most active holds one tenant may have (100).
 *
 * @example
 * ```ts
 * const full = (await stores.legalHolds.list(tenant)).length >= MAX_LEGAL_HOLDS;
 * ```
 */
export const MAX_LEGAL_HOLDS = 100;

/**
 * Most users one hold names (1000).
 *
 * @example
 * ```ts
 * const users = ['alice', 'bob'];
 * if (users.length > MAX_LEGAL_HOLD_USERS) throw new RangeError('split the hold');
 * ```
 */
export const MAX_LEGAL_HOLD_USERS = 1000;

/**
 * An active legal hold.
 *
 * @example
 * ```ts
 * const [hold]: LegalHold[] = await stores.legalHolds.list(tenant);
 * ```
 */
export interface LegalHold {
  /** The tenant. */
  readonly tenant: TenantId;
  /** The hold's id (`lh_` and 22 base64url characters). */
  readonly id: string;
  /** The users it holds (sorted, distinct, 1..1000). */
  readonly users: readonly UserId[];
  /** Why (1..500 characters). */
  readonly reason: string;
  /** When it was set, ms. */
  readonly createdAt: number;
  /** The administrator who set it. */
  readonly createdBy: string;
}

/**
 * The tenants' legal holds.
 *
 * @example
 * ```ts
 * const holding = await stores.legalHolds.holding(tenant, user); // the holds naming the user
 * if (holding.length > 0) console.log('held by', holding.map((h) => h.id));
 * ```
 */
export interface LegalHoldStore {
  /**
   * Stores a new hold; resolves how many holds the tenant has now (1: the first, the archive must
   * be frozen). `ConflictError('legal-holds')` past {@link MAX_LEGAL_HOLDS},
   * `ConflictError('legal-hold')` when the id is taken.
   *
   * @example
   * ```ts
   * const hold = { tenant, id: 'lh_AAAAAAAAAAAAAAAAAAAAAA', users: [user], reason: 'case 2026-114', createdAt: Date.now(), createdBy: admin.id };
   * const active = await stores.legalHolds.create(hold);
   * if (active === 1) await stores.archive.hold(tenant);
   * ```
   */
  create(hold: LegalHold): Promise<number>;
  /**
   * The tenant's active holds, oldest first.
   *
   * @example
   * ```ts
   * const holds = await stores.legalHolds.list(tenant);
   * ```
   */
  list(tenant: TenantId): Promise<LegalHold[]>;
  /**
   * Lifts (deletes) hold `id`; resolves it and how many holds remain (0: the archive may expire
   * again). `NotFoundError('legal hold')` when there is no such active hold.
   *
   * @example
   * ```ts
   * const { remaining } = await stores.legalHolds.lift(tenant, 'lh_AAAAAAAAAAAAAAAAAAAAAA');
   * if (remaining === 0) await stores.archive.release(tenant);
   * ```
   */
  lift(tenant: TenantId, id: string): Promise<{ readonly hold: LegalHold; readonly remaining: number }>;
  /**
   * The active holds that name `user`; locks the tenant's row (call it in the deleting transaction).
   *
   * @example
   * ```ts
   * const held = (await stores.legalHolds.holding(tenant, user)).length > 0;
   * ```
   */
  holding(tenant: TenantId, user: UserId): Promise<LegalHold[]>;
}

const HOLD_ID = /^lh_[A-Za-z0-9_-]{22}$/;

function decode(tenant: TenantId, bytes: Uint8Array): LegalHold {
  const r = read(bytes, T.legalHolds);
  return {
    tenant,
    id: r.str('id', 25),
    users: r.strs('users', userId) as UserId[],
    reason: r.str('reason', 500),
    createdAt: r.int('createdAt'),
    createdBy: r.str('createdBy', 128),
  };
}

async function listTx(tx: StorageTx, tenant: TenantId): Promise<LegalHold[]> {
  const rows = await tx.list(T.legalHolds, key(tenant), { limit: MAX_LEGAL_HOLDS + 1 });
  return rows
    .map((row) => decode(tenant, row.value))
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/**
 * Creates the legal-hold store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const holds = createLegalHoldStore(adapterExecutor(adapter));
 * ```
 */
export function createLegalHoldStore(run: Executor): LegalHoldStore {
  return {
    async create(hold) {
      const tid = checkId(hold.tenant, 'tenant', tenantId);
      if (typeof hold.id !== 'string' || !HOLD_ID.test(hold.id))
        throw new ValidationError('id', 'a legal hold id');
      const users = checkIdList(hold.users, 'users', MAX_LEGAL_HOLD_USERS, userId);
      if (users.length === 0) throw new ValidationError('users', 'at least one user');
      const reason = checkText(hold.reason, 'reason', 500);
      const createdAt = checkInteger(hold.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
      const createdBy = checkText(hold.createdBy, 'createdBy', 128);
      return run(async (tx) => {
        // Locks the tenant row: two holds set at once count each other.
        await tx.get(T.tenants, NO_SORT, key(tid), { forUpdate: true });
        const all = await listTx(tx, tid);
        if (all.length >= MAX_LEGAL_HOLDS) throw new ConflictError('legal-holds', 'too many legal holds');
        const value = write({ id: hold.id, users, reason, createdAt, createdBy });
        if (
          !(await tx.put(
            T.legalHolds,
            { partition: key(tid), sort: key(hold.id), value },
            { ifAbsent: true },
          ))
        )
          throw new ConflictError('legal-hold', 'this hold id is taken');
        return all.length + 1;
      });
    },
    async list(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run((tx) => listTx(tx, tid), { readOnly: true });
    },
    async lift(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      if (typeof id !== 'string' || !HOLD_ID.test(id)) throw new NotFoundError('legal hold');
      return run(async (tx) => {
        await tx.get(T.tenants, NO_SORT, key(tid), { forUpdate: true });
        const row = await tx.get(T.legalHolds, key(tid), key(id), { forUpdate: true });
        if (row === undefined) throw new NotFoundError('legal hold');
        const hold = decode(tid, row.value);
        await tx.delete(T.legalHolds, key(tid), key(id));
        return { hold, remaining: (await listTx(tx, tid)).length };
      });
    },
    async holding(tenant, user) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      // Locks the tenant row, as a new hold does: a deletion that finds no hold and a hold set at
      // the same time are one after the other, never interleaved.
      const all = await run(async (tx) => {
        await tx.get(T.tenants, NO_SORT, key(tid), { forUpdate: true });
        return listTx(tx, tid);
      });
      return all.filter((h) => h.users.includes(uid));
    },
  };
}
