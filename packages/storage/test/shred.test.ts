/**
 * Crypto-shredding keyring: round trips, layout, shredding after the period ends even for kept
 * copies of the ciphertext (a backup), tampering of every byte and of the aad, scope binding,
 * concurrent first use of a period, period boundaries, wiping, and hostile inputs.
 */
import { type CryptoProvider, equalBytes, getProvider, type StorageError, utf8 } from '@cloister/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter, StorageTx } from '../src/adapter.js';
import { createMemoryAdapter } from '../src/memory.js';
import {
  createShreddingKeyring,
  DEFAULT_SHRED_TABLE,
  MAX_SHRED_PLAINTEXT_BYTES,
  SHRED_HEADER_LENGTH,
  SHRED_OVERHEAD,
  ShreddedError,
  shredPeriodEnd,
} from '../src/shred/index.js';

const DAY = 86_400_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a multiple of DAY
const EMPTY = new Uint8Array(0);

async function code(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (e) {
    const c = (e as { code?: unknown } | null)?.code;
    if (typeof c === 'string') return c;
    throw e;
  }
  return 'accepted';
}

function clock(start: number) {
  const c = { t: start, now: () => c.t };
  return c;
}

let provider: CryptoProvider;
let noble: CryptoProvider;
beforeAll(async () => {
  provider = await getProvider();
  noble = await getProvider('noble');
});

function setup(periodMs = DAY, scope?: string) {
  const c = clock(T0);
  const adapter = createMemoryAdapter({ now: c.now });
  const keyring = createShreddingKeyring({
    adapter,
    provider,
    periodMs,
    ...(scope === undefined ? {} : { scope }),
  });
  return { c, adapter, keyring };
}

async function keyRows(adapter: StorageAdapter, scope = '') {
  return adapter.transaction((tx) => tx.list(DEFAULT_SHRED_TABLE, utf8(scope)), { readOnly: true });
}

describe('seal and open', () => {
  it('round-trips with and without aad, including empty plaintext', async () => {
    const { keyring } = setup();
    const aad = utf8('blob:b_91c2');
    for (const plaintext of [EMPTY, utf8('hello'), new Uint8Array(70_000).fill(7)]) {
      const sealed = await keyring.seal(plaintext, { expiresAt: T0 + 30 * DAY, aad });
      expect(sealed.length).toBe(plaintext.length + SHRED_OVERHEAD);
      expect(equalBytes(await keyring.open(sealed, { aad }), plaintext)).toBe(true);
      const plain = await keyring.seal(plaintext, { expiresAt: T0 + 1 });
      expect(equalBytes(await keyring.open(plain), plaintext)).toBe(true);
    }
  });

  it('writes the documented layout and one key row per period, expiring at the period end', async () => {
    const { adapter, keyring } = setup();
    const a = await keyring.seal(utf8('a'), { expiresAt: T0 + 5 * DAY + 1 });
    const b = await keyring.seal(utf8('b'), { expiresAt: T0 + 6 * DAY });
    const c = await keyring.seal(utf8('c'), { expiresAt: T0 + 7 * DAY });
    const end = T0 + 6 * DAY;
    expect(a[0]).toBe(1);
    expect(new DataView(a.buffer, a.byteOffset + 1, 8).getBigUint64(0)).toBe(BigInt(end));
    expect(equalBytes(a.subarray(0, 9), b.subarray(0, 9))).toBe(true);
    expect(equalBytes(a.subarray(9, SHRED_HEADER_LENGTH), b.subarray(9, SHRED_HEADER_LENGTH))).toBe(false);
    expect(new DataView(c.buffer, c.byteOffset + 1, 8).getBigUint64(0)).toBe(BigInt(T0 + 7 * DAY));
    const rows = await keyRows(adapter);
    expect(rows.map((r) => r.expiresAt)).toEqual([T0 + 6 * DAY, T0 + 7 * DAY]);
    for (const r of rows) {
      expect(r.value.length).toBe(33);
      expect(r.value[0]).toBe(1);
    }
  });

  it('opens under another provider (byte-identical construction)', async () => {
    const c = clock(T0);
    const adapter = createMemoryAdapter({ now: c.now });
    const a = createShreddingKeyring({ adapter, provider, periodMs: DAY });
    const b = createShreddingKeyring({ adapter, provider: noble, periodMs: DAY });
    const sealed = await a.seal(utf8('cross'), { expiresAt: T0 + DAY, aad: utf8('x') });
    expect(await b.open(sealed, { aad: utf8('x') })).toEqual(utf8('cross'));
    const back = await b.seal(utf8('back'), { expiresAt: T0 + DAY });
    expect(await a.open(back)).toEqual(utf8('back'));
  });
});

