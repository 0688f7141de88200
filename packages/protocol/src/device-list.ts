/**
 * Signed device lists (`spec/device-lists.md`): the devices of one user, as a device of that user
 * signed them. Peers and the user's own devices encrypt only to devices on the list; the server
 * can enrol a device but cannot add it to a list. A list names its predecessor by hash and is
 * signed by a device of the predecessor, so a chain of lists can be checked from any list a
 * client pinned; a list with epoch 1 starts a chain (the user's first device, trust on first use,
 * or an identity reset that peers must treat as a changed identity).
 *
 * The wire form is the canonical form: the bytes signed are `"cloister/v1/device-list"` followed
 * by the list up to its signature, so there is exactly one encoding of every list.
 *
 * ```
 * u8   version = 1
 * u8   len(tenant) ‖ tenant        (an identifier, 1..128 bytes)
 * u8   len(user)   ‖ user          (an identifier, 1..128 bytes)
 * u64  epoch                       (1 .. 2^53 - 1; 1 starts a chain)
 * u64  issuedAtMs                  (0 .. 2^53 - 1)
 * 32   previous                    (SHA-256 of the previous list's bytes; 32 zero bytes at epoch 1)
 * 32   root                        (SHA-256 of the chain's epoch-1 list; 32 zero bytes at epoch 1)
 * u8   signerKind                  (1 = a device of the list; 2 = the organisation, epoch ≥ 2 only)
 * u32  signer                      (kind 1: the signing device's id; kind 2: the device it admits)
 * u8   count                       (1 .. 64)
 * count × entry, device ids strictly ascending, signing keys distinct:
 *   u32 deviceId ‖ 32 signingKey ‖ 32 dhKey ‖ 64 dhKeySignature ‖ u64 addedAtMs
 * kind 2 only: u16 len(certificate) ‖ certificate   (the signer's administrator certificate)
 * 64   signature                   (Ed25519 by the signer over the label and every byte above)
 * ```
 *
 * All integers are big-endian.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  type DeviceId,
  deviceId,
  type Ed25519Signer,
  ed25519SignWith,
  equalBytes,
  InvalidKeyError,
  isEd25519Signer,
  type PublicIdentity,
  UnsupportedError,
  uintBE,
  utf8,
  ValidationError,
  verifyPublicIdentity,
} from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from './ids.js';
import { BinaryReader } from './internal/binary-reader.js';
import {
  decodeAdminCertificate,
  MAX_ADMIN_CERTIFICATE_BYTES,
  verifyAdminCertificate,
} from './organisation/certificate.js';
import { maySign } from './organisation/roles.js';

/**
 * Ed25519 signature input prefix of a device list.
 *
 * @example
 * ```ts
 * import { DEVICE_LIST_LABEL } from '@cloister/protocol';
 * console.log(DEVICE_LIST_LABEL); // "cloister/v1/device-list"
 * ```
 */
export const DEVICE_LIST_LABEL = 'cloister/v1/device-list';

/**
 * Ed25519 signature input prefix of a list an administrator of the organisation signed (signer
 * kind 2, zero-touch admission): distinct from {@link DEVICE_LIST_LABEL}, so a device's signature
 * can never be read as the organisation's or the other way round.
 *
 * @example
 * ```ts
 * import { DEVICE_LIST_ORGANISATION_LABEL } from '@cloister/protocol';
 * console.log(DEVICE_LIST_ORGANISATION_LABEL); // "cloister/v1/device-list/organisation"
 * ```
 */
export const DEVICE_LIST_ORGANISATION_LABEL = 'cloister/v1/device-list/organisation';

/**
 * The format version of device lists this version reads and writes.
 *
 * @example
 * ```ts
 * console.log(DEVICE_LIST_VERSION); // 1
 * ```
 */
export const DEVICE_LIST_VERSION = 1;

/**
 * Most devices on one list.
 *
 * @example
 * ```ts
 * console.log(MAX_LISTED_DEVICES); // 64
 * ```
 */
export const MAX_LISTED_DEVICES = 64;

/** Bytes of the largest encoded list. */
const MAX_DEVICE_LIST_BYTES =
  1 +
  129 +
  129 +
  8 +
  8 +
  32 +
  32 +
  1 +
  4 +
  1 +
  MAX_LISTED_DEVICES * 140 +
  2 +
  MAX_ADMIN_CERTIFICATE_BYTES +
  64;

