/**
 * The archive key ceremony and the auditors' share handling (`spec/audit-tool.md` §1), on the
 * auditors' machines, over `@cloister/crypto`'s archive key shares (`spec/archive-keys.md`):
 *
 * 1. {@link createArchiveKeySet}: one auditor makes the archive key pair, splits its private key
 *    k-of-n at once (one share wrapped to each auditor's X25519 public key, or under a
 *    passphrase), wipes the private key, registers the public key and the wrapped shares with
 *    the server (which cannot open any), checks the server's fingerprint against its own, and
 *    hands back the tenant policy's `archive` feature for the owner to sign and publish.
 * 2. {@link releaseArchiveShare}: to open the archive, each of k−1 auditors unwraps their share
 *    and re-wraps it to the combining auditor's public key (the share never travels in clear).
 * 3. {@link combineWrappedShares}: the combining auditor unwraps their own share and the released
 *    ones with their key and rebuilds the archive private key, checked against the archive
 *    public key every share names.
 *
 * @module
 */
import {
  type ArchiveKeyPair,
  type ArchiveShare,
  type CryptoProvider,
  combineArchiveShares,
  generateArchiveKey,
  InvalidKeyError,
  peekArchiveShare,
  rewrapArchiveShare,
  type ShareRecipient,
  splitArchiveKey,
  toHex,
  unwrapArchiveShare,
  wipe,
} from '@cloister/crypto';
import { type ArchiveScope, archiveKeyFingerprint, type SignedPolicyFeature } from '@cloister/protocol';
import { toBase64Url } from '../_base64url.js';
import type { ArchiveApi, CreatedArchiveKeySet } from './api.js';

/**
 * One holder of a new key set: a name and whom their share is wrapped for.
 *
 * @example
 * ```ts
 * const holder: KeySetHolder = { holder: 'auditor-1', recipient: { publicKey: a1 } };
 * ```
 */
export interface KeySetHolder {
  /** The holder's name (1..255 characters, unique in the set). */
  readonly holder: string;
  /** Their X25519 public key (an auditor key file), or a passphrase. */
  readonly recipient: ShareRecipient;
}

/**
 * What {@link createArchiveKeySet} made and registered.
 *
 * @example
 * ```ts
 * const { fingerprint, policyFeature }: ArchiveKeySetCreated = await createArchiveKeySet(admin.archive, provider, {
 *   threshold: 2,
 *   holders: [
 *     { holder: 'auditor-1', recipient: { publicKey: a1 } },
 *     { holder: 'auditor-2', recipient: { publicKey: a2 } },
 *   ],
 * });
 * ```
 */
export interface ArchiveKeySetCreated {
  /** The share set id (hex of 16 bytes), the key set's id. */
  readonly keySetId: string;
  /** The archive X25519 public key. */
  readonly publicKey: Uint8Array;
  /** `cloister-archive:v1:…`, computed here and confirmed by the server: give it to the owner. */
  readonly fingerprint: string;
  /** The wrapped shares, in the order of the holders. */
  readonly shares: readonly { readonly holder: string; readonly share: Uint8Array }[];
  /** The server's answer. */
  readonly registered: CreatedArchiveKeySet;
  /** The tenant layer's `archive` feature the owner signs and publishes. */
  readonly policyFeature: SignedPolicyFeature;
}

/**
 * The tenant layer's `archive` feature for a key set: on, locked, with the key, the key set id,
 * the auditors' description and, when given, the scope.
 *
 * @example
 * ```ts
 * const feature = archivePolicyFeature({ publicKey, keySetId, threshold: 2, holders: ['a1', 'a2', 'a3'] });
 * await signPolicyLayer(signer, { layer: 'tenant' }, { ...currentTenantDocument, archive: feature });
 * ```
 */
export function archivePolicyFeature(input: {
  readonly publicKey: Uint8Array;
  readonly keySetId: string;
  readonly threshold: number;
  readonly holders: readonly string[];
  readonly scope?: ArchiveScope;
}): SignedPolicyFeature {
  return {
    enabled: true,
    locked: true,
    config: {
      publicKey: toBase64Url(input.publicKey),
      keySetId: input.keySetId,
      auditors: { threshold: input.threshold, holders: [...input.holders] },
      ...(input.scope === undefined ? {} : { scope: { ...input.scope } as never }),
    },
  };
}