describe('shredding', () => {
  it('a kept copy ("a backup") cannot be opened once the period has ended and the key is destroyed', async () => {
    const { c, adapter, keyring } = setup();
    const plaintext = utf8('expires in ten days');
    const sealed = await keyring.seal(plaintext, { expiresAt: T0 + 10 * DAY - 5 });
    const backup = sealed.slice();
    c.t = T0 + 10 * DAY - 1;
    expect(await keyring.open(backup)).toEqual(plaintext);
    c.t = T0 + 10 * DAY; // the period end: the key row is hidden at once, before any purge
    expect(await code(() => keyring.open(backup))).toBe('ERR_STORAGE');
    await expect(keyring.open(backup)).rejects.toBeInstanceOf(ShreddedError);
    expect(await keyring.destroyExpiredKeys()).toBe(1);
    expect(await keyring.destroyExpiredKeys()).toBe(0);
    expect(await code(() => keyring.open(backup))).toBe('ERR_STORAGE');
    // Even a server whose clock is turned back cannot bring the key back.
    c.t = T0;
    expect(await keyring.open(backup).catch((e: StorageError) => e.code)).toBe('ERR_DECRYPTION_FAILED');
    expect(await keyRows(adapter)).toEqual([]);
  });

  it('destroys only ended periods, and the adapter purge does the same', async () => {
    const { c, adapter, keyring } = setup();
    const early = await keyring.seal(utf8('early'), { expiresAt: T0 + DAY });
    const late = await keyring.seal(utf8('late'), { expiresAt: T0 + 3 * DAY });
    expect(await keyring.destroyExpiredKeys({ now: T0 + DAY })).toBe(1);
    expect(await keyRows(adapter)).toHaveLength(1);
    expect(await keyring.open(late)).toEqual(utf8('late'));
    c.t = T0 + DAY - 1; // the key is deleted although its period has not ended on this clock
    expect(await code(() => keyring.open(early))).toBe('ERR_DECRYPTION_FAILED');
    c.t = T0 + 3 * DAY;
    expect(await adapter.purgeExpired()).toEqual({ deleted: 1, batches: 1 });
    c.t = T0;
    expect(await keyRows(adapter)).toEqual([]);
    expect(await code(() => keyring.open(late))).toBe('ERR_DECRYPTION_FAILED');
  });

  it('destroyAll erases one scope and leaves the others', async () => {
    const c = clock(T0);
    const adapter = createMemoryAdapter({ now: c.now });
    const acme = createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'tenant:acme' });
    const globex = createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'tenant:globex' });
    const a = await acme.seal(utf8('a'), { expiresAt: T0 + DAY });
    const g = await globex.seal(utf8('g'), { expiresAt: T0 + DAY });
    expect(await acme.destroyAll()).toBe(1);
    expect(await code(() => acme.open(a))).toBe('ERR_DECRYPTION_FAILED');
    expect(await globex.open(g)).toEqual(utf8('g'));
  });
});