const LABEL = utf8(DEVICE_LIST_LABEL);
const ORGANISATION_LABEL = utf8(DEVICE_LIST_ORGANISATION_LABEL);
/** How far ahead of the verifier's clock an organisation-signed list may be issued. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const ZERO_HASH = new Uint8Array(32);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * One device on a list: its id, its identity keys and when it was added.
 *
 * @example
 * ```ts
 * import { deviceId, toPublicIdentity } from '@cloister/crypto';
 * const entry: DeviceListEntry = { deviceId: deviceId(2), identity: toPublicIdentity(identity), addedAtMs: Date.now() };
 * ```
 */
export interface DeviceListEntry {
  /** The device's id within its user. */
  readonly deviceId: DeviceId;
  /** The device's public identity keys. */
  readonly identity: PublicIdentity;
  /** When a device of the user admitted it (ms since the epoch, the signer's clock). */
  readonly addedAtMs: number;
}

/**
 * Who signed a list: a device of the list (`device`), or an administrator of the organisation
 * (`organisation`, zero-touch admission, `spec/device-lists.md` §5): `deviceId` is the one device
 * the list admits, `certificate` the signer's administrator certificate (`spec/organisation.md`
 * §3), verified through {@link VerifyDeviceListOptions.organisation}.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const signer: DeviceListSigner = { kind: 'device', deviceId: deviceId(1) };
 * ```
 */
export type DeviceListSigner =
  | { readonly kind: 'device'; readonly deviceId: DeviceId }
  | { readonly kind: 'organisation'; readonly deviceId: DeviceId; readonly certificate: Uint8Array };

/**
 * The fields of a list, before it is signed.
 *
 * @example
 * ```ts
 * import { deviceId, toPublicIdentity } from '@cloister/crypto';
 * const me = deviceId(1);
 * const first: DeviceListBody = {
 *   tenant, user, epoch: 1, issuedAtMs: Date.now(),
 *   previous: new Uint8Array(32), root: new Uint8Array(32), // epoch 1: zero hashes
 *   signer: { kind: 'device', deviceId: me },
 *   devices: [{ deviceId: me, identity: toPublicIdentity(identity), addedAtMs: Date.now() }],
 * };
 * ```
 */
export interface DeviceListBody {
  /** The tenant the list belongs to. */
  readonly tenant: TenantId;
  /** The user whose devices it lists. */
  readonly user: UserId;
  /** 1 starts a chain; each later list has its predecessor's epoch plus one. */
  readonly epoch: number;
  /** When the signer issued the list, ms since the epoch (the signer's clock). */
  readonly issuedAtMs: number;
  /** SHA-256 of the previous list's bytes; 32 zero bytes at epoch 1. */
  readonly previous: Uint8Array;
  /**
   * SHA-256 of the epoch-1 list that started this chain; 32 zero bytes at epoch 1. It tells a
   * rollback to an older list of the same chain (refused) from a new chain (an identity reset).
   */
  readonly root: Uint8Array;
  /** Who signed the list: one of its devices (or, reserved, the organisation). */
  readonly signer: DeviceListSigner;
  /** Ascending device ids, at least one, at most {@link MAX_LISTED_DEVICES}. */
  readonly devices: readonly DeviceListEntry[];
}

/**
 * A decoded list: its fields, its signature and its exact bytes.
 *
 * @example
 * ```ts
 * const list: SignedDeviceList = decodeDeviceList(bytes);
 * console.log(list.epoch, list.devices.length);
 * ```
 */
export interface SignedDeviceList extends DeviceListBody {
  /** The signer's Ed25519 signature (64 bytes) over the label and the list up to it. */
  readonly signature: Uint8Array;
  /** The list as it travels and as its successor's `previous` hashes it. */
  readonly bytes: Uint8Array;
}

function checkIdBytes(value: string, field: string): Uint8Array {
  const b = utf8(value);
  if (b.length < 1 || b.length > 128) throw new ValidationError(field, 'an identifier of 1..128 bytes');
  return b;
}

function checkSafe(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > MAX_SAFE) {
    throw new ValidationError(field, `an integer in [${min}, 2^53 - 1]`);
  }
  return value;
}

