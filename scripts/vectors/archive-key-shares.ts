/**
 * Test vectors for the auditors' k-of-n archive key (`test-vectors/archive-key-shares.json`,
 * construction and layout in `spec/archive-keys.md`).
 *
 * `splitArchiveKey` takes its Shamir coefficients from the `shamir-secret-sharing` library's own
 * CSPRNG, so its output cannot be reproduced from a seed. This script therefore makes the shares
 * itself, with its own GF(2^8) arithmetic (polynomial x^8 + x^4 + x^3 + x + 1, the library's
 * field; share = 32 y bytes then the x coordinate), and wraps them by hand from the layout. Each
 * case draws, from the noble provider seeded with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/archive-key-shares/" + name))`,
 * in this order: the archive X25519 key pair, one X25519 key pair per key-wrapped holder (in holder
 * order), the set id (16 bytes), then the polynomial coefficients (for each of the 32 key bytes,
 * `threshold − 1` bytes, lowest degree first). Share `j`'s wrap draws from the seed
 * `".../" + name + "/wrap/" + j`: the HPKE ephemeral key, or the salt (32) then the nonce (12).
 *
 * Self-checks (node provider): every share unwraps with `unwrapArchiveShare`; every subset of
 * `threshold` shares rebuilds the key with `combineArchiveShares` (the library's interpolation:
 * this checks our shares against it); `rewrapArchiveShare` with the share's wrap seed gives the
 * same bytes as the assembly by hand; every invalid case fails with its recorded error code.
 * Passphrase wraps use the scrypt floor (N = 2^15, r = 8, p = 1) to keep the check fast.
 */
import {
  ARCHIVE_SHARE_AAD_LABEL,
  ARCHIVE_SHARE_INFO_LABEL,
  ARCHIVE_SHARE_MAGIC,
  type ArchiveShare,
  type CryptoProvider,
  combineArchiveShares,
  concatBytes,
  createNobleProvider,
  fromHex,
  generateArchiveKey,
  normalizePin,
  PIN_SCRYPT_FLOOR,
  rewrapArchiveShare,
  sealHpke,
  toHex,
  unwrapArchiveShare,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const ARCHIVE_KEY_SHARES_SEED_PREFIX = 'cloister/test-vectors/archive-key-shares/';

const check = createNodeProvider();

function seeded(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(ARCHIVE_KEY_SHARES_SEED_PREFIX + name)),
  );
}

function fail(what: string): never {
  throw new Error(`archive-key-shares vector self-check failed: ${what}`);
}

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (0x11b). */
function gfMul(a: number, b: number): number {
  let product = 0;
  let x = a;
  let y = b;
  while (y > 0) {
    if (y & 1) product ^= x;
    x = x & 0x80 ? ((x << 1) ^ 0x11b) & 0xff : x << 1;
    y >>= 1;
  }
  return product;
}

/** The 33-byte Shamir share at `x` of the polynomials with constant terms `secret`. */
function shareAt(secret: Uint8Array, coefficients: readonly Uint8Array[], x: number): Uint8Array {
  const out = new Uint8Array(secret.length + 1);
  for (let i = 0; i < secret.length; i++) {
    // Horner: a0 + x (a1 + x (a2 + ...)), coefficients[i] = a1..a(k-1) of byte i.
    const c = coefficients[i] as Uint8Array;
    let y = 0;
    for (let d = c.length - 1; d >= 0; d--) y = gfMul(y, x) ^ (c[d] as number);
    out[i] = gfMul(y, x) ^ (secret[i] as number);
  }
  out[secret.length] = x;
  return out;
}

type Recipient = { kind: 'key' } | { kind: 'passphrase'; passphrase: string };

interface CaseSpec {
  readonly name: string;
  readonly description: string;
  readonly threshold: number;
  readonly holders: readonly { readonly holder: string; readonly recipient: Recipient; readonly x: number }[];
}

const CASES: readonly CaseSpec[] = [
  {
    name: 'three-auditors-2-of-3',
    description: 'threshold 2 of 3: two shares wrapped to auditors’ X25519 keys, one under a passphrase',
    threshold: 2,
    holders: [
      { holder: 'dpo@example.org', recipient: { kind: 'key' }, x: 0x4d },
      { holder: 'internal-audit@example.org', recipient: { kind: 'key' }, x: 0x01 },
      {
        holder: 'Jürgen Groß (CISO)',
        recipient: { kind: 'passphrase', passphrase: 'Kaffee ist fertig, 4 Löffel' },
        x: 0xff,
      },
    ],
  },
  {
    name: 'four-auditors-3-of-4',
    description: 'threshold 3 of 4, every share wrapped to an X25519 key',
    threshold: 3,
    holders: [
      { holder: 'a@example.org', recipient: { kind: 'key' }, x: 0x10 },
      { holder: 'b@example.org', recipient: { kind: 'key' }, x: 0x20 },
      { holder: 'c@example.org', recipient: { kind: 'key' }, x: 0x30 },
      { holder: 'd@example.org', recipient: { kind: 'key' }, x: 0x40 },
    ],
  },
];