describe('tampering', () => {
  it('every altered byte or aad fails; a header naming an ended period reports shredded', async () => {
    const { c, keyring } = setup(1_000);
    c.t = T0 + 500_000;
    const aad = utf8('archive:2026-01');
    const sealed = await keyring.seal(utf8('archive page'), { expiresAt: T0 + 1_000_000, aad });
    await keyring.seal(utf8('other period'), { expiresAt: T0 + 600_000 }); // a live, different key
    const counts = { failed: 0, shredded: 0 };
    for (let i = 0; i < sealed.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = sealed.slice();
        bad[i] = (bad[i] as number) ^ mask;
        const got = await code(() => keyring.open(bad, { aad }));
        let expected = 'ERR_DECRYPTION_FAILED';
        if (i >= 1 && i < 9) {
          const end = new DataView(bad.buffer, 1, 8).getBigUint64(0);
          if (end >= 1n && end <= BigInt(c.t)) expected = 'ERR_STORAGE';
        }
        expect(got, `byte ${i} ^ ${mask}`).toBe(expected);
        counts[got === 'ERR_STORAGE' ? 'shredded' : 'failed']++;
      }
    }
    expect(counts.shredded).toBeGreaterThan(0);
    const end = new DataView(sealed.buffer, sealed.byteOffset + 1, 8);
    const moved = sealed.slice();
    new DataView(moved.buffer, 1, 8).setBigUint64(0, BigInt(T0 + 600_000)); // onto the live key
    expect(await code(() => keyring.open(moved, { aad }))).toBe('ERR_DECRYPTION_FAILED');
    expect(end.getBigUint64(0)).toBe(BigInt(T0 + 1_000_000));
    expect(await code(() => keyring.open(sealed, { aad: utf8('archive:2026-02') }))).toBe(
      'ERR_DECRYPTION_FAILED',
    );
    expect(await code(() => keyring.open(sealed))).toBe('ERR_DECRYPTION_FAILED');
    expect(await code(() => keyring.open(sealed.subarray(0, sealed.length - 1), { aad }))).toBe(
      'ERR_DECRYPTION_FAILED',
    );
    expect(await code(() => keyring.open(sealed.subarray(0, SHRED_OVERHEAD - 1), { aad }))).toBe(
      'ERR_DECRYPTION_FAILED',
    );
    expect(await code(() => keyring.open(EMPTY))).toBe('ERR_DECRYPTION_FAILED');
    const extended = new Uint8Array(sealed.length + 1);
    extended.set(sealed);
    expect(await code(() => keyring.open(extended, { aad }))).toBe('ERR_DECRYPTION_FAILED');
    expect(await keyring.open(sealed, { aad })).toEqual(utf8('archive page'));
  });

  it('binds the scope: a key row copied to another scope does not open its ciphertexts', async () => {
    const c = clock(T0);
    const adapter = createMemoryAdapter({ now: c.now });
    const a = createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'a' });
    const b = createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'b' });
    const sealed = await a.seal(utf8('scoped'), { expiresAt: T0 + DAY });
    expect(await code(() => b.open(sealed))).toBe('ERR_DECRYPTION_FAILED'); // no key in scope b
    await adapter.transaction(async (tx) => {
      for (const row of await tx.list(DEFAULT_SHRED_TABLE, utf8('a'))) {
        await tx.put(DEFAULT_SHRED_TABLE, { ...row, partition: utf8('b') });
      }
    });
    expect(await code(() => b.open(sealed))).toBe('ERR_DECRYPTION_FAILED');
    expect(await a.open(sealed)).toEqual(utf8('scoped'));
  });
});

/**
 * An adapter whose transactions run each operation as its own committed transaction of `base`,
 * and hold every transaction's first `get` until `parties` transactions have made theirs: both
 * sealers see "no key yet" and race to create it, as under READ COMMITTED on PostgreSQL.
 */
function racingAdapter(base: StorageAdapter, parties: number, puts: boolean[]): StorageAdapter {
  let arrived = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  const one = <T>(fn: (tx: StorageTx) => Promise<T>) => base.transaction(fn);
  return {
    kind: 'racing',
    now: base.now,
    purgeExpired: (o) => base.purgeExpired(o),
    close: () => base.close(),
    async transaction(fn) {
      let first = true;
      const tx: StorageTx = {
        now: base.now(),
        async get(t, p, s, o) {
          const row = await one((x) => x.get(t, p, s, o));
          if (first) {
            first = false;
            if (++arrived === parties) release();
            await all;
          }
          return row;
        },
        async put(t, r, o) {
          const ok = await one((x) => x.put(t, r, o));
          puts.push(ok);
          return ok;
        },
        putMany: (t, r, o) => one((x) => x.putMany(t, r, o)),
        getMany: (t, k) => one((x) => x.getMany(t, k)),
        deleteMany: (t, k) => one((x) => x.deleteMany(t, k)),
        claimMany: (t, c, behind) => one((x) => x.claimMany(t, c, behind)),
        delete: (t, p, s) => one((x) => x.delete(t, p, s)),
        list: (t, p, o) => one((x) => x.list(t, p, o)),
        take: (t, p, o) => one((x) => x.take(t, p, o)),
        count: (t, p, o) => one((x) => x.count(t, p, o)),
        usage: (t, p) => one((x) => x.usage(t, p)),
        deletePartition: (t, p) => one((x) => x.deletePartition(t, p)),
      };
      return fn(tx);
    },
  };
}