function checkBody(body: DeviceListBody): DeviceListBody {
  if (typeof body !== 'object' || body === null) throw new ValidationError('list', 'an object');
  const tenant = tenantId(body.tenant);
  const user = userId(body.user);
  const epoch = checkSafe(body.epoch, 'list.epoch', 1);
  const issuedAtMs = checkSafe(body.issuedAtMs, 'list.issuedAtMs', 0);
  if (!(body.previous instanceof Uint8Array) || body.previous.length !== 32) {
    throw new ValidationError('list.previous', 'a Uint8Array of 32 bytes');
  }
  if (epoch === 1 && !equalBytes(body.previous, ZERO_HASH)) {
    throw new ValidationError('list.previous', '32 zero bytes at epoch 1');
  }
  if (epoch > 1 && equalBytes(body.previous, ZERO_HASH)) {
    throw new ValidationError('list.previous', 'the hash of the previous list after epoch 1');
  }
  if (!(body.root instanceof Uint8Array) || body.root.length !== 32) {
    throw new ValidationError('list.root', 'a Uint8Array of 32 bytes');
  }
  if ((epoch === 1) !== equalBytes(body.root, ZERO_HASH)) {
    throw new ValidationError('list.root', '32 zero bytes exactly at epoch 1');
  }
  const signer = body.signer;
  if (signer?.kind === 'device') deviceId(signer.deviceId, 'list.signer.deviceId');
  else if (signer?.kind === 'organisation') {
    deviceId(signer.deviceId, 'list.signer.deviceId');
    if (
      !(signer.certificate instanceof Uint8Array) ||
      signer.certificate.length < 1 ||
      signer.certificate.length > MAX_ADMIN_CERTIFICATE_BYTES
    ) {
      throw new ValidationError('list.signer.certificate', `1..${MAX_ADMIN_CERTIFICATE_BYTES} bytes`);
    }
    if (epoch === 1) throw new ValidationError('list.signerKind', 'a device signer at epoch 1');
  } else throw new ValidationError('list.signer', "{ kind: 'device' } or { kind: 'organisation' }");
  if (!Array.isArray(body.devices) || body.devices.length < 1 || body.devices.length > MAX_LISTED_DEVICES) {
    throw new ValidationError('list.devices', `1..${MAX_LISTED_DEVICES} entries`);
  }
  body.devices.forEach((d, i) => {
    const f = `list.devices[${i}]`;
    deviceId(d.deviceId, `${f}.deviceId`);
    for (const [k, n] of [
      ['signingKey', 32],
      ['dhKey', 32],
      ['dhKeySignature', 64],
    ] as const) {
      const v = d.identity?.[k];
      if (!(v instanceof Uint8Array) || v.length !== n)
        throw new ValidationError(`${f}.identity.${k}`, `a Uint8Array of ${n} bytes`);
    }
    checkSafe(d.addedAtMs, `${f}.addedAtMs`, 0);
    const prev = body.devices[i - 1];
    if (prev !== undefined && prev.deviceId >= d.deviceId) {
      throw new ValidationError(`${f}.deviceId`, 'device ids in strictly ascending order');
    }
    if (body.devices.slice(0, i).some((o) => equalBytes(o.identity.signingKey, d.identity.signingKey))) {
      throw new ValidationError(`${f}.identity.signingKey`, 'a signing key no other entry has');
    }
  });
  if (!body.devices.some((d) => d.deviceId === signer.deviceId)) {
    throw new ValidationError('list.signer.deviceId', 'a device on the list');
  }
  return {
    tenant,
    user,
    epoch,
    issuedAtMs,
    previous: body.previous,
    root: body.root,
    signer,
    devices: body.devices,
  };
}

/** The list's bytes up to its signature. */
function encodeUnsigned(body: DeviceListBody): Uint8Array {
  const b = checkBody(body);
  const tenant = checkIdBytes(b.tenant, 'list.tenant');
  const user = checkIdBytes(b.user, 'list.user');
  const certificate =
    b.signer.kind === 'organisation' ? [uintBE(b.signer.certificate.length, 2), b.signer.certificate] : [];
  return concatBytes(
    Uint8Array.of(DEVICE_LIST_VERSION, tenant.length),
    tenant,
    Uint8Array.of(user.length),
    user,
    uintBE(b.epoch, 8),
    uintBE(b.issuedAtMs, 8),
    b.previous,
    b.root,
    Uint8Array.of(b.signer.kind === 'device' ? 1 : 2),
    uintBE(b.signer.deviceId, 4),
    Uint8Array.of(b.devices.length),
    ...b.devices.flatMap((d) => [
      uintBE(d.deviceId, 4),
      d.identity.signingKey,
      d.identity.dhKey,
      d.identity.dhKeySignature,
      uintBE(d.addedAtMs, 8),
    ]),
    ...certificate,
  );
}