/**
 * Runs the key ceremony (see the module documentation). The archive private key never leaves
 * this function and is wiped before it returns. A server answering with another fingerprint than
 * the key's is `InvalidKeyError` (the key set was registered; do not publish it).
 *
 * @example
 * ```ts
 * const made = await createArchiveKeySet(admin.archive, provider, {
 *   threshold: 2,
 *   holders: [
 *     { holder: 'auditor-1', recipient: { publicKey: a1 } },
 *     { holder: 'auditor-2', recipient: { publicKey: a2 } },
 *     { holder: 'auditor-3', recipient: { publicKey: a3 } },
 *   ],
 *   label: '2027',
 * });
 * console.log(made.fingerprint);
 * ```
 */
export async function createArchiveKeySet(
  archive: Pick<ArchiveApi, 'createKeySet'>,
  provider: CryptoProvider,
  input: {
    readonly threshold: number;
    readonly holders: readonly KeySetHolder[];
    readonly label?: string;
    readonly scope?: ArchiveScope;
  },
): Promise<ArchiveKeySetCreated> {
  const keyPair: ArchiveKeyPair = await generateArchiveKey(provider);
  let wrapped: readonly Uint8Array[];
  try {
    wrapped = await splitArchiveKey(provider, {
      keyPair,
      threshold: input.threshold,
      holders: input.holders,
    });
  } finally {
    wipe(keyPair.privateKey);
  }
  const keySetId = toHex(peekArchiveShare(wrapped[0] as Uint8Array).setId);
  const shares = input.holders.map((h, i) => ({ holder: h.holder, share: wrapped[i] as Uint8Array }));
  const fingerprint = await archiveKeyFingerprint(provider, keyPair.publicKey);
  const registered = await archive.createKeySet({
    setId: keySetId,
    publicKey: keyPair.publicKey,
    threshold: input.threshold,
    holders: shares,
    ...(input.label === undefined ? {} : { label: input.label }),
  });
  if (registered.fingerprint !== fingerprint) {
    throw new InvalidKeyError('fingerprint', 'the server registered another key than the one made here');
  }
  return {
    keySetId,
    publicKey: keyPair.publicKey,
    fingerprint,
    shares,
    registered,
    policyFeature: archivePolicyFeature({
      publicKey: keyPair.publicKey,
      keySetId,
      threshold: input.threshold,
      holders: input.holders.map((h) => h.holder),
      ...(input.scope === undefined ? {} : { scope: input.scope }),
    }),
  };
}

/**
 * An auditor's share, unwrapped with their own key (or passphrase) and re-wrapped to the
 * combining auditor's public key; the unwrapped share is wiped.
 *
 * @example
 * ```ts
 * const out = await releaseArchiveShare(provider, mine, { privateKey: auditor.privateKey }, { publicKey: combiner.publicKey });
 * ```
 */
export async function releaseArchiveShare(
  provider: CryptoProvider,
  wrapped: Uint8Array,
  secret: { readonly privateKey: Uint8Array } | { readonly passphrase: string },
  to: ShareRecipient,
): Promise<Uint8Array> {
  const share = await unwrapArchiveShare(provider, wrapped, secret);
  try {
    return await rewrapArchiveShare(provider, share, to);
  } finally {
    share.wipe();
  }
}

/**
 * Unwraps wrapped shares with the combining auditor's key (each must be wrapped to it) and
 * rebuilds the archive key pair; the shares are wiped, the caller wipes the private key.
 *
 * @example
 * ```ts
 * import { wipe } from '@cloister/crypto';
 * const key = await combineWrappedShares(provider, [mine, released], { privateKey: auditor.privateKey });
 * try {
 *   for await (const r of openArchive({ ...options, archivePrivateKey: key.privateKey })) use(r);
 * } finally {
 *   wipe(key.privateKey);
 * }
 * ```
 */
export async function combineWrappedShares(
  provider: CryptoProvider,
  wrapped: readonly Uint8Array[],
  secret: { readonly privateKey: Uint8Array } | { readonly passphrase: string },
): Promise<ArchiveKeyPair> {
  const shares: ArchiveShare[] = [];
  try {
    for (const w of wrapped) shares.push(await unwrapArchiveShare(provider, w, secret));
    return await combineArchiveShares(provider, shares);
  } finally {
    for (const s of shares) s.wipe();
  }
}