describe('concurrent first use of a period', () => {
  it('serialised transactions: concurrent seals create one key', async () => {
    const { adapter, keyring } = setup();
    const sealed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => keyring.seal(utf8(`m${i}`), { expiresAt: T0 + 2 * DAY })),
    );
    expect(await keyRows(adapter)).toHaveLength(1);
    for (const [i, s] of sealed.entries()) expect(await keyring.open(s)).toEqual(utf8(`m${i}`));
  });

  it('racing transactions: both create a candidate, one is stored, both use it', async () => {
    const c = clock(T0);
    const base = createMemoryAdapter({ now: c.now });
    const puts: boolean[] = [];
    const racing = createShreddingKeyring({ adapter: racingAdapter(base, 2, puts), provider, periodMs: DAY });
    const [x, y] = await Promise.all([
      racing.seal(utf8('x'), { expiresAt: T0 + DAY }),
      racing.seal(utf8('y'), { expiresAt: T0 + DAY }),
    ]);
    expect(puts.sort()).toEqual([false, true]);
    expect(await keyRows(base)).toHaveLength(1);
    const plain = createShreddingKeyring({ adapter: base, provider, periodMs: DAY });
    expect(await plain.open(x as Uint8Array)).toEqual(utf8('x'));
    expect(await plain.open(y as Uint8Array)).toEqual(utf8('y'));
  });
});