/**
 * The bytes a list's signature covers: {@link DEVICE_LIST_LABEL} (for an organisation signer
 * {@link DEVICE_LIST_ORGANISATION_LABEL}) and the list up to its signature. `ValidationError`
 * names a field that breaks the format's rules.
 *
 * @example
 * ```ts
 * import { deviceListSignedBytes } from '@cloister/protocol';
 * const message = deviceListSignedBytes(pinned); // what pinned.signature signs
 * ```
 */
export function deviceListSignedBytes(body: DeviceListBody): Uint8Array {
  return concatBytes(body.signer?.kind === 'organisation' ? ORGANISATION_LABEL : LABEL, encodeUnsigned(body));
}

/**
 * Signs a list and returns its bytes: with a device's identity signing key (`body.signer` a device
 * on the list), or with an administrator's key (`body.signer` of kind `organisation`: the key its
 * certificate certifies, for a role that may sign `device-admission`). `signingPrivateKey` is the
 * 32-byte Ed25519 seed or an {@link Ed25519Signer} holding the key (its `publicKey` must be the
 * signer's key, checked before it is asked to sign). The signature is checked against the
 * signer's key before the bytes are returned, so a wrong key fails here with `InvalidKeyError`
 * instead of producing a list every reader refuses.
 *
 * @example
 * ```ts
 * import { signDeviceList } from '@cloister/protocol';
 * const successor: DeviceListBody = {
 *   ...pinned,
 *   epoch: pinned.epoch + 1,
 *   issuedAtMs: Date.now(),
 *   previous: await deviceListHash(provider, pinned.bytes),
 *   root: pinned.epoch === 1 ? await deviceListHash(provider, pinned.bytes) : pinned.root,
 *   devices: pinned.devices.filter((d) => d.deviceId !== 3),
 * };
 * const signed = await signDeviceList(provider, successor, identity.signingKeyPair.privateKey);
 * ```
 */
export async function signDeviceList(
  provider: CryptoProvider,
  body: DeviceListBody,
  signingPrivateKey: Uint8Array | Ed25519Signer,
): Promise<Uint8Array> {
  const unsigned = encodeUnsigned(body);
  const signer = body.signer;
  let key: Uint8Array | undefined;
  if (signer.kind === 'organisation') {
    const certificate = decodeAdminCertificate(signer.certificate);
    if (certificate.tenant !== body.tenant) {
      throw new ValidationError('list.tenant', "the tenant of the signer's certificate");
    }
    if (!maySign(certificate.role, 'device-admission')) {
      throw new InvalidKeyError('list.signer.certificate', 'a role that may admit devices');
    }
    key = certificate.adminPublicKey;
  } else key = body.devices.find((d) => d.deviceId === signer.deviceId)?.identity.signingKey;
  const message = concatBytes(signer.kind === 'organisation' ? ORGANISATION_LABEL : LABEL, unsigned);
  if (
    key === undefined ||
    (isEd25519Signer(signingPrivateKey) && !equalBytes(signingPrivateKey.publicKey, key))
  ) {
    throw new InvalidKeyError('signingPrivateKey', "not the key of the list's signer");
  }
  const signature = await ed25519SignWith(provider, signingPrivateKey, message);
  if (!(await provider.ed25519.verify(key, message, signature))) {
    throw new InvalidKeyError('signingPrivateKey', "not the key of the list's signer");
  }
  return concatBytes(unsigned, signature);
}

/**
 * Decodes a list and checks its form (not its signature: {@link verifyDeviceList} does that).
 * Throws `DecodeError` with the path of the offending field: an unknown version, a short or long
 * input, an epoch of 0, a `previous` that breaks the epoch-1 rule, a signer of unknown kind or not
 * on the list, no devices or more than {@link MAX_LISTED_DEVICES}, device ids not strictly
 * ascending, a repeated signing key, or bytes after the signature.
 *
 * @example
 * ```ts
 * import { decodeDeviceList } from '@cloister/protocol';
 * const list = decodeDeviceList(bytes);
 * console.log(list.epoch, list.devices.map((d) => d.deviceId));
 * ```
 */