type Secret = { privateKey: Uint8Array } | { passphrase: string };

function secretJson(secret: Secret): { privateKey: string } | { passphrase: string } {
  return 'privateKey' in secret
    ? { privateKey: toHex(secret.privateKey) }
    : { passphrase: secret.passphrase };
}

function header(o: {
  wrap: number;
  setId: Uint8Array;
  archivePublicKey: Uint8Array;
  threshold: number;
  total: number;
  index: number;
  holder: string;
}): Uint8Array {
  const holder = utf8(o.holder);
  return concatBytes(
    utf8(ARCHIVE_SHARE_MAGIC),
    Uint8Array.of(1, o.wrap),
    o.setId,
    o.archivePublicKey,
    Uint8Array.of(o.threshold, o.total, o.index, holder.length),
    holder,
  );
}

/** Wraps a share by hand from the layout; randomness from `p`. */
async function wrapByHand(
  p: CryptoProvider,
  head: Uint8Array,
  share: Uint8Array,
  to: { publicKey: Uint8Array } | { passphrase: string },
) {
  if ('publicKey' in to) {
    const info = utf8(ARCHIVE_SHARE_INFO_LABEL);
    const aad = concatBytes(utf8(ARCHIVE_SHARE_AAD_LABEL), head);
    const { enc, ciphertext } = await sealHpke(p, {
      aead: 'aes-256-gcm',
      recipientPublicKey: to.publicKey,
      info,
      aad,
      plaintext: share,
    });
    return {
      wrapped: concatBytes(head, enc, ciphertext),
      intermediates: {
        header: toHex(head),
        info: toHex(info),
        aad: toHex(aad),
        enc: toHex(enc),
        ciphertext: toHex(ciphertext),
      },
    };
  }
  const salt = p.randomBytes(32);
  const nonce = p.randomBytes(12);
  const { N, r, p: par } = PIN_SCRYPT_FLOOR;
  const prefix = concatBytes(head, Uint8Array.of(Math.log2(N), r, par), salt, nonce);
  const aad = concatBytes(utf8(ARCHIVE_SHARE_AAD_LABEL), prefix);
  const key = await check.scrypt(normalizePin(to.passphrase), salt, { N, r, p: par, dkLen: 32 });
  const ciphertext = await check.aes256gcm.encrypt(key, nonce, share, aad);
  return {
    wrapped: concatBytes(prefix, ciphertext),
    intermediates: {
      header: toHex(head),
      scrypt: { N, r, p: par, dkLen: 32 },
      salt: toHex(salt),
      nonce: toHex(nonce),
      key: toHex(key),
      aad: toHex(aad),
      ciphertext: toHex(ciphertext),
    },
  };
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    for (const rest of subsets(items.slice(i + 1), k - 1)) out.push([item, ...rest]);
  });
  return out;
}

async function build(spec: CaseSpec) {
  const p = seeded(spec.name);
  const archive = await generateArchiveKey(p);
  const recipients = [];
  for (const h of spec.holders) {
    if (h.recipient.kind === 'key') {
      const kp = await p.x25519.generateKeyPair();
      recipients.push({ to: { publicKey: kp.publicKey }, secret: { privateKey: kp.privateKey } as Secret });
    } else {
      const { passphrase } = h.recipient;
      recipients.push({ to: { passphrase }, secret: { passphrase } as Secret });
    }
  }
  const setId = p.randomBytes(16);
  const coefficients = Array.from({ length: 32 }, () => p.randomBytes(spec.threshold - 1));
  const total = spec.holders.length;
  const holders = [];
  const shares: { share: ArchiveShare; secret: Secret; wrapped: Uint8Array }[] = [];
  for (const [i, h] of spec.holders.entries()) {
    const r = recipients[i] as (typeof recipients)[number];
    const share = shareAt(archive.privateKey, coefficients, h.x);
    const head = header({
      wrap: h.recipient.kind === 'key' ? 1 : 2,
      setId,
      archivePublicKey: archive.publicKey,
      threshold: spec.threshold,
      total,
      index: i + 1,
      holder: h.holder,
    });
    const wrapSeed = `${spec.name}/wrap/${i + 1}`;
    const { wrapped, intermediates } = await wrapByHand(seeded(wrapSeed), head, share, r.to);
    const unwrapped = await unwrapArchiveShare(check, wrapped, r.secret);
    const rewrapTo = 'publicKey' in r.to ? r.to : { passphrase: r.to.passphrase, scrypt: PIN_SCRYPT_FLOOR };
    const again = await rewrapArchiveShare(seeded(wrapSeed), unwrapped, rewrapTo);
    if (toHex(again) !== toHex(wrapped)) fail(`${spec.name}: holder ${i + 1} rewrap differs from the layout`);
    shares.push({ share: unwrapped, secret: r.secret, wrapped });
    holders.push({
      holder: h.holder,
      index: i + 1,
      wrap: h.recipient.kind,
      ...('publicKey' in r.to ? { recipientPublicKey: toHex(r.to.publicKey) } : {}),
      secret: secretJson(r.secret),
      wrapSeed: ARCHIVE_KEY_SHARES_SEED_PREFIX + wrapSeed,
      share: toHex(share),
      intermediates,
      wrapped: toHex(wrapped),
    });
  }
  for (const subset of subsets(shares, spec.threshold)) {
    const rebuilt = await combineArchiveShares(
      check,
      subset.map((s) => s.share),
    );
    if (toHex(rebuilt.privateKey) !== toHex(archive.privateKey))
      fail(`${spec.name}: a subset did not rebuild the key`);
  }
  return {
    vector: {
      name: spec.name,
      description: spec.description,
      seed: ARCHIVE_KEY_SHARES_SEED_PREFIX + spec.name,
      archivePrivateKey: toHex(archive.privateKey),
      archivePublicKey: toHex(archive.publicKey),
      setId: toHex(setId),
      threshold: spec.threshold,
      total,
      coefficients: coefficients.map(toHex),
      holders,
    },
    shares,
    setId,
    archive,
    spec,
  };
}

