/**
 * The recipient's rule for revoked certificates and unreachable pools (spec/revocations.md §4),
 * and the pinning of the signed objects it reads: a newer version replaces the pinned one, an
 * older one (rollback) or a fork of the same version is refused, another key's or another user's
 * is refused, and nothing refused is pinned.
 */
import { createNobleProvider, deviceId } from '@cloister/crypto';
import {
  poolId,
  type ReachStatementBody,
  type RevocationListBody,
  signReachStatement,
  signRevocationList,
  tenantId,
  userId,
} from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptRevocations,
  certificateRefusal,
  loadRevocationState,
  type RevocationSelf,
} from '../src/core/index.js';

const provider = createNobleProvider();
const tenant = tenantId('acme');
let key: { publicKey: Uint8Array; privateKey: Uint8Array };
let self: RevocationSelf;

const list = (version: number, entries: RevocationListBody['entries'] = []): RevocationListBody => ({
  tenant,
  version,
  issuedAtMs: 1000 + version,
  entries,
});
const reach = (
  version: number,
  issuedAtMs: number,
  pools: string[],
  reachedBy: string[],
): ReachStatementBody => ({
  tenant,
  user: userId('bob'),
  version,
  issuedAtMs,
  pools: pools.map(poolId),
  reachedBy: reachedBy.map(poolId),
});

beforeAll(async () => {
  key = await provider.ed25519.generateKeyPair();
  self = { provider, tenant, userId: 'bob', tenantPublicKey: key.publicKey };
});

describe('certificateRefusal', () => {
  const cert = (userId: string, deviceId: number, pools: string[] = []) => ({ userId, deviceId, pools });
  const revoked = {
    tenant,
    version: 1,
    issuedAtMs: 0,
    entries: [
      { userId: userId('mallory'), revokedAtMs: 5 },
      { userId: userId('trent'), deviceId: deviceId(2), revokedAtMs: 5 },
    ],
    signature: new Uint8Array(64),
    bytes: new Uint8Array(0),
  };

  it('refuses every device of a revoked user and the revoked device of another', () => {
    expect(certificateRefusal({ list: revoked }, cert('mallory', 1), 'bob')).toBe('revoked');
    expect(certificateRefusal({ list: revoked }, cert('mallory', 9), 'bob')).toBe('revoked');
    expect(certificateRefusal({ list: revoked }, cert('trent', 2), 'bob')).toBe('revoked');
    expect(certificateRefusal({ list: revoked }, cert('trent', 1), 'bob')).toBeUndefined();
    expect(certificateRefusal({ list: revoked }, cert('alice', 1), 'bob')).toBeUndefined();
  });

  it('refuses senders whose certificate pools may not reach this user; never the user’s own devices', () => {
    const ward = {
      ...reach(1, 0, ['ward'], ['lab', 'ward']),
      signature: new Uint8Array(64),
      bytes: new Uint8Array(0),
    };
    const open = { ...reach(1, 0, [], []), signature: new Uint8Array(64), bytes: new Uint8Array(0) };
    expect(certificateRefusal({ reach: ward }, cert('alice', 1, ['lab']), 'bob')).toBeUndefined();
    expect(certificateRefusal({ reach: ward }, cert('alice', 1, ['shop', 'ward']), 'bob')).toBeUndefined();
    expect(certificateRefusal({ reach: ward }, cert('alice', 1, ['shop']), 'bob')).toBe('pools');
    expect(certificateRefusal({ reach: ward }, cert('alice', 1, []), 'bob')).toBe('pools');
    expect(certificateRefusal({ reach: open }, cert('alice', 1, []), 'bob')).toBeUndefined();
    expect(certificateRefusal({ reach: open }, cert('alice', 1, ['ward']), 'bob')).toBe('pools');
    expect(certificateRefusal({ reach: ward }, cert('bob', 2, []), 'bob')).toBeUndefined();
  });

  it('refuses nothing before anything was pinned', () => {
    expect(certificateRefusal({}, cert('mallory', 1, ['x']), 'bob')).toBeUndefined();
  });
});

describe('acceptRevocations', () => {
  it('pins newer lists, refuses rollbacks and forks, and pins nothing it refused', async () => {
    const db = createMemoryAdapter();
    const accept = (input: { revocations?: Uint8Array; reach?: Uint8Array }) =>
      db.transaction((tx) => acceptRevocations(self, tx, input));
    const state = () => db.transaction((tx) => loadRevocationState(tx));
    const v1 = await signRevocationList(provider, list(1), key.privateKey);
    const v2 = await signRevocationList(
      provider,
      list(2, [{ userId: userId('mallory'), revokedAtMs: 7 }]),
      key.privateKey,
    );
    expect(await accept({ revocations: v2 })).toEqual({ changed: true });
    expect(await accept({ revocations: v2 })).toEqual({ changed: false });
    await expect(accept({ revocations: v1 })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    const fork = await signRevocationList(provider, { ...list(2), issuedAtMs: 99 }, key.privateKey);
    await expect(accept({ revocations: fork })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    expect((await state()).list?.version).toBe(2);

    // A refused reach statement in the same answer keeps the newer list from being pinned too.
    const v3 = await signRevocationList(provider, list(3), key.privateKey);
    const otherUser = await signReachStatement(
      provider,
      { ...reach(1, 0, [], []), user: userId('alice') },
      key.privateKey,
    );
    await expect(accept({ revocations: v3, reach: otherUser })).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    expect((await state()).list?.version).toBe(2);
    expect((await state()).reach).toBeUndefined();
  });

  it('refuses other keys, other tenants and garbage', async () => {
    const db = createMemoryAdapter();
    const accept = (input: { revocations?: Uint8Array; reach?: Uint8Array }) =>
      db.transaction((tx) => acceptRevocations(self, tx, input));
    const other = await provider.ed25519.generateKeyPair();
    await expect(
      accept({ revocations: await signRevocationList(provider, list(5), other.privateKey) }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(
      accept({
        revocations: await signRevocationList(
          provider,
          { ...list(5), tenant: tenantId('evil') },
          key.privateKey,
        ),
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(
      accept({ reach: await signReachStatement(provider, reach(5, 0, [], []), other.privateKey) }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(accept({ revocations: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    expect(await db.transaction((tx) => loadRevocationState(tx))).toEqual({});
  });

  it('pins reach statements of a higher version or the same version issued later, never an older one', async () => {
    const db = createMemoryAdapter();
    const accept = (body: ReachStatementBody) =>
      signReachStatement(provider, body, key.privateKey).then((bytes) =>
        db.transaction((tx) => acceptRevocations(self, tx, { reach: bytes })),
      );
    await accept(reach(4, 100, ['ward'], ['lab', 'ward']));
    await accept(reach(4, 200, ['ward'], ['lab', 'ward']));
    await expect(accept(reach(4, 150, ['ward'], ['lab', 'ward']))).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    await expect(accept(reach(3, 900, ['ward'], ['lab', 'shop', 'ward']))).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    await accept(reach(6, 300, ['ward'], ['ward']));
    const state = await db.transaction((tx) => loadRevocationState(tx));
    expect([state.reach?.version, state.reach?.reachedBy]).toEqual([6, ['ward']]);
  });
});