export function decodeDeviceList(bytes: Uint8Array): SignedDeviceList {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('list', 'bytes');
  if (bytes.length > MAX_DEVICE_LIST_BYTES)
    throw new DecodeError('list', `at most ${MAX_DEVICE_LIST_BYTES} bytes`);
  const r = new BinaryReader(bytes, 'list');
  const version = r.uint(1, 'list.version');
  if (version !== DEVICE_LIST_VERSION)
    throw new DecodeError('list.version', `version ${DEVICE_LIST_VERSION}`);
  const tenant = r.id('list.tenant', tenantId);
  const user = r.id('list.user', userId);
  const epoch = r.uint(8, 'list.epoch');
  const issuedAtMs = r.uint(8, 'list.issuedAtMs');
  const previous = r.take(32, 'list.previous');
  const root = r.take(32, 'list.root');
  const kind = r.uint(1, 'list.signerKind');
  if (kind !== 1 && kind !== 2) throw new DecodeError('list.signerKind', '1 (device) or 2 (organisation)');
  const signerId = deviceId(r.uint(4, 'list.signer'));
  const count = r.uint(1, 'list.count');
  const devices: DeviceListEntry[] = [];
  for (let i = 0; i < count; i++) {
    const f = `list.devices[${i}]`;
    devices.push({
      deviceId: deviceId(r.uint(4, `${f}.deviceId`)),
      identity: {
        signingKey: r.take(32, `${f}.identity.signingKey`),
        dhKey: r.take(32, `${f}.identity.dhKey`),
        dhKeySignature: r.take(64, `${f}.identity.dhKeySignature`),
      },
      addedAtMs: r.uint(8, `${f}.addedAtMs`),
    });
  }
  let signer: DeviceListSigner;
  if (kind === 1) signer = { kind: 'device', deviceId: signerId };
  else {
    const length = r.uint(2, 'list.signer.certificate');
    signer = {
      kind: 'organisation',
      deviceId: signerId,
      certificate: r.take(length, 'list.signer.certificate'),
    };
  }
  const signature = r.take(64, 'list.signature');
  if (r.offset !== bytes.length) throw new DecodeError('list', 'no bytes after the signature');
  const body: DeviceListBody = { tenant, user, epoch, issuedAtMs, previous, root, signer, devices };
  try {
    checkBody(body);
  } catch (e) {
    if (e instanceof ValidationError) throw new DecodeError(e.field, e.message.slice(e.field.length + 2));
    throw e;
  }
  return { ...body, signature, bytes: bytes.slice() };
}

/**
 * Options of {@link verifyDeviceList}.
 *
 * @example
 * ```ts
 * const options: VerifyDeviceListOptions = { tenant, user };
 * await verifyDeviceList(provider, decodeDeviceList(bytes), options);
 * ```
 */
export interface VerifyDeviceListOptions {
  /** The tenant the list must name. */
  readonly tenant: TenantId;
  /** The user the list must name. */
  readonly user: UserId;
  /**
   * The check of admission by the organisation (zero-touch roll-out): called for a list whose
   * signer kind is `organisation`; resolves whether an administrator certified by the pinned
   * organisation root signed it ({@link organisationListVerifier} makes one). Without it such a
   * list is refused (`UnsupportedError`).
   */
  readonly organisation?: OrganisationListVerifier;
}

/**
 * What an {@link OrganisationListVerifier} is given: the list's signed bytes, its signature, the
 * certificate it carries and its issue time.
 *
 * @example
 * ```ts
 * import { decodeDeviceList, deviceListSignedBytes } from '@cloister/protocol';
 * const list = decodeDeviceList(bytes);
 * if (list.signer.kind === 'organisation') {
 *   const signed: OrganisationListSignature = {
 *     signedBytes: deviceListSignedBytes(list),
 *     signature: list.signature,
 *     certificate: list.signer.certificate,
 *     issuedAtMs: list.issuedAtMs,
 *   };
 * }
 * ```
 */
export interface OrganisationListSignature {
  /** {@link DEVICE_LIST_ORGANISATION_LABEL} and the list up to its signature. */
  readonly signedBytes: Uint8Array;
  /** The 64-byte Ed25519 signature. */
  readonly signature: Uint8Array;
  /** The signer's administrator certificate, as the list carries it. */
  readonly certificate: Uint8Array;
  /** The list's `issuedAtMs`. */
  readonly issuedAtMs: number;
}

