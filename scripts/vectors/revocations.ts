/**
 * Signed revocation lists and reach statements (`test-vectors/revocations.json`, format in
 * spec/revocations.md): two lists of one tenant (version 1, empty; version 2, a blocked user and a
 * blocked device), two reach statements (a user in the open area, a user in a pool that another
 * pool may reach), and byte strings every reader must refuse, each with the rule it breaks and the
 * error code (`ERR_DECODE` with its path, or `ERR_INVALID_KEY` from verification). The tenant key
 * comes from the noble provider with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/revocations/" + name))`; Ed25519
 * signatures are deterministic, so every byte is reproducible. Each case is checked again with the
 * node provider before it is written.
 */
import {
  concatBytes,
  createNobleProvider,
  DecodeError,
  deviceId,
  toHex,
  uintBE,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
import {
  decodeReachStatement,
  decodeRevocationList,
  poolId,
  REACH_STATEMENT_LABEL,
  REVOCATION_LIST_LABEL,
  type ReachStatementBody,
  type RevocationListBody,
  reachStatementSignedBytes,
  revocationListSignedBytes,
  signReachStatement,
  signRevocationList,
  tenantId,
  userId,
  verifyReachStatement,
  verifyRevocationList,
} from '@cloister/protocol';

const SEED_PREFIX = 'cloister/test-vectors/revocations/';
const noble = createNobleProvider();
const node = createNodeProvider();
const tenant = tenantId('acme');
const T0 = 1_780_000_000_000;

async function keyPair(name: string) {
  return noble
    .withRandom(INSECURE_seededRandomForTestsOnly(utf8(SEED_PREFIX + name)))
    .ed25519.generateKeyPair();
}

function fail(what: string): never {
  throw new Error(`revocation vector self-check failed: ${what}`);
}

const id = (s: string) => Uint8Array.of(utf8(s).length, ...utf8(s));

/** Raw list bytes without the encoder's checks, for the cases to refuse. */
function rawList(
  format: number,
  version: number,
  entries: readonly [user: string, scope: number, device: number, at: number][],
): Uint8Array {
  return concatBytes(
    Uint8Array.of(format),
    id(tenant),
    uintBE(version, 8),
    uintBE(T0, 8),
    uintBE(entries.length, 2),
    ...entries.flatMap(([u, s, d, at]) => [id(u), Uint8Array.of(s), uintBE(d, 4), uintBE(at, 8)]),
  );
}

function rawReach(user: string, pools: readonly string[], reachedBy: readonly string[]): Uint8Array {
  return concatBytes(
    Uint8Array.of(1),
    id(tenant),
    id(user),
    uintBE(3, 8),
    uintBE(T0, 8),
    Uint8Array.of(pools.length),
    ...pools.map(id),
    uintBE(reachedBy.length, 2),
    ...reachedBy.map(id),
  );
}

export async function generateRevocationVectors() {
  const tenantKey = await keyPair('tenant');
  const otherKey = await keyPair('other-tenant');
  const signRaw = async (label: string, unsigned: Uint8Array, key = tenantKey.privateKey) =>
    concatBytes(unsigned, await noble.ed25519.sign(key, concatBytes(utf8(label), unsigned)));

  const list1: RevocationListBody = { tenant, version: 1, issuedAtMs: T0, entries: [] };
  const list2: RevocationListBody = {
    tenant,
    version: 2,
    issuedAtMs: T0 + 60_000,
    entries: [
      { userId: userId('bob'), deviceId: deviceId(2), revokedAtMs: T0 + 30_000 },
      { userId: userId('mallory'), revokedAtMs: T0 + 45_000 },
    ],
  };
  const openReach: ReachStatementBody = {
    tenant,
    user: userId('alice'),
    version: 1,
    issuedAtMs: T0,
    pools: [],
    reachedBy: [],
  };
  const wardReach: ReachStatementBody = {
    tenant,
    user: userId('carol'),
    version: 5,
    issuedAtMs: T0 + 60_000,
    pools: [poolId('ward-3')],
    reachedBy: [poolId('pharmacy'), poolId('ward-3')],
  };
  const lists = [];
  for (const body of [list1, list2]) {
    const bytes = await signRevocationList(noble, body, tenantKey.privateKey);
    const decoded = decodeRevocationList(bytes);
    await verifyRevocationList(node, decoded, { tenant, tenantPublicKey: tenantKey.publicKey });
    lists.push({
      version: body.version,
      issuedAtMs: body.issuedAtMs,
      entries: body.entries.map((e) => ({
        userId: e.userId,
        deviceId: e.deviceId ?? null,
        revokedAtMs: e.revokedAtMs,
      })),
      signedBytes: toHex(revocationListSignedBytes(body)),
      bytes: toHex(bytes),
    });
  }
  const reaches = [];
  for (const body of [openReach, wardReach]) {
    const bytes = await signReachStatement(noble, body, tenantKey.privateKey);
    await verifyReachStatement(node, decodeReachStatement(bytes), {
      tenant,
      user: body.user,
      tenantPublicKey: tenantKey.publicKey,
    });
    reaches.push({
      user: body.user,
      version: body.version,
      issuedAtMs: body.issuedAtMs,
      pools: body.pools,
      reachedBy: body.reachedBy,
      signedBytes: toHex(reachStatementSignedBytes(body)),
      bytes: toHex(bytes),
    });
  }

  const good = Uint8Array.from(Buffer.from(lists[1]?.bytes ?? '', 'hex'));
  const tampered = good.slice();
  tampered[tampered.length - 65] = (tampered[tampered.length - 65] as number) ^ 1;
  const trailing = concatBytes(good, Uint8Array.of(0));
  const L = REVOCATION_LIST_LABEL;
  const R = REACH_STATEMENT_LABEL;
  const at = T0 + 1;
  const refuse = [
    {
      kind: 'list',
      name: 'other-key',
      description: 'a list signed by a key that is not the tenant key',
      bytes: await signRevocationList(noble, list2, otherKey.privateKey),
      error: 'ERR_INVALID_KEY',
    },
    {
      kind: 'list',
      name: 'signature-altered',
      description: 'the last byte of revokedAtMs of the last entry flipped after signing',
      bytes: tampered,
      error: 'ERR_INVALID_KEY',
    },
    {
      kind: 'list',
      name: 'other-tenant',
      description: 'a list of tenant "other" signed with the tenant key',
      bytes: await signRevocationList(noble, { ...list2, tenant: tenantId('other') }, tenantKey.privateKey),
      error: 'ERR_INVALID_KEY',
    },
    {
      kind: 'list',
      name: 'trailing-byte',
      description: 'one byte after the signature',
      bytes: trailing,
      error: 'ERR_DECODE',
      path: 'revocations',
    },
    {
      kind: 'list',
      name: 'unknown-format',
      description: 'format byte 2',
      bytes: await signRaw(L, rawList(2, 1, [])),
      error: 'ERR_DECODE',
      path: 'revocations.format',
    },
    {
      kind: 'list',
      name: 'version-zero',
      description: 'version 0',
      bytes: await signRaw(L, rawList(1, 0, [])),
      error: 'ERR_DECODE',
      path: 'revocations.version',
    },
    {
      kind: 'list',
      name: 'entries-out-of-order',
      description: 'user "mallory" before user "bob"',
      bytes: await signRaw(
        L,
        rawList(1, 2, [
          ['mallory', 0, 0, at],
          ['bob', 1, 2, at],
        ]),
      ),
      error: 'ERR_DECODE',
      path: 'revocations.entries[1]',
    },
    {
      kind: 'list',
      name: 'entry-repeated',
      description: 'device 2 of bob listed twice',
      bytes: await signRaw(
        L,
        rawList(1, 2, [
          ['bob', 1, 2, at],
          ['bob', 1, 2, at],
        ]),
      ),
      error: 'ERR_DECODE',
      path: 'revocations.entries[1]',
    },
    {
      kind: 'list',
      name: 'device-of-revoked-user',
      description: 'a device entry of a user whose every device is revoked',
      bytes: await signRaw(
        L,
        rawList(1, 2, [
          ['bob', 0, 0, at],
          ['bob', 1, 2, at],
        ]),
      ),
      error: 'ERR_DECODE',
      path: 'revocations.entries[1]',
    },
    {
      kind: 'list',
      name: 'scope-unknown',
      description: 'scope byte 2',
      bytes: await signRaw(L, rawList(1, 2, [['bob', 2, 2, at]])),
      error: 'ERR_DECODE',
      path: 'revocations.entries[0].scope',
    },
    {
      kind: 'list',
      name: 'every-device-with-device-id',
      description: 'scope 0 with device id 7',
      bytes: await signRaw(L, rawList(1, 2, [['bob', 0, 7, at]])),
      error: 'ERR_DECODE',
      path: 'revocations.entries[0].deviceId',
    },
    {
      kind: 'list',
      name: 'count-too-large',
      description: 'count 4097 (the bound is 4096)',
      bytes: concatBytes(
        Uint8Array.of(1),
        id(tenant),
        uintBE(2, 8),
        uintBE(T0, 8),
        uintBE(4097, 2),
        new Uint8Array(64),
      ),
      error: 'ERR_DECODE',
      path: 'revocations.count',
    },
    {
      kind: 'reach',
      name: 'own-pool-missing',
      description: 'reachedBy lacks the user’s own pool',
      bytes: await signRaw(R, rawReach('carol', ['ward-3'], ['pharmacy'])),
      error: 'ERR_DECODE',
      path: 'reach.reachedBy',
    },
    {
      kind: 'reach',
      name: 'open-area-reached-by-pool',
      description: 'a user in no pool reached by a pool',
      bytes: await signRaw(R, rawReach('alice', [], ['pharmacy'])),
      error: 'ERR_DECODE',
      path: 'reach.reachedBy',
    },
    {
      kind: 'reach',
      name: 'pools-out-of-order',
      description: 'reachedBy not strictly ascending',
      bytes: await signRaw(R, rawReach('carol', ['ward-3'], ['ward-3', 'pharmacy'])),
      error: 'ERR_DECODE',
      path: 'reach.reachedBy[1]',
    },
    {
      kind: 'reach',
      name: 'other-user',
      description: 'carol’s statement served to alice',
      bytes: Uint8Array.from(Buffer.from(reaches[1]?.bytes ?? '', 'hex')),
      user: 'alice',
      error: 'ERR_INVALID_KEY',
    },
    {
      kind: 'reach',
      name: 'other-key',
      description: 'a statement signed by a key that is not the tenant key',
      bytes: await signReachStatement(noble, wardReach, otherKey.privateKey),
      error: 'ERR_INVALID_KEY',
    },
  ];
  const out = [];
  for (const c of refuse) {
    const problem = await (async () => {
      if (c.kind === 'list') {
        const list = decodeRevocationList(c.bytes);
        await verifyRevocationList(node, list, { tenant, tenantPublicKey: tenantKey.publicKey });
      } else {
        const reach = decodeReachStatement(c.bytes);
        await verifyReachStatement(node, reach, {
          tenant,
          user: c.user ?? reach.user,
          tenantPublicKey: tenantKey.publicKey,
        });
      }
    })().then(
      () => 'accepted',
      (e: { code?: string }) => (e.code !== c.error ? `refused with ${e.code}` : undefined),
    );
    if (problem !== undefined) fail(`${c.name}: ${problem}`);
    if (c.path !== undefined) {
      const path = (() => {
        try {
          (c.kind === 'list' ? decodeRevocationList : decodeReachStatement)(c.bytes);
        } catch (e) {
          if (e instanceof DecodeError) return e.path;
        }
        return undefined;
      })();
      if (path !== c.path) fail(`${c.name}: path ${path}, expected ${c.path}`);
    }
    out.push({ ...c, bytes: toHex(c.bytes) });
  }

  return {
    meta: {
      source: 'generated by scripts/vectors/revocations.ts; do not edit by hand',
      spec: 'spec/revocations.md',
      randomness: `each key pair comes from the noble provider's ed25519.generateKeyPair over INSECURE_seededRandomForTestsOnly(ASCII("${SEED_PREFIX}" + name)); Ed25519 signatures are deterministic`,
      encoding: 'byte strings are lower-case hex',
      listLabel: REVOCATION_LIST_LABEL,
      listLabelHex: toHex(utf8(REVOCATION_LIST_LABEL)),
      reachLabel: REACH_STATEMENT_LABEL,
      reachLabelHex: toHex(utf8(REACH_STATEMENT_LABEL)),
      tenant,
    },
    tenantKey: { privateKey: toHex(tenantKey.privateKey), publicKey: toHex(tenantKey.publicKey) },
    otherKey: { publicKey: toHex(otherKey.publicKey) },
    lists,
    reaches,
    refuse: out,
  };
}

export default { file: 'revocations.json', generate: generateRevocationVectors };
