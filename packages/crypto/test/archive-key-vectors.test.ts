/**
 * `test-vectors/archive-key-shares.json` under every provider: every wrapped share unwraps with
 * its holder's secret and says what the vector says, every subset of `threshold` shares rebuilds
 * the archive key, re-wrapping a share with the recorded wrap seed reproduces the recorded bytes,
 * and every invalid case fails at its step with its error code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ArchiveShare,
  combineArchiveShares,
  peekArchiveShare,
  rewrapArchiveShare,
  unwrapArchiveShare,
} from '../src/compliance/index.js';
import { type CryptoProvider, fromHex, PIN_SCRYPT_FLOOR, toHex, utf8 } from '../src/index.js';
import { INSECURE_seededRandomForTestsOnly } from '../src/testing.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

type SecretJson = { privateKey: string } | { passphrase: string };

interface ShareVectors {
  valid: {
    name: string;
    archivePrivateKey: string;
    archivePublicKey: string;
    setId: string;
    threshold: number;
    total: number;
    holders: {
      holder: string;
      index: number;
      wrap: 'key' | 'passphrase';
      recipientPublicKey?: string;
      secret: SecretJson;
      wrapSeed: string;
      wrapped: string;
    }[];
  }[];
  invalid: {
    name: string;
    step: 'unwrap' | 'combine';
    wrapped?: string;
    secret?: SecretJson;
    shares?: { wrapped: string; secret: SecretJson }[];
    error: string;
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/archive-key-shares.json', import.meta.url), 'utf8'),
) as ShareVectors;

function secret(s: SecretJson): { privateKey: Uint8Array } | { passphrase: string } {
  return 'privateKey' in s ? { privateKey: fromHex(s.privateKey) } : { passphrase: s.passphrase };
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, i) => subsets(items.slice(i + 1), k - 1).map((rest) => [item, ...rest]));
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'test-vectors/archive-key-shares.json (%s)',
  (_n, p: CryptoProvider) => {
    it('unwraps every share, rebuilds the key from every subset of threshold shares, re-wraps byte for byte', async () => {
      expect(vectors.valid.map((v) => v.name)).toEqual(['three-auditors-2-of-3', 'four-auditors-3-of-4']);
      for (const v of vectors.valid) {
        const shares: ArchiveShare[] = [];
        for (const h of v.holders) {
          const wrapped = fromHex(h.wrapped);
          const info = peekArchiveShare(wrapped);
          expect(info, `${v.name} ${h.holder}`).toEqual({
            version: 1,
            setId: fromHex(v.setId),
            holder: h.holder,
            index: h.index,
            threshold: v.threshold,
            total: v.total,
            archivePublicKey: fromHex(v.archivePublicKey),
            wrap: h.wrap,
          });
          const share = await unwrapArchiveShare(p, wrapped, secret(h.secret));
          const to =
            h.recipientPublicKey === undefined
              ? { passphrase: (h.secret as { passphrase: string }).passphrase, scrypt: PIN_SCRYPT_FLOOR }
              : { publicKey: fromHex(h.recipientPublicKey) };
          const again = await rewrapArchiveShare(
            p.withRandom(INSECURE_seededRandomForTestsOnly(utf8(h.wrapSeed))),
            share,
            to,
          );
          expect(toHex(again), `${v.name} ${h.holder} rewrap`).toBe(h.wrapped);
          shares.push(share);
        }
        for (const subset of subsets(shares, v.threshold)) {
          const rebuilt = await combineArchiveShares(p, subset);
          expect(toHex(rebuilt.privateKey), `${v.name} ${subset.map((s) => s.info.index)}`).toBe(
            v.archivePrivateKey,
          );
        }
        for (const subset of subsets(shares, v.threshold - 1)) {
          expect(await code(() => combineArchiveShares(p, subset))).toBe('ERR_VALIDATION');
        }
      }
    });

    it('fails every invalid case at its step with its error code', async () => {
      expect(vectors.invalid.length).toBe(19);
      for (const c of vectors.invalid) {
        if (c.step === 'unwrap') {
          expect(
            await code(() => unwrapArchiveShare(p, fromHex(c.wrapped ?? ''), secret(c.secret as SecretJson))),
            c.name,
          ).toBe(c.error);
        } else {
          const run = async () => {
            const shares = [];
            for (const s of c.shares ?? [])
              shares.push(await unwrapArchiveShare(p, fromHex(s.wrapped), secret(s.secret)));
            return combineArchiveShares(p, shares);
          };
          expect(await code(run), c.name).toBe(c.error);
        }
      }
    });
  },
);
