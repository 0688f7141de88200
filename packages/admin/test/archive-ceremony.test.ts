/**
 * The key ceremony from the auditors' side: three auditors, any two open the archive; the key
 * set registered is the key made (a server answering another fingerprint is refused); a share is
 * released by re-wrapping it to the combining auditor; one share alone opens nothing; a share an
 * attacker wraps for the combiner from another key is caught; the policy feature passes the
 * protocol's validation.
 */
import { type CryptoProvider, toHex, unwrapArchiveShare } from '@cloister/crypto';
import { archiveKeyFingerprint, validateRestrictionFeature } from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ArchiveApi,
  type CreateArchiveKeySetInput,
  combineWrappedShares,
  createArchiveKeySet,
  openArchive,
  releaseArchiveShare,
} from '../src/index.js';
import { archiveFixture, collect, fromArray } from './archive-fixtures.js';

const f = await archiveFixture();

function fakeArchive(provider: CryptoProvider, lie = false) {
  const calls: CreateArchiveKeySetInput[] = [];
  const api: Pick<ArchiveApi, 'createKeySet'> = {
    async createKeySet(input) {
      calls.push(input);
      const key = lie ? new Uint8Array(32).fill(1) : input.publicKey;
      return {
        id: input.setId,
        fingerprint: await archiveKeyFingerprint(provider, key),
        createdAt: 1,
        createdBy: 'adm_a',
      };
    },
  };
  return { api, calls };
}

describe('archive key ceremony', async () => {
  const [a1, a2, a3] = await Promise.all([1, 2, 3].map(() => f.provider.x25519.generateKeyPair()));
  const holders = [
    { holder: 'auditor-1', recipient: { publicKey: a1!.publicKey } },
    { holder: 'auditor-2', recipient: { publicKey: a2!.publicKey } },
    { holder: 'auditor-3', recipient: { publicKey: a3!.publicKey } },
  ];

  it('makes, splits and registers the key; two auditors open what was sealed to it', async () => {
    const server = fakeArchive(f.provider);
    const made = await createArchiveKeySet(server.api, f.provider, { threshold: 2, holders, label: '2027' });
    expect(server.calls).toHaveLength(1);
    const call = server.calls[0]!;
    expect(call).toMatchObject({ setId: made.keySetId, threshold: 2, label: '2027' });
    expect(call.setId).toMatch(/^[0-9a-f]{32}$/);
    expect(call.holders.map((h) => h.holder)).toEqual(['auditor-1', 'auditor-2', 'auditor-3']);
    expect(made.fingerprint).toBe(await archiveKeyFingerprint(f.provider, made.publicKey));
    expect(() => validateRestrictionFeature('archive', made.policyFeature, 'tenant')).not.toThrow();
    expect(made.policyFeature).toMatchObject({
      enabled: true,
      config: { keySetId: made.keySetId, auditors: { threshold: 2 } },
    });

    // auditor-3 releases its share to auditor-1, who combines it with its own.
    const released = await releaseArchiveShare(
      f.provider,
      made.shares[2]!.share,
      { privateKey: a3!.privateKey },
      { publicKey: a1!.publicKey },
    );
    const key = await combineWrappedShares(f.provider, [made.shares[0]!.share, released], {
      privateKey: a1!.privateKey,
    });
    expect(toHex(key.publicKey)).toBe(toHex(made.publicKey));

    const member = await f.member('bob', 1);
    const items = [
      f.item(
        await f.sealV3({
          sender: member,
          archivePublicKey: made.publicKey,
          body: { type: 'text', text: 'sealed to the ceremony key' },
        }),
      ),
    ];
    const [record] = await collect(
      openArchive({
        provider: f.provider,
        archivePrivateKey: key.privateKey,
        tenantPublicKey: f.tenant.publicKey,
        items: fromArray(items),
      }),
    );
    expect(record).toMatchObject({ status: 'valid', message: { text: 'sealed to the ceremony key' } });

    // openArchive combines unwrapped shares itself.
    const shares = [
      await unwrapArchiveShare(f.provider, made.shares[0]!.share, { privateKey: a1!.privateKey }),
      await unwrapArchiveShare(f.provider, made.shares[1]!.share, { privateKey: a2!.privateKey }),
    ];
    const [again] = await collect(
      openArchive({
        provider: f.provider,
        shares,
        tenantPublicKey: f.tenant.publicKey,
        items: fromArray(items),
      }),
    );
    expect(again).toMatchObject({ status: 'valid', message: { text: 'sealed to the ceremony key' } });
    await expect(
      collect(
        openArchive({
          provider: f.provider,
          shares: shares.slice(0, 1),
          tenantPublicKey: f.tenant.publicKey,
          items: fromArray(items),
        }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(
      collect(
        openArchive({
          provider: f.provider,
          shares,
          archivePrivateKey: key.privateKey,
          tenantPublicKey: f.tenant.publicKey,
          items: fromArray(items),
        }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });

    // One share alone opens nothing; a released share another auditor could not unwrap is refused.
    await expect(
      combineWrappedShares(f.provider, [made.shares[0]!.share], { privateKey: a1!.privateKey }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(
      combineWrappedShares(f.provider, [made.shares[1]!.share], { privateKey: a1!.privateKey }),
    ).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('refuses a server that registers another key than the one made', async () => {
    await expect(
      createArchiveKeySet(fakeArchive(f.provider, true).api, f.provider, { threshold: 2, holders }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });

  it('refuses a share released from another key set', async () => {
    const made = await createArchiveKeySet(fakeArchive(f.provider).api, f.provider, {
      threshold: 2,
      holders,
    });
    const other = await createArchiveKeySet(fakeArchive(f.provider).api, f.provider, {
      threshold: 2,
      holders,
    });
    const released = await releaseArchiveShare(
      f.provider,
      other.shares[1]!.share,
      { privateKey: a2!.privateKey },
      { publicKey: a1!.publicKey },
    );
    await expect(
      combineWrappedShares(f.provider, [made.shares[0]!.share, released], { privateKey: a1!.privateKey }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});