async function expectError(what: string, expected: string, run: () => Promise<unknown>): Promise<string> {
  let error = 'none';
  try {
    await run();
  } catch (e) {
    error = (e as { code?: string }).code ?? 'unknown';
  }
  if (error !== expected) fail(`${what}: ${error}, expected ${expected}`);
  return error;
}

async function invalid(base: Awaited<ReturnType<typeof build>>, other: Awaited<ReturnType<typeof build>>) {
  const { vector, shares, setId, archive, spec } = base;
  const [first, second, third] = shares as [(typeof shares)[0], (typeof shares)[0], (typeof shares)[0]];
  const w = first.wrapped;
  const holder0 = spec.holders[0]?.holder ?? '';
  const headLength = utf8(ARCHIVE_SHARE_MAGIC).length + 2 + 16 + 32 + 4 + utf8(holder0).length;
  const rest = w.subarray(headLength);
  const moved = (o: Partial<Parameters<typeof header>[0]>) =>
    concatBytes(
      header({
        wrap: 1,
        setId,
        archivePublicKey: archive.publicKey,
        threshold: spec.threshold,
        total: spec.holders.length,
        index: 1,
        holder: holder0,
        ...o,
      }),
      rest,
    );
  const flip = (bytes: Uint8Array, at: number) => Uint8Array.from(bytes, (b, i) => (i === at ? b ^ 1 : b));
  const set = (bytes: Uint8Array, at: number, v: number) =>
    Uint8Array.from(bytes, (b, i) => (i === at ? v : b));
  const m = utf8(ARCHIVE_SHARE_MAGIC).length;
  const unwrapCases: {
    name: string;
    description: string;
    wrapped: Uint8Array;
    secret: Secret;
    error: string;
  }[] = [
    {
      name: 'ciphertext-changed',
      description: 'a bit of the GCM tag flipped',
      wrapped: flip(w, w.length - 1),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'enc-changed',
      description: 'a bit of the HPKE enc flipped',
      wrapped: flip(w, headLength),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'moved-to-another-holder',
      description: 'the header names another holder',
      wrapped: moved({ holder: 'mallory@example.org' }),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'moved-to-another-set',
      description: 'the header names another set id',
      wrapped: moved({ setId: new Uint8Array(16).fill(0xee) }),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'index-changed',
      description: 'the header says index 2',
      wrapped: moved({ index: 2 }),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'threshold-changed',
      description: 'the header says threshold 3',
      wrapped: moved({ threshold: 3 }),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'archive-key-changed',
      description: 'the header names another archive public key',
      wrapped: moved({ archivePublicKey: other.archive.publicKey }),
      secret: first.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'wrong-private-key',
      description: "holder 1's share opened with holder 2's key",
      wrapped: w,
      secret: second.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'wrong-passphrase',
      description: 'the passphrase share opened with another passphrase',
      wrapped: third.wrapped,
      secret: { passphrase: 'Kaffee ist fertig, 5 Löffel' },
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'salt-changed',
      description: 'a bit of the scrypt salt of the passphrase share flipped',
      wrapped: flip(third.wrapped, third.wrapped.length - 49 - 12 - 1),
      secret: third.secret,
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'magic-changed',
      description: 'the magic misspelt',
      wrapped: set(w, 0, 0x43),
      secret: first.secret,
      error: 'ERR_DECODE',
    },
    {
      name: 'threshold-above-total',
      description: 'threshold 4 of 3',
      wrapped: set(w, m + 2 + 48, 4),
      secret: first.secret,
      error: 'ERR_DECODE',
    },
    {
      name: 'trailing-byte',
      description: 'one byte appended',
      wrapped: concatBytes(w, Uint8Array.of(0)),
      secret: first.secret,
      error: 'ERR_DECODE',
    },
    {
      name: 'scrypt-below-floor',
      description: 'the passphrase share names log2 N = 14',
      wrapped: set(third.wrapped, third.wrapped.length - 49 - 12 - 32 - 3, 14),
      secret: third.secret,
      error: 'ERR_DECODE',
    },
  ];
  const out: unknown[] = [];
  for (const c of unwrapCases) {
    await expectError(c.name, c.error, () => unwrapArchiveShare(check, c.wrapped, c.secret));
    out.push({
      name: c.name,
      description: c.description,
      base: vector.name,
      step: 'unwrap',
      wrapped: toHex(c.wrapped),
      secret: secretJson(c.secret),
      error: c.error,
    });
  }
  // Combining: what a forger can hand the combining auditor.
  const substituteHead = second.wrapped.subarray(0, second.wrapped.length - 32 - 49);
  const fake = concatBytes(new Uint8Array(32).fill(0x5a), Uint8Array.of(0x07));
  const { enc, ciphertext } = await sealHpke(seeded(`${spec.name}/substitute`), {
    aead: 'aes-256-gcm',
    recipientPublicKey: fromHex((vector.holders[1] as { recipientPublicKey: string }).recipientPublicKey),
    info: utf8(ARCHIVE_SHARE_INFO_LABEL),
    aad: concatBytes(utf8(ARCHIVE_SHARE_AAD_LABEL), substituteHead),
    plaintext: fake,
  });
  const substituted = concatBytes(substituteHead, enc, ciphertext);
  const otherShare = other.shares[1] as (typeof shares)[0];
  const combineCases: {
    name: string;
    description: string;
    shares: { wrapped: Uint8Array; secret: Secret }[];
    error: string;
  }[] = [
    {
      name: 'substituted-share',
      description:
        "a share of the forger's choice, wrapped (HPKE needs only the public key) to holder 2 under holder 2's real header",
      shares: [first, { wrapped: substituted, secret: second.secret }],
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'substituted-share-among-all',
      description: 'the substituted share with both genuine others',
      shares: [first, { wrapped: substituted, secret: second.secret }, third],
      error: 'ERR_DECRYPTION_FAILED',
    },
    {
      name: 'share-of-another-set',
      description: 'a genuine share of another split',
      shares: [first, otherShare],
      error: 'ERR_VALIDATION',
    },
    {
      name: 'below-threshold',
      description: 'one share of a 2-of-3 set',
      shares: [first],
      error: 'ERR_VALIDATION',
    },
    {
      name: 'repeated-share',
      description: 'the same share twice',
      shares: [first, first],
      error: 'ERR_VALIDATION',
    },
  ];
  for (const c of combineCases) {
    await expectError(c.name, c.error, async () => {
      const unwrapped = [];
      for (const s of c.shares) unwrapped.push(await unwrapArchiveShare(check, s.wrapped, s.secret));
      return combineArchiveShares(check, unwrapped);
    });
    out.push({
      name: c.name,
      description: c.description,
      base: vector.name,
      step: 'combine',
      shares: c.shares.map((s) => ({ wrapped: toHex(s.wrapped), secret: secretJson(s.secret) })),
      error: c.error,
    });
  }
  return out;
}

export default {
  file: 'archive-key-shares.json',
  async generate() {
    const built = [];
    for (const spec of CASES) built.push(await build(spec));
    const [first, second] = built as [(typeof built)[0], (typeof built)[0]];
    return {
      description:
        "The auditors' archive key split k-of-n: Shamir shares over GF(2^8) (x^8 + x^4 + x^3 + x + 1; share = 32 y bytes | x) of the X25519 archive private key, each wrapped for one auditor with HPKE mode base (DHKEM-X25519, HKDF-SHA256, AES-256-GCM) or scrypt + AES-256-GCM, the header authenticated as associated data. See spec/archive-keys.md.",
      layout:
        'magic "cloister/archive-share/v1" (25) | version (1) = 1 | wrap (1) = 1 key, 2 passphrase | setId (16) | archivePublicKey (32) | threshold (1) | total (1) | index (1) | u8 len, holder | key: enc (32) | passphrase: log2 N (1) | r (1) | p (1) | salt (32) | nonce (12) | then ciphertext (49)',
      valid: built.map((b) => b.vector),
      invalid: await invalid(first, second),
    };
  },
};