/**
 * Checks an organisation signature on a list: resolves `true` when it verifies, `false` or an
 * `InvalidKeyError` when not.
 *
 * @example
 * ```ts
 * const verifier: OrganisationListVerifier = organisationListVerifier(provider, { rootPublicKey, tenant });
 * ```
 */
export type OrganisationListVerifier = (signed: OrganisationListSignature) => Promise<boolean>;

/**
 * Options of {@link organisationListVerifier}.
 *
 * @example
 * ```ts
 * const options: OrganisationListVerifierOptions = { rootPublicKey, tenant, now: () => Date.now() };
 * ```
 */
export interface OrganisationListVerifierOptions {
  /** The organisation root the verifier pinned (32 bytes). */
  readonly rootPublicKey: Uint8Array;
  /** The verifier's tenant: the certificate must name it. */
  readonly tenant: TenantId;
  /** The verifier's clock (ms); `Date.now` when absent. */
  readonly now?: () => number;
}

/**
 * The organisation check of `spec/device-lists.md` §5 for a pinned root: the certificate the list
 * carries is signed by that root, names the tenant, is valid at the list's `issuedAtMs`, and has a
 * role that may sign `device-admission` (owner, admin, user-manager, integration); the list is
 * issued at most 5 minutes after `now`; the signature verifies (strict Ed25519) under the
 * certified key. Refusals are `InvalidKeyError` naming the field.
 *
 * @example
 * ```ts
 * import { followDeviceLists, organisationListVerifier } from '@cloister/protocol';
 * const organisation = organisationListVerifier(provider, { rootPublicKey, tenant });
 * const update = await followDeviceLists(provider, pinned, lists, { tenant, user, organisation });
 * ```
 */
export function organisationListVerifier(
  provider: CryptoProvider,
  options: OrganisationListVerifierOptions,
): OrganisationListVerifier {
  const rootPublicKey = options.rootPublicKey;
  if (!(rootPublicKey instanceof Uint8Array) || rootPublicKey.length !== 32) {
    throw new ValidationError('rootPublicKey', 'a Uint8Array of 32 bytes');
  }
  const tenant = tenantId(options.tenant);
  const now = options.now ?? Date.now;
  return async ({ signedBytes, signature, certificate: bytes, issuedAtMs }) => {
    let certificate: ReturnType<typeof decodeAdminCertificate>;
    try {
      certificate = decodeAdminCertificate(bytes);
    } catch (e) {
      if (e instanceof DecodeError) throw new InvalidKeyError('list.signer.certificate', e.message);
      throw e;
    }
    await verifyAdminCertificate(provider, certificate, { rootPublicKey, tenant, validAt: [issuedAtMs] });
    if (!maySign(certificate.role, 'device-admission')) {
      throw new InvalidKeyError('list.signer.certificate', 'a role that may not admit devices');
    }
    if (issuedAtMs > now() + MAX_CLOCK_SKEW_MS) {
      throw new InvalidKeyError('list.issuedAtMs', 'issued in the future');
    }
    return provider.ed25519.verify(certificate.adminPublicKey, signedBytes, signature);
  };
}

/**
 * Checks one list on its own: it names the expected tenant and user, its signer's signature
 * verifies under the signer's entry (strict Ed25519), and every entry's DH key is signed by its
 * signing key. It does not say whether the list follows one the caller trusts:
 * {@link checkDeviceListSuccessor} does. Throws `InvalidKeyError` naming the field that fails.
 *
 * @example
 * ```ts
 * import { decodeDeviceList, verifyDeviceList } from '@cloister/protocol';
 * const list = decodeDeviceList(bytes);
 * await verifyDeviceList(provider, list, { tenant, user });
 * ```
 */