describe('period boundaries', () => {
  it('chooses the first period end at or after expiresAt', () => {
    expect(shredPeriodEnd(T0, DAY)).toBe(T0);
    expect(shredPeriodEnd(T0 + 1, DAY)).toBe(T0 + DAY);
    expect(shredPeriodEnd(T0 - 1, DAY)).toBe(T0);
    expect(shredPeriodEnd(1, DAY)).toBe(DAY);
    expect(shredPeriodEnd(7, 7)).toBe(7);
    expect(shredPeriodEnd(8, 7)).toBe(14);
  });

  it('data expiring exactly at a period end opens until that instant and is shredded at it', async () => {
    const { c, keyring } = setup();
    const exact = await keyring.seal(utf8('exact'), { expiresAt: T0 + DAY });
    const after = await keyring.seal(utf8('after'), { expiresAt: T0 + DAY + 1 });
    c.t = T0 + DAY - 1;
    expect(await keyring.open(exact)).toEqual(utf8('exact'));
    c.t = T0 + DAY;
    expect(await code(() => keyring.open(exact))).toBe('ERR_STORAGE');
    expect(await keyring.open(after)).toEqual(utf8('after'));
    c.t = T0 + 2 * DAY;
    expect(await code(() => keyring.open(after))).toBe('ERR_STORAGE');
  });

  it('rejects a period end beyond the safe integer range', async () => {
    expect(await code(() => shredPeriodEnd(Number.MAX_SAFE_INTEGER, DAY))).toBe('ERR_VALIDATION');
    expect(shredPeriodEnd(Number.MAX_SAFE_INTEGER, 1)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('wiping', () => {
  it('zeroes the period key and the derived record key after use', async () => {
    const c = clock(T0);
    const adapter = createMemoryAdapter({ now: c.now });
    const seen: Uint8Array[] = [];
    const spy = Object.create(provider) as CryptoProvider;
    const gcm = Object.create(provider.aes256gcm) as CryptoProvider['aes256gcm'];
    Object.defineProperty(gcm, 'encrypt', {
      value: (k: Uint8Array, n: Uint8Array, p: Uint8Array, a?: Uint8Array) => {
        seen.push(k, n);
        return provider.aes256gcm.encrypt(k, n, p, a);
      },
    });
    Object.defineProperty(gcm, 'decrypt', {
      value: (k: Uint8Array, n: Uint8Array, p: Uint8Array, a?: Uint8Array) => {
        seen.push(k, n);
        return provider.aes256gcm.decrypt(k, n, p, a);
      },
    });
    Object.defineProperty(spy, 'aes256gcm', { value: gcm });
    Object.defineProperty(spy, 'hkdfSha256', {
      value: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => {
        seen.push(ikm);
        return provider.hkdfSha256(ikm, salt, info, length);
      },
    });
    const keyring = createShreddingKeyring({ adapter, provider: spy, periodMs: DAY });
    const sealed = await keyring.seal(utf8('secret'), { expiresAt: T0 + DAY });
    expect(await keyring.open(sealed)).toEqual(utf8('secret'));
    expect(seen).toHaveLength(6);
    for (const bytes of seen) expect(bytes.every((b) => b === 0)).toBe(true);
    // The stored key itself is intact.
    expect((await keyRows(adapter))[0]?.value.some((b) => b !== 0)).toBe(true);
  });
});

describe('validation', () => {
  it('rejects bad keyring options', async () => {
    const adapter = createMemoryAdapter();
    const base = { adapter, provider, periodMs: DAY };
    const bad: [string, unknown][] = [
      ['no options', undefined],
      ['no adapter', { ...base, adapter: undefined }],
      ['no provider', { ...base, provider: {} }],
      ['period 0', { ...base, periodMs: 0 }],
      ['period below one second', { ...base, periodMs: 999 }],
      ['period fractional', { ...base, periodMs: 1000.5 }],
      ['period NaN', { ...base, periodMs: Number.NaN }],
      ['period above ten years', { ...base, periodMs: 10 * 365 * DAY + 1 }],
      ['bad table', { ...base, table: 'Keys' }],
      ['bad scope', { ...base, scope: 'a b' }],
      ['long scope', { ...base, scope: 'a'.repeat(129) }],
      ['scope not a string', { ...base, scope: 5 }],
    ];
    for (const [name, options] of bad) {
      expect(await code(() => createShreddingKeyring(options as never)), name).toBe('ERR_VALIDATION');
    }
    expect(
      await code(() => createShreddingKeyring({ ...base, table: 'archive_keys', scope: 'tenant:acme/2026' })),
    ).toBe('accepted');
  });

  it('rejects bad seal and open arguments and writes nothing', async () => {
    const { c, adapter, keyring } = setup();
    const cases: [string, () => Promise<unknown>, string][] = [
      ['plaintext not bytes', () => keyring.seal('text' as never, { expiresAt: T0 + DAY }), 'ERR_VALIDATION'],
      ['no options', () => keyring.seal(EMPTY, undefined as never), 'ERR_VALIDATION'],
      ['expiresAt now', () => keyring.seal(EMPTY, { expiresAt: T0 }), 'ERR_VALIDATION'],
      ['expiresAt past', () => keyring.seal(EMPTY, { expiresAt: T0 - DAY }), 'ERR_VALIDATION'],
      ['expiresAt 0', () => keyring.seal(EMPTY, { expiresAt: 0 }), 'ERR_VALIDATION'],
      ['expiresAt NaN', () => keyring.seal(EMPTY, { expiresAt: Number.NaN }), 'ERR_VALIDATION'],
      ['expiresAt fractional', () => keyring.seal(EMPTY, { expiresAt: T0 + 0.5 }), 'ERR_VALIDATION'],
      ['expiresAt null', () => keyring.seal(EMPTY, { expiresAt: null as never }), 'ERR_VALIDATION'],
      [
        'aad not bytes',
        () => keyring.seal(EMPTY, { expiresAt: T0 + DAY, aad: 'x' as never }),
        'ERR_VALIDATION',
      ],
      [
        'aad too long',
        () => keyring.seal(EMPTY, { expiresAt: T0 + DAY, aad: new Uint8Array(64 * 1024 + 1) }),
        'ERR_VALIDATION',
      ],
      [
        'plaintext too long',
        () => keyring.seal(new Uint8Array(MAX_SHRED_PLAINTEXT_BYTES + 1), { expiresAt: T0 + DAY }),
        'ERR_LIMIT',
      ],
      ['open not bytes', () => keyring.open([1, 2, 3] as never), 'ERR_VALIDATION'],
      ['open bad options', () => keyring.open(EMPTY, null as never), 'ERR_VALIDATION'],
      ['open aad not bytes', () => keyring.open(EMPTY, { aad: 'x' as never }), 'ERR_VALIDATION'],
      ['destroy now negative', () => keyring.destroyExpiredKeys({ now: -1 }), 'ERR_VALIDATION'],
      ['destroy now NaN', () => keyring.destroyExpiredKeys({ now: Number.NaN }), 'ERR_VALIDATION'],
      [
        'period end not safe',
        () => keyring.seal(EMPTY, { expiresAt: Number.MAX_SAFE_INTEGER }),
        'ERR_VALIDATION',
      ],
    ];
    for (const [name, run, expected] of cases) expect(await code(run), name).toBe(expected);
    expect(await keyRows(adapter)).toEqual([]);
    c.t = T0;
    expect(await code(() => keyring.seal(EMPTY, { expiresAt: T0 + 1 }))).toBe('accepted');
  });

  it('reports a malformed key row as a storage error, not as shredded data', async () => {
    const { adapter, keyring } = setup();
    const sealed = await keyring.seal(utf8('x'), { expiresAt: T0 + DAY });
    await adapter.transaction(async (tx) => {
      const [row] = await tx.list(DEFAULT_SHRED_TABLE, EMPTY);
      if (row !== undefined) await tx.put(DEFAULT_SHRED_TABLE, { ...row, value: row.value.subarray(0, 10) });
    });
    const error = await keyring.open(sealed).catch((e: unknown) => e);
    expect((error as StorageError).code).toBe('ERR_STORAGE');
    expect(error).not.toBeInstanceOf(ShreddedError);
  });
});
