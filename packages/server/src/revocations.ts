/**
 * The signed objects a recipient needs to refuse content the server would no longer let through
 * (spec/revocations.md; issue 13, attack 4, the recipient's half), signed with the tenant key that
 * signs sender certificates:
 *
 * - the tenant's **revocation list**: every blocked user (all devices) and every blocked device of
 *   a user who is not blocked, built from the user and device stores when asked. The last list is
 *   kept in the server table `srv_revocations` (one row per tenant): an entry keeps the time it
 *   first appeared (`revokedAtMs`), the version grows by one whenever the set of entries changes,
 *   and an unchanged set is answered with the stored bytes. Users deleted and devices removed
 *   leave no trace in the stores; an entry the last list had for a user or device that no longer
 *   exists stays for {@link MAX_CERTIFICATE_TTL_MS} after its revocation (no certificate issued
 *   before it outlives that), then goes. A device removed without being blocked first is never
 *   listed: its owner's signed device list stops admitting it instead.
 * - the caller's **reach statement**: its pools and the pools whose members may reach it under the
 *   tenant's pool rules (`mayContact` of `policy-pools.ts`), versioned by the delivery epochs of
 *   the tenant and of the user, which the stores bump with every change of pools, rules or blocks.
 *
 * The list is rebuilt on every request, in one transaction that first locks the tenant's row (so
 * two rebuilds are serialised and a version never labels an older state than its predecessor):
 * O(users + devices) reads per policy fetch. The delivery epochs cannot key a cache here: a block
 * bumps the user's and the class's epochs, never a tenant-wide one.
 *
 * @module
 */
import { LimitError, StorageError } from '@cloister/crypto';
import {
  decodeRevocationList,
  MAX_REACHING_POOLS,
  MAX_REVOCATION_ENTRIES,
  type PoolId,
  type RevocationEntry,
  signReachStatement,
  signRevocationList,
  type TenantId,
  type UserId,
} from '@cloister/protocol';
import { decodeRecord, encodeRecord, type StorageTx, txExecutor } from '@cloister/storage';
import { MAX_CERTIFICATE_TTL_MS } from './certificates.js';
import type { ServerContext } from './context.js';
import { mayContact, poolRulesFrom } from './policy-pools.js';
import { createDeviceStore, createUserStore, type Pool, senderClassOf } from './store/index.js';
import { getTenantSigningKey, TENANT_KEYS_TABLE } from './tenants.js';

/** The server table holding each tenant's last signed revocation list (one row per tenant). */
export const REVOCATIONS_TABLE = 'srv_revocations';

/** The part of the server context the functions here use. */
export type RevocationContext = Pick<ServerContext, 'adapter' | 'provider' | 'stores' | 'now'>;

const NO_SORT = new Uint8Array(0);
const enc = new TextEncoder();
const entryKey = (e: Pick<RevocationEntry, 'userId' | 'deviceId'>) => `${e.userId}\u0000${e.deviceId ?? '*'}`;

function compareEntries(a: RevocationEntry, b: RevocationEntry): number {
  if (a.userId !== b.userId) return a.userId < b.userId ? -1 : 1;
  return (a.deviceId ?? -1) - (b.deviceId ?? -1);
}

/**
 * The tenant's signing key, or undefined when the tenant has none (a tenant written straight into
 * the store rather than created with `createTenant`, as some tests do): then nothing is signed.
 */
async function signingKeyIfAny(ctx: RevocationContext, tenant: TenantId): Promise<Uint8Array | undefined> {
  const row = await ctx.adapter.transaction((tx) => tx.get(TENANT_KEYS_TABLE, enc.encode(tenant), NO_SORT), {
    readOnly: true,
  });
  return row === undefined ? undefined : getTenantSigningKey(ctx, tenant);
}

async function readStored(tx: StorageTx, tenant: TenantId): Promise<Uint8Array | undefined> {
  const row = await tx.get(REVOCATIONS_TABLE, enc.encode(tenant), NO_SORT, { forUpdate: true });
  if (row === undefined) return undefined;
  const { v, d } = decodeRecord(row.value, REVOCATIONS_TABLE);
  const bytes = (d as { bytes?: unknown } | null)?.bytes;
  if (v !== 1 || !(bytes instanceof Uint8Array)) throw new StorageError('revocation list damaged');
  return bytes;
}

/** The entries the stores say now: blocked users (every device) and blocked devices of other users. */
async function currentEntries(
  tx: StorageTx,
  tenant: TenantId,
): Promise<{
  blocked: Map<string, Omit<RevocationEntry, 'revokedAtMs'>>;
  exists: (e: RevocationEntry) => boolean;
}> {
  const run = txExecutor(tx);
  const users = createUserStore(run);
  const devices = createDeviceStore(run);
  const blocked = new Map<string, Omit<RevocationEntry, 'revokedAtMs'>>();
  const present = new Set<string>();
  let after: string | undefined;
  do {
    const page = await users.list(tenant, { limit: 1000, ...(after === undefined ? {} : { after }) });
    for (const user of page.items) {
      present.add(entryKey({ userId: user.id }));
      const own = await devices.list(tenant, user.id);
      for (const d of own) present.add(entryKey({ userId: user.id, deviceId: d.id }));
      if (user.blocked) {
        blocked.set(entryKey({ userId: user.id }), { userId: user.id });
        continue;
      }
      for (const d of own) {
        if (d.blocked)
          blocked.set(entryKey({ userId: user.id, deviceId: d.id }), { userId: user.id, deviceId: d.id });
      }
    }
    after = page.next;
  } while (after !== undefined);
  return { blocked, exists: (e) => present.has(entryKey(e)) };
}