export async function verifyDeviceList(
  provider: CryptoProvider,
  list: SignedDeviceList,
  options: VerifyDeviceListOptions,
): Promise<void> {
  if (list.tenant !== options.tenant) throw new InvalidKeyError('list.tenant', 'not the expected tenant');
  if (list.user !== options.user) throw new InvalidKeyError('list.user', 'not the expected user');
  const signed = deviceListSignedBytes(list);
  const signer = list.signer;
  let ok: boolean;
  if (signer.kind === 'device') {
    const entry = list.devices.find((d) => d.deviceId === signer.deviceId);
    ok =
      entry !== undefined &&
      (await provider.ed25519.verify(entry.identity.signingKey, signed, list.signature));
  } else {
    if (options.organisation === undefined) {
      throw new UnsupportedError('list.signer: admission by an organisation key is not configured');
    }
    ok = await options.organisation({
      signedBytes: signed,
      signature: list.signature,
      certificate: signer.certificate,
      issuedAtMs: list.issuedAtMs,
    });
  }
  if (!ok) throw new InvalidKeyError('list.signature', 'signature does not verify');
  for (const [i, d] of list.devices.entries()) {
    await verifyPublicIdentity(provider, d.identity, `list.devices[${i}].identity`);
  }
}

/**
 * SHA-256 of a list's bytes: what its successor's `previous` must be.
 *
 * @example
 * ```ts
 * const hash = await deviceListHash(provider, pinned.bytes); // 32 bytes: the successor's `previous`
 * ```
 */
export function deviceListHash(provider: CryptoProvider, bytes: Uint8Array): Promise<Uint8Array> {
  return provider.sha256(bytes);
}

/**
 * Checks that `next` (already verified on its own with {@link verifyDeviceList}) directly
 * follows `previous`: the same tenant and user, epoch one higher, `previous` the hash of the
 * predecessor's bytes, and (for a device signer) the signing device on the predecessor with the
 * same identity. An organisation-signed successor must keep every device of the predecessor, add
 * exactly the device it names and nothing else, and not be issued before its predecessor (its
 * signature is the organisation check's). A device on both lists keeps its identity and
 * its `addedAtMs` (a device that changes keys is a new device). Throws `InvalidKeyError` naming
 * the rule.
 *
 * @example
 * ```ts
 * const next = decodeDeviceList(bytes);
 * await verifyDeviceList(provider, next, { tenant, user });
 * await checkDeviceListSuccessor(provider, pinned, next); // throws InvalidKeyError unless it follows
 * ```
 */
export async function checkDeviceListSuccessor(
  provider: CryptoProvider,
  previous: SignedDeviceList,
  next: SignedDeviceList,
): Promise<void> {
  if (next.tenant !== previous.tenant || next.user !== previous.user) {
    throw new InvalidKeyError('list.user', 'not the same user as the previous list');
  }
  if (next.epoch !== previous.epoch + 1) throw new InvalidKeyError('list.epoch', 'not the next epoch');
  const previousHash = await deviceListHash(provider, previous.bytes);
  if (!equalBytes(next.previous, previousHash)) {
    throw new InvalidKeyError('list.previous', 'not the hash of the previous list');
  }
  if (!equalBytes(next.root, previous.epoch === 1 ? previousHash : previous.root)) {
    throw new InvalidKeyError('list.root', 'not the root of the previous list');
  }
  const signer = next.signer;
  if (signer.kind === 'device') {
    const before = previous.devices.find((d) => d.deviceId === signer.deviceId);
    const now = next.devices.find((d) => d.deviceId === signer.deviceId);
    if (
      before === undefined ||
      now === undefined ||
      !equalBytes(before.identity.signingKey, now.identity.signingKey) ||
      !equalBytes(before.identity.dhKey, now.identity.dhKey)
    ) {
      throw new InvalidKeyError('list.signer', 'not a device of the previous list');
    }
  } else {
    // The organisation admits one device: everything else stays as the user's devices left it.
    if (
      previous.devices.some((d) => d.deviceId === signer.deviceId) ||
      next.devices.length !== previous.devices.length + 1 ||
      !previous.devices.every((p) => next.devices.some((d) => d.deviceId === p.deviceId))
    ) {
      throw new InvalidKeyError('list.signer', 'an organisation list adds exactly the device it admits');
    }
    if (next.issuedAtMs < previous.issuedAtMs) {
      throw new InvalidKeyError('list.issuedAtMs', 'an organisation list issued before the previous list');
    }
  }
  for (const d of next.devices) {
    const before = previous.devices.find((p) => p.deviceId === d.deviceId);
    if (
      before !== undefined &&
      !(
        equalBytes(before.identity.signingKey, d.identity.signingKey) &&
        equalBytes(before.identity.dhKey, d.identity.dhKey) &&
        before.addedAtMs === d.addedAtMs
      )
    ) {
      throw new InvalidKeyError(`list.devices`, `device ${d.deviceId} changed its identity`);
    }
  }
}

