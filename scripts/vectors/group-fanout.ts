/**
 * Test vectors for group key fan-out and signed group changes (`test-vectors/group-fanout.json`,
 * construction in `spec/groups.md`).
 *
 * Each content case draws the content key (32) and then the nonce (12) from the noble provider
 * seeded with `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/group-fanout/" +
 * name))`; every intermediate (associated data, digest input, digest, encoded wrap) is recomputed
 * from the primitives with the node provider and compared with what `encryptForGroup` produced.
 * The change cases sign with an Ed25519 identity drawn from the seed `.../change` (Ed25519
 * signatures are deterministic).
 */
import {
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  decryptGroupContent,
  encodeGroupChange,
  encodeGroupKeyWrap,
  encryptForGroup,
  GROUP_CONTENT_AD_LABEL,
  GROUP_CONTENT_DIGEST_LABEL,
  type GroupChange,
  generateDeviceIdentity,
  signGroupChange,
  toHex,
  toPublicIdentity,
  utf8,
  verifyGroupChange,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const GROUP_FANOUT_SEED_PREFIX = 'cloister/test-vectors/group-fanout/';

const check = createNodeProvider();

function seeded(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(GROUP_FANOUT_SEED_PREFIX + name)),
  );
}

function fail(what: string): never {
  throw new Error(`group-fanout vector self-check failed: ${what}`);
}

const CONTENT = [
  {
    name: 'text',
    groupId: utf8('group:design-team'),
    epoch: 0,
    plaintext: utf8('The launch moves to Tuesday.'),
  },
  {
    name: 'empty-max-epoch',
    groupId: new Uint8Array(64).fill(0x5a),
    epoch: 0xffff_ffff,
    plaintext: new Uint8Array(0),
  },
];

async function content(spec: (typeof CONTENT)[number]) {
  const { contentKey, ciphertext, wrap } = await encryptForGroup(seeded(spec.name), spec);
  const header = ciphertext.subarray(0, 17);
  const nonce = header.subarray(5);
  const ad = concatBytes(
    utf8(GROUP_CONTENT_AD_LABEL),
    Uint8Array.of(spec.groupId.length),
    spec.groupId,
    header,
  );
  const again = concatBytes(header, await check.aes256gcm.encrypt(contentKey, nonce, spec.plaintext, ad));
  if (toHex(again) !== toHex(ciphertext)) fail(`${spec.name}: ciphertext`);
  const digestInput = concatBytes(utf8(GROUP_CONTENT_DIGEST_LABEL), ciphertext);
  const digest = await check.sha256(digestInput);
  if (toHex(digest) !== toHex(wrap.contentDigest)) fail(`${spec.name}: digest`);
  const encodedWrap = encodeGroupKeyWrap(wrap);
  const out = await decryptGroupContent(check, { wrap: encodedWrap, ciphertext });
  if (toHex(out.plaintext) !== toHex(spec.plaintext) || out.epoch !== spec.epoch)
    fail(`${spec.name}: decrypt`);
  return {
    name: spec.name,
    seed: GROUP_FANOUT_SEED_PREFIX + spec.name,
    groupId: toHex(spec.groupId),
    epoch: spec.epoch,
    plaintext: toHex(spec.plaintext),
    intermediates: {
      contentKey: toHex(contentKey),
      nonce: toHex(nonce),
      header: toHex(header),
      associatedData: toHex(ad),
      digestInput: toHex(digestInput),
    },
    ciphertext: toHex(ciphertext),
    contentDigest: toHex(digest),
    wrap: toHex(encodedWrap),
  };
}

const CHANGES: readonly GroupChange[] = [
  {
    groupId: utf8('group:design-team'),
    version: 1,
    action: 'create',
    members: [
      { userId: 'carol', deviceIds: [1] },
      { userId: 'alice', deviceIds: [2, 1] },
      { userId: 'bob', deviceIds: [1, 2] },
    ],
  },
  {
    groupId: utf8('group:design-team'),
    version: 2,
    action: 'remove',
    members: [{ userId: 'carol', deviceIds: [] }],
  },
  {
    groupId: utf8('group:design-team'),
    version: 3,
    action: 'promote',
    members: [{ userId: 'bob', deviceIds: [] }],
  },
];

async function changes() {
  const identity = await generateDeviceIdentity(seeded('change'));
  const out = [];
  for (const change of CHANGES) {
    const signature = await signGroupChange(check, identity, change);
    if (!(await verifyGroupChange(check, toPublicIdentity(identity), change, signature)))
      fail('change signature');
    out.push({
      groupId: toHex(change.groupId),
      version: change.version,
      action: change.action,
      members: change.members,
      encoded: toHex(encodeGroupChange(change)),
      signature: toHex(signature),
    });
  }
  return {
    signingPrivateKey: toHex(identity.signingKeyPair.privateKey),
    signingPublicKey: toHex(identity.signingKeyPair.publicKey),
    changes: out,
  };
}

export default {
  file: 'group-fanout.json',
  async generate() {
    const contentCases = [];
    for (const spec of CONTENT) contentCases.push(await content(spec));
    return {
      description:
        'Group content encrypted once (AES-256-GCM under a fresh key), its key wrap, and Ed25519-signed group changes. See spec/groups.md.',
      contentLayout: 'version (1) | epoch (u32) | nonce (12) | ciphertext and tag',
      wrapLayout: 'version (1) | u8 len, groupId | contentKey (32) | contentDigest (32)',
      content: contentCases,
      ...(await changes()),
    };
  },
};