/**
 * The tenant's current signed revocation list (its bytes): rebuilt from the stores, re-signed
 * with a version one higher when its entries changed since the stored list, else the stored list.
 * `LimitError` when more than {@link MAX_REVOCATION_ENTRIES} users and devices are revoked;
 * undefined when the tenant has no signing key.
 *
 * @example
 * ```ts
 * const bytes = await currentRevocationList(server.context, tenantId('acme'));
 * const list = decodeRevocationList(bytes);
 * ```
 */
export async function currentRevocationList(
  ctx: RevocationContext,
  tenant: TenantId,
): Promise<Uint8Array | undefined> {
  const privateKey = await signingKeyIfAny(ctx, tenant);
  if (privateKey === undefined) return undefined;
  try {
    return await ctx.adapter.transaction(async (tx) => {
      const storedBytes = await readStored(tx, tenant);
      const stored = storedBytes === undefined ? undefined : decodeRevocationList(storedBytes);
      const now = ctx.now();
      const { blocked, exists } = await currentEntries(tx, tenant);
      const before = new Map((stored?.entries ?? []).map((e) => [entryKey(e), e]));
      const entries: RevocationEntry[] = [];
      for (const [k, e] of blocked) entries.push({ ...e, revokedAtMs: before.get(k)?.revokedAtMs ?? now });
      // Deleted users and removed devices that were listed: kept until no certificate issued
      // before their revocation can still be valid.
      for (const [k, e] of before) {
        if (!blocked.has(k) && !exists(e) && now - e.revokedAtMs <= MAX_CERTIFICATE_TTL_MS) entries.push(e);
      }
      // A device entry under a user revoked as a whole is redundant (and refused by the format).
      const whole = new Set(entries.filter((e) => e.deviceId === undefined).map((e) => e.userId));
      const kept = entries
        .filter((e) => e.deviceId === undefined || !whole.has(e.userId))
        .sort(compareEntries);
      if (kept.length > MAX_REVOCATION_ENTRIES) {
        throw new LimitError(`a revocation list holds at most ${MAX_REVOCATION_ENTRIES} entries`);
      }
      const same =
        stored !== undefined &&
        stored.entries.length === kept.length &&
        stored.entries.every((e, i) => entryKey(e) === entryKey(kept[i] as RevocationEntry));
      if (same && storedBytes !== undefined) return storedBytes;
      const bytes = await signRevocationList(
        ctx.provider,
        { tenant, version: (stored?.version ?? 0) + 1, issuedAtMs: now, entries: kept },
        privateKey,
      );
      const value = encodeRecord(1, { bytes });
      if (stored === undefined) {
        const created = await tx.put(
          REVOCATIONS_TABLE,
          { partition: enc.encode(tenant), sort: NO_SORT, value },
          { ifAbsent: true },
        );
        // A concurrent first build won: answer with its list (the next request rebuilds).
        if (!created) return (await readStored(tx, tenant)) ?? bytes;
      } else {
        await tx.put(REVOCATIONS_TABLE, { partition: enc.encode(tenant), sort: NO_SORT, value });
      }
      return bytes;
    });
  } finally {
    privateKey.fill(0);
  }
}

/**
 * The signed reach statement of `user`: its pools and the pools whose members may reach it
 * (its own, and every pool whose `mayContact` names one of them), versioned by the delivery epochs
 * of the tenant and the user (read before the state they guard). `LimitError` when more than
 * {@link MAX_REACHING_POOLS} pools may reach the user; undefined when the tenant has no signing key.
 *
 * @example
 * ```ts
 * const bytes = await reachStatementFor(server.context, tenantId('acme'), userId('alice'));
 * ```
 */
export async function reachStatementFor(
  ctx: RevocationContext,
  tenant: TenantId,
  user: UserId,
): Promise<Uint8Array | undefined> {
  const epochs = await ctx.stores.deliveryEpochs.get(tenant, user, senderClassOf(tenant, []));
  const record = await ctx.stores.users.get(tenant, user);
  if (record === undefined) throw new StorageError('user missing');
  const all: Pool[] = [];
  let after: string | undefined;
  do {
    const page = await ctx.stores.pools.list(tenant, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    all.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  const rules = poolRulesFrom(all);
  const mine = [...record.pools].sort();
  const reachedBy = new Set<PoolId>(mine);
  if (mine.length > 0) for (const p of all) if (mayContact([p.id], mine, rules)) reachedBy.add(p.id);
  if (reachedBy.size > MAX_REACHING_POOLS) {
    throw new LimitError(`a reach statement names at most ${MAX_REACHING_POOLS} pools`);
  }
  const privateKey = await signingKeyIfAny(ctx, tenant);
  if (privateKey === undefined) return undefined;
  try {
    return await signReachStatement(
      ctx.provider,
      {
        tenant,
        user,
        version: epochs.tenant + epochs.user + 1,
        issuedAtMs: ctx.now(),
        pools: mine,
        reachedBy: [...reachedBy].sort(),
      },
      privateKey,
    );
  } finally {
    privateKey.fill(0);
  }
}