/**
 * What {@link followDeviceLists} found.
 *
 * @example
 * ```ts
 * const { list, trust, added, removed }: DeviceListUpdate = await followDeviceLists(provider, pinned, lists, {
 *   tenant,
 *   user,
 * });
 * ```
 */
export interface DeviceListUpdate {
  /** The newest list, verified. */
  readonly list: SignedDeviceList;
  /**
   * `chained`: the newest list follows the pinned one through signed successors (or is it);
   * `first`: nothing was pinned (trust on first use); `reset`: a new chain started (epoch 1) that
   * does not follow the pinned list, which peers must treat as a changed identity.
   */
  readonly trust: 'chained' | 'first' | 'reset';
  /** Entries of the newest list whose device id the pinned list lacks. */
  readonly added: readonly DeviceListEntry[];
  /** Entries of the pinned list whose device id the newest list lacks. */
  readonly removed: readonly DeviceListEntry[];
}

async function chainRoot(provider: CryptoProvider, list: SignedDeviceList): Promise<Uint8Array> {
  return list.epoch === 1 ? deviceListHash(provider, list.bytes) : list.root;
}

/**
 * Follows a user's lists from the one the caller pinned (or none) to the newest: `lists` are the
 * server's answer in ascending epochs, each verified with {@link verifyDeviceList} and each a
 * successor of the one before ({@link checkDeviceListSuccessor}). Within the pinned list's chain
 * (the same root) the answer must contain the pinned list itself or start right after it; a
 * different chain must be served from its epoch-1 list and is a reset (`trust: 'reset'`). A
 * newest list older than the pinned one of the same chain (a rollback), a fork, a gap or an empty
 * answer is an `InvalidKeyError`.
 *
 * @example
 * ```ts
 * import { followDeviceLists } from '@cloister/protocol';
 * const update = await followDeviceLists(provider, pinned, lists, { tenant, user });
 * if (update.trust === 'reset') console.warn('the identity of', user, 'changed');
 * ```
 */
export async function followDeviceLists(
  provider: CryptoProvider,
  pinned: SignedDeviceList | undefined,
  lists: readonly Uint8Array[],
  options: VerifyDeviceListOptions,
): Promise<DeviceListUpdate> {
  if (!Array.isArray(lists) || lists.length === 0) throw new InvalidKeyError('lists', 'at least one list');
  if (lists.length > 1024) throw new InvalidKeyError('lists', 'at most 1024 lists');
  const decoded: SignedDeviceList[] = [];
  for (const [i, bytes] of lists.entries()) {
    let list: SignedDeviceList;
    try {
      list = decodeDeviceList(bytes);
    } catch (e) {
      if (e instanceof DecodeError) throw new InvalidKeyError(`lists[${i}]`, e.message);
      throw e;
    }
    await verifyDeviceList(provider, list, options);
    const before = decoded[decoded.length - 1];
    if (before !== undefined) await checkDeviceListSuccessor(provider, before, list);
    decoded.push(list);
  }
  const first = decoded[0] as SignedDeviceList;
  const newest = decoded[decoded.length - 1] as SignedDeviceList;
  let trust: DeviceListUpdate['trust'];
  if (pinned === undefined) trust = 'first';
  else if (equalBytes(await chainRoot(provider, pinned), await chainRoot(provider, first))) {
    // The same chain: the pinned list or its successors, never an older or a different list.
    if (newest.epoch < pinned.epoch) throw new InvalidKeyError('lists', 'older than the pinned list');
    const same = decoded.find((l) => l.epoch === pinned.epoch);
    if (same !== undefined) {
      if (!equalBytes(same.bytes, pinned.bytes))
        throw new InvalidKeyError('lists', 'a fork of the pinned list');
    } else if (first.epoch === pinned.epoch + 1) await checkDeviceListSuccessor(provider, pinned, first);
    else throw new InvalidKeyError('lists', 'does not follow the pinned list');
    trust = 'chained';
  } else if (first.epoch === 1) trust = 'reset';
  else throw new InvalidKeyError('lists', 'a new chain must be served from its first list');
  const base = trust === 'first' ? [] : (pinned as SignedDeviceList).devices;
  return {
    list: newest,
    trust,
    added: newest.devices.filter((d) => !base.some((b) => b.deviceId === d.deviceId)),
    removed: base.filter((b) => !newest.devices.some((d) => d.deviceId === b.deviceId)),
  };
}
