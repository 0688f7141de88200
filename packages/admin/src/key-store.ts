/**
 * Key stores (`spec/admin-sdk.md` §5): the organisation root's private key, an administrator's
 * signing key with its certificate, and an admin session token, each as a small JSON text whose
 * one secret (always 32 bytes) is wrapped under the owner's passphrase with `@cloister/crypto`'s
 * PIN wrapping (`wrapDataKey`: scrypt N = 2^17, r = 8, p = 1, AES-256-GCM with the record header
 * as associated data; `spec/pin-wrap.md`). The secret itself is the wrapped "data key": no other
 * key derivation or cipher is involved. Everything else in the text is public (the root public key
 * and fingerprint, the certificate, the server's URL and pin). A wrong passphrase, or an altered
 * record, is `WrongPin` (`ERR_WRONG_PIN`); a malformed text is `DecodeError`.
 *
 * These functions only build and read the text; `@cloister/admin/node` writes it to a file of
 * mode 0600.
 *
 * Beside the secrets, the SDK remembers one public thing between broadcasts: the signed device
 * list it last accepted for each user (the device-list pins, `spec/broadcast.md` §7), kept in a
 * {@link DeviceListPinStore}, by default in memory, as the text {@link encodeDeviceListPins}
 * writes in a file.
 *
 * @module
 */
import {
  type CryptoProvider,
  DecodeError,
  decodeWrappedKey,
  encodeWrappedKey,
  equalBytes,
  InvalidKeyError,
  isEd25519Signer,
  type PinWrapOptions,
  UsageError,
  unwrapDataKey,
  ValidationError,
  wrapDataKey,
} from '@cloister/crypto';
import {
  ADMIN_ROLES,
  type AdminRole,
  decodeDeviceList,
  deviceListHash,
  parseRootFingerprint,
  rootFingerprint,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import { type AdminSigningKey, adminSigningKey } from './organisation.js';

/**
 * Format names of the key stores (the `format` member of each text).
 *
 * @example
 * ```ts
 * console.log(KEY_STORE_FORMATS.root); // 'cloister-admin/root-key/v1'
 * ```
 */
export const KEY_STORE_FORMATS = {
  root: 'cloister-admin/root-key/v1',
  signingKey: 'cloister-admin/signing-key/v1',
  session: 'cloister-admin/session/v1',
  keyRequest: 'cloister-admin/key-request/v1',
  deviceListPins: 'cloister-admin/device-list-pins/v1',
} as const;

/**
 * Shortest passphrase accepted for a new key store.
 *
 * @example
 * ```ts
 * console.log(MIN_PASSPHRASE_CHARS); // 12
 * ```
 */
export const MIN_PASSPHRASE_CHARS = 12;

/**
 * How a secret is wrapped: the PIN-wrap scrypt cost (default `PIN_SCRYPT_DEFAULT`; tests lower it
 * to `PIN_SCRYPT_FLOOR`).
 *
 * @example
 * ```ts
 * import { PIN_SCRYPT_DEFAULT } from '@cloister/crypto';
 * const options: KeyStoreOptions = { scrypt: PIN_SCRYPT_DEFAULT };
 * ```
 */
export type KeyStoreOptions = Pick<PinWrapOptions, 'scrypt'>;

/** `ValidationError` unless `passphrase` has at least {@link MIN_PASSPHRASE_CHARS} characters. */
export function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_CHARS) {
    throw new ValidationError('passphrase', `at least ${MIN_PASSPHRASE_CHARS} characters`);
  }
}

/**
 * Refuses a key held by an `Ed25519Signer` (a non-extractable WebCrypto key): there are no bytes
 * to write out, and a key store is bytes under a passphrase.
 */
function refuseHeldKey(key: unknown): void {
  if (isEd25519Signer(key)) {
    throw new UsageError(
      'a key held by the browser (WebCrypto) or another signer cannot be written out; seal the key before importing it',
    );
  }
}

/** Wraps `secret` under `passphrase` (the PIN wrap) as base64url, for a key file's JSON. */
export async function wrapSecret(
  provider: CryptoProvider,
  secret: Uint8Array,
  passphrase: string,
  options: KeyStoreOptions,
): Promise<string> {
  refuseHeldKey(secret);
  checkPassphrase(passphrase);
  const { record } = await wrapDataKey(provider, {
    pin: passphrase,
    dataKey: secret,
    ...(options.scrypt === undefined ? {} : { scrypt: options.scrypt }),
  });
  return toBase64Url(encodeWrappedKey(record));
}

/** Opens what {@link wrapSecret} made; `field` names it in a `DecodeError`. */
export async function unwrapSecret(
  provider: CryptoProvider,
  wrapped: unknown,
  passphrase: string,
  field = 'keyStore.wrapped',
): Promise<Uint8Array> {
  if (typeof wrapped !== 'string') throw new DecodeError(field, 'a base64url string');
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(wrapped, field);
  } catch {
    throw new DecodeError(field, 'a base64url string');
  }
  return unwrapDataKey(provider, decodeWrappedKey(bytes), passphrase);
}

/** The JSON object of a key file of `format`; `DecodeError` naming `field` otherwise. */
export function parseStore(text: string, format: string, field = 'keyStore'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DecodeError(field, 'JSON');
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== format) {
    throw new DecodeError(`${field}.format`, format);
  }
  return value as Record<string, unknown>;
}

function field<T>(store: Record<string, unknown>, name: string, parse: (v: unknown) => T): T {
  try {
    return parse(store[name]);
  } catch {
    throw new DecodeError(`keyStore.${name}`, 'a valid value');
  }
}

const bytes32 = (v: unknown): Uint8Array => {
  const b = fromBase64Url(v as string, 'key');
  if (b.length !== 32) throw new Error('length');
  return b;
};
const bytesAny = (v: unknown): Uint8Array => fromBase64Url(v as string, 'bytes');
const text = (v: unknown): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048) throw new Error('text');
  return v;
};

/**
 * An opened root key store.
 *
 * @example
 * ```ts
 * const { tenant, fingerprint }: RootKey = await openRootKey(provider, storeText, passphrase);
 * ```
 */
export interface RootKey {
  /** The tenant the root belongs to. */
  readonly tenant: TenantId;
  /** The root's Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** The root's Ed25519 private key (32 bytes): a secret. */
  readonly privateKey: Uint8Array;
  /** The root's fingerprint, `cloister-root:v1:…`. */
  readonly fingerprint: string;
}

/**
 * The root key store's text for `root` (its private key wrapped under `passphrase`, at least
 * {@link MIN_PASSPHRASE_CHARS} characters).
 *
 * @example
 * ```ts
 * import { sealRootKey } from '@cloister/admin';
 * const text = await sealRootKey(provider, { tenant: 'acme', ...org.root }, passphrase);
 * ```
 */
export async function sealRootKey(
  provider: CryptoProvider,
  root: { readonly tenant: string; readonly publicKey: Uint8Array; readonly privateKey: Uint8Array },
  passphrase: string,
  options: KeyStoreOptions = {},
): Promise<string> {
  refuseHeldKey(root.privateKey);
  const publicKey = await provider.ed25519.publicKey(root.privateKey);
  if (!equalBytes(publicKey, root.publicKey)) throw new ValidationError('root', 'a matching key pair');
  return `${JSON.stringify(
    {
      format: KEY_STORE_FORMATS.root,
      tenant: tenantId(root.tenant),
      publicKey: toBase64Url(publicKey),
      fingerprint: await rootFingerprint(provider, publicKey),
      wrappedPrivateKey: await wrapSecret(provider, root.privateKey, passphrase, options),
    },
    null,
    2,
  )}\n`;
}

/**
 * Opens a root key store. `WrongPin` for a wrong passphrase; `InvalidKeyError` when the
 * unwrapped key is not the stated public key's (the file was altered).
 *
 * @example
 * ```ts
 * import { openRootKey } from '@cloister/admin';
 * const root = await openRootKey(provider, storeText, passphrase);
 * ```
 */
export async function openRootKey(
  provider: CryptoProvider,
  storeText: string,
  passphrase: string,
): Promise<RootKey> {
  const store = parseStore(storeText, KEY_STORE_FORMATS.root);
  const tenant = field(store, 'tenant', (v) => tenantId(v as string));
  const publicKey = field(store, 'publicKey', bytes32);
  const fingerprint = field(store, 'fingerprint', (v) => {
    parseRootFingerprint(v as string);
    return v as string;
  });
  const privateKey = await unwrapSecret(provider, store.wrappedPrivateKey, passphrase);
  if (!equalBytes(await provider.ed25519.publicKey(privateKey), publicKey)) {
    throw new InvalidKeyError('keyStore.publicKey', 'not the public key of the stored private key');
  }
  if (fingerprint !== (await rootFingerprint(provider, publicKey))) {
    throw new InvalidKeyError('keyStore.fingerprint', 'not the fingerprint of the stored key');
  }
  return { tenant, publicKey, privateKey, fingerprint };
}

/**
 * The public half of a key store, readable without the passphrase (to show what it holds).
 *
 * @example
 * ```ts
 * import { describeKeyStore } from '@cloister/admin';
 * console.log(describeKeyStore(storeText)); // { format, tenant, publicKey, … }: never the wrapped secret
 * ```
 */
export function describeKeyStore(storeText: string): Readonly<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(storeText);
  } catch {
    throw new DecodeError('keyStore', 'JSON');
  }
  if (typeof value !== 'object' || value === null) throw new DecodeError('keyStore', 'an object');
  const { wrappedPrivateKey: _k, wrappedToken: _t, ...rest } = value as Record<string, unknown>;
  return rest;
}

/**
 * The signing key store's text for `key` (private key wrapped; certificate and root public key in
 * clear). A key whose `privateKey` is an `Ed25519Signer` (held by WebCrypto) has no bytes to write
 * out: `UsageError`, before anything else.
 *
 * @example
 * ```ts
 * import { sealSigningKey } from '@cloister/admin';
 * const text = await sealSigningKey(provider, org.owner, passphrase);
 * ```
 */
export async function sealSigningKey(
  provider: CryptoProvider,
  key: AdminSigningKey,
  passphrase: string,
  options: KeyStoreOptions = {},
): Promise<string> {
  const privateKey = key?.privateKey;
  if (!(privateKey instanceof Uint8Array)) {
    refuseHeldKey(privateKey);
    throw new ValidationError('key.privateKey', 'a 32-byte Ed25519 private key');
  }
  const checked = await adminSigningKey(provider, privateKey, key.certificate, key.rootPublicKey);
  return `${JSON.stringify(
    {
      format: KEY_STORE_FORMATS.signingKey,
      tenant: checked.tenant,
      admin: checked.admin,
      role: checked.role,
      publicKey: toBase64Url(checked.publicKey),
      certificate: toBase64Url(checked.certificate),
      rootPublicKey: toBase64Url(checked.rootPublicKey),
      wrappedPrivateKey: await wrapSecret(provider, privateKey, passphrase, options),
    },
    null,
    2,
  )}\n`;
}

/**
 * Opens a signing key store. `WrongPin` for a wrong passphrase; `InvalidKeyError` when the
 * unwrapped key is not the one the stored certificate certifies.
 *
 * @example
 * ```ts
 * import { openSigningKey } from '@cloister/admin';
 * const key = await openSigningKey(provider, storeText, passphrase);
 * ```
 */
export async function openSigningKey(
  provider: CryptoProvider,
  storeText: string,
  passphrase: string,
): Promise<AdminSigningKey> {
  const store = parseStore(storeText, KEY_STORE_FORMATS.signingKey);
  const certificate = field(store, 'certificate', bytesAny);
  const rootPublicKey = field(store, 'rootPublicKey', bytes32);
  const privateKey = await unwrapSecret(provider, store.wrappedPrivateKey, passphrase);
  try {
    return await adminSigningKey(provider, privateKey, certificate, rootPublicKey);
  } catch {
    throw new InvalidKeyError('keyStore.certificate', 'not a certificate of the stored private key');
  }
}

/**
 * A stored admin session: where the server is, who is logged in, and the token.
 *
 * @example
 * ```ts
 * const stored: StoredSession = {
 *   server: { url: 'https://relay.example:8443', pin },
 *   tenant: session.tenant,
 *   admin: session.admin,
 *   role: session.role,
 *   token: session.token,
 *   expiresAt: session.expiresAt,
 * };
 * ```
 */
export interface StoredSession {
  /** The server's base URL and public-key pin (`sha256/<base64>`). */
  readonly server: { readonly url: string; readonly pin: string };
  /** The tenant id. */
  readonly tenant: string;
  /** The administrator's id (`adm_…`). */
  readonly admin: string;
  /** The administrator's role. */
  readonly role: AdminRole;
  /** The session token (43 base64url characters). */
  readonly token: string;
  /** ms since the epoch: the session's hard end. */
  readonly expiresAt: number;
}

/**
 * The session store's text (the token wrapped under `passphrase`).
 *
 * @example
 * ```ts
 * import { sealSession } from '@cloister/admin';
 * const { tenant, admin, role, token, expiresAt } = session; // a LoginAnswer
 * const server = { url: 'https://relay.example:8443', pin };
 * const text = await sealSession(provider, { server, tenant, admin, role, token, expiresAt }, passphrase);
 * ```
 */
export async function sealSession(
  provider: CryptoProvider,
  session: StoredSession,
  passphrase: string,
  options: KeyStoreOptions = {},
): Promise<string> {
  const token = fromBase64Url(session.token, 'session.token');
  if (token.length !== 32) throw new ValidationError('session.token', '43 base64url characters');
  if (!ADMIN_ROLES.includes(session.role)) throw new ValidationError('session.role', ADMIN_ROLES.join(', '));
  return `${JSON.stringify(
    {
      format: KEY_STORE_FORMATS.session,
      server: { url: text(session.server.url), pin: text(session.server.pin) },
      tenant: tenantId(session.tenant),
      admin: text(session.admin),
      role: session.role,
      expiresAt: session.expiresAt,
      wrappedToken: await wrapSecret(provider, token, passphrase, options),
    },
    null,
    2,
  )}\n`;
}

/**
 * Opens a session store. `WrongPin` for a wrong passphrase.
 *
 * @example
 * ```ts
 * import { openSession } from '@cloister/admin';
 * const { token, server } = await openSession(provider, storeText, passphrase);
 * ```
 */
export async function openSession(
  provider: CryptoProvider,
  storeText: string,
  passphrase: string,
): Promise<StoredSession> {
  const store = parseStore(storeText, KEY_STORE_FORMATS.session);
  const server = field(store, 'server', (v) => {
    const s = v as { url?: unknown; pin?: unknown };
    return { url: text(s.url), pin: text(s.pin) };
  });
  const tenant = field(store, 'tenant', (v) => tenantId(v as string));
  const admin = field(store, 'admin', text);
  const role = field(store, 'role', (v) => {
    if (!ADMIN_ROLES.includes(v as AdminRole)) throw new Error('role');
    return v as AdminRole;
  });
  const expiresAt = field(store, 'expiresAt', (v) => {
    if (!Number.isSafeInteger(v)) throw new Error('time');
    return v as number;
  });
  const token = toBase64Url(await unwrapSecret(provider, store.wrappedToken, passphrase));
  return { server, tenant, admin, role, token, expiresAt };
}

/**
 * An opened key request: a new administrator's key pair waiting for its certificate.
 *
 * @example
 * ```ts
 * const { publicKey }: KeyRequest = await openKeyRequest(provider, storeText, passphrase);
 * ```
 */
export interface KeyRequest {
  /** The tenant id. */
  readonly tenant: TenantId;
  /** The administrator's id (`adm_…`). */
  readonly admin: string;
  /** The new Ed25519 public key (32 bytes): what the owner certifies. */
  readonly publicKey: Uint8Array;
  /** The new Ed25519 private key (32 bytes): a secret. */
  readonly privateKey: Uint8Array;
}

/**
 * The key request store's text: an administrator's new Ed25519 key pair (private key wrapped under
 * `passphrase`) before an owner certified it. The public key goes to the owner
 * (`certifyAdministrator`); `installAdminCertificate` then turns the request and the
 * certificate into a signing key.
 *
 * @example
 * ```ts
 * import { sealKeyRequest } from '@cloister/admin';
 * const keys = await provider.ed25519.generateKeyPair();
 * const text = await sealKeyRequest(provider, { tenant: 'acme', admin: me.admin, ...keys }, passphrase);
 * ```
 */
export async function sealKeyRequest(
  provider: CryptoProvider,
  request: {
    readonly tenant: string;
    readonly admin: string;
    readonly publicKey: Uint8Array;
    readonly privateKey: Uint8Array;
  },
  passphrase: string,
  options: KeyStoreOptions = {},
): Promise<string> {
  refuseHeldKey(request.privateKey);
  const publicKey = await provider.ed25519.publicKey(request.privateKey);
  if (!equalBytes(publicKey, request.publicKey)) throw new ValidationError('request', 'a matching key pair');
  return `${JSON.stringify(
    {
      format: KEY_STORE_FORMATS.keyRequest,
      tenant: tenantId(request.tenant),
      admin: text(request.admin),
      publicKey: toBase64Url(publicKey),
      wrappedPrivateKey: await wrapSecret(provider, request.privateKey, passphrase, options),
    },
    null,
    2,
  )}\n`;
}

/**
 * Opens a key request store. `WrongPin` for a wrong passphrase; `InvalidKeyError` when the
 * unwrapped key is not the stated public key's.
 *
 * @example
 * ```ts
 * import { openKeyRequest } from '@cloister/admin';
 * const request = await openKeyRequest(provider, storeText, passphrase);
 * ```
 */
export async function openKeyRequest(
  provider: CryptoProvider,
  storeText: string,
  passphrase: string,
): Promise<KeyRequest> {
  const store = parseStore(storeText, KEY_STORE_FORMATS.keyRequest);
  const tenant = field(store, 'tenant', (v) => tenantId(v as string));
  const admin = field(store, 'admin', text);
  const publicKey = field(store, 'publicKey', bytes32);
  const privateKey = await unwrapSecret(provider, store.wrappedPrivateKey, passphrase);
  if (!equalBytes(await provider.ed25519.publicKey(privateKey), publicKey)) {
    throw new InvalidKeyError('keyStore.publicKey', 'not the public key of the stored private key');
  }
  return { tenant, admin, publicKey, privateKey };
}

/**
 * What the admin SDK pinned of one user's signed device list: the newest list it accepted for a
 * broadcast (trust on first use, then only a signed successor of it), and a list it refused
 * because it does not follow the pin, held until the administrator accepts it
 * (`admin.broadcasts.acceptDeviceListReset`).
 *
 * @example
 * ```ts
 * const pins = memoryDeviceListPins();
 * const pin: DeviceListPin | undefined = await pins.get('alice');
 * if (pin !== undefined) console.log(`alice: epoch ${pin.epoch}, held: ${pin.held !== undefined}`);
 * ```
 */
export interface DeviceListPin {
  /** The user the list belongs to. */
  readonly user: string;
  /** The pinned list's epoch. */
  readonly epoch: number;
  /** SHA-256 of the pinned list's bytes (32 bytes). */
  readonly head: Uint8Array;
  /** The pinned list's bytes (a signed device list, `spec/device-lists.md`). */
  readonly list: Uint8Array;
  /** The bytes of the newest list refused for not following the pin, when there is one. */
  readonly held?: Uint8Array;
}

/**
 * Where the admin SDK keeps its {@link DeviceListPin}s between broadcasts. `put` stores every pin
 * it is given (each replacing its user's) or, when it fails, none. Pins are public (device lists
 * the server serves to every device of the tenant) but must not be changed by anyone else: a
 * store that lets the operator edit it gives the operator back the reset the pins refuse.
 *
 * @example
 * ```ts
 * const pins: DeviceListPinStore = memoryDeviceListPins();
 * await admin.broadcasts.send({ text: 'Lift out of order', audience: { kind: 'tenant' } }, signer, { pins });
 * ```
 */
export interface DeviceListPinStore {
  /**
   * The pin of `user`, or undefined when nothing is pinned for that user yet.
   *
   * @example
   * ```ts
   * const pin = await memoryDeviceListPins().get('alice');
   * console.log(pin === undefined); // true: nothing pinned yet
   * ```
   */
  get(user: string): Promise<DeviceListPin | undefined>;
  /**
   * Stores the pins, all or none.
   *
   * @example
   * ```ts
   * const store = memoryDeviceListPins();
   * await store.put([]); // nothing to store; a broadcast passes the pins it moved
   * ```
   */
  put(pins: readonly DeviceListPin[]): Promise<void>;
}

/**
 * A {@link DeviceListPinStore} in memory, with every pin it holds (to write them somewhere).
 *
 * @example
 * ```ts
 * const pins: MemoryDeviceListPinStore = memoryDeviceListPins();
 * console.log(pins.all().length); // 0
 * ```
 */
export interface MemoryDeviceListPinStore extends DeviceListPinStore {
  /**
   * Every pin, by user.
   *
   * @example
   * ```ts
   * for (const pin of memoryDeviceListPins().all()) console.log(pin.user, pin.epoch);
   * ```
   */
  all(): DeviceListPin[];
}

const copyPin = (p: DeviceListPin): DeviceListPin => ({
  user: p.user,
  epoch: p.epoch,
  head: p.head.slice(),
  list: p.list.slice(),
  ...(p.held === undefined ? {} : { held: p.held.slice() }),
});

/**
 * A pin for `list` (a signed device list's bytes, decoded and checked for form here, not verified:
 * the caller verified it), with `held` when given. `DecodeError` for bytes that are not a device
 * list; `ValidationError` when a list names another user than `user`.
 *
 * @example
 * ```ts
 * const pin = await deviceListPin(provider, 'alice', bytes); // bytes: a signed device list of alice
 * console.log(pin.epoch);
 * ```
 */
export async function deviceListPin(
  provider: CryptoProvider,
  user: string,
  list: Uint8Array,
  held?: Uint8Array,
): Promise<DeviceListPin> {
  const id = userId(user);
  const decoded = decodeDeviceList(list);
  if (decoded.user !== id) throw new ValidationError('pin.list', "a list of the pin's user");
  if (held !== undefined && decodeDeviceList(held).user !== id) {
    throw new ValidationError('pin.held', "a list of the pin's user");
  }
  return {
    user: id,
    epoch: decoded.epoch,
    head: await deviceListHash(provider, decoded.bytes),
    list: decoded.bytes,
    ...(held === undefined ? {} : { held: held.slice() }),
  };
}

/**
 * A {@link DeviceListPinStore} in memory, starting with `initial` (what `admin.broadcasts` uses
 * when no store is given: one per `AdminClient`, gone when the process ends).
 *
 * @example
 * ```ts
 * const pins = memoryDeviceListPins(await decodeDeviceListPins(provider, storeText));
 * ```
 */
export function memoryDeviceListPins(initial: readonly DeviceListPin[] = []): MemoryDeviceListPinStore {
  const pins = new Map<string, DeviceListPin>();
  const check = (p: DeviceListPin): DeviceListPin => {
    if (typeof p !== 'object' || p === null) throw new ValidationError('pin', 'a device-list pin');
    userId(p.user);
    if (!Number.isSafeInteger(p.epoch) || p.epoch < 1) throw new ValidationError('pin.epoch', 'an epoch');
    if (!(p.head instanceof Uint8Array) || p.head.length !== 32) {
      throw new ValidationError('pin.head', '32 bytes');
    }
    if (!(p.list instanceof Uint8Array)) throw new ValidationError('pin.list', 'bytes');
    if (p.held !== undefined && !(p.held instanceof Uint8Array))
      throw new ValidationError('pin.held', 'bytes');
    return copyPin(p);
  };
  for (const p of initial) pins.set(p.user, check(p));
  return {
    get: async (user) => {
      const pin = pins.get(user);
      return pin === undefined ? undefined : copyPin(pin);
    },
    put: async (next) => {
      const checked = next.map(check);
      for (const p of checked) pins.set(p.user, p);
    },
    all: () => [...pins.values()].sort((a, b) => (a.user < b.user ? -1 : 1)).map(copyPin),
  };
}

/**
 * The device-list pins' text (format `cloister-admin/device-list-pins/v1`): public data, one
 * entry per user `{ user, epoch, head, list, held? }` with the bytes in base64url, by user.
 *
 * @example
 * ```ts
 * import { writeKeyStoreFile } from '@cloister/admin/node';
 * const pins = memoryDeviceListPins();
 * await admin.broadcasts.send({ text: 'Lift out of order', audience: { kind: 'tenant' } }, signer, { pins });
 * writeKeyStoreFile('./cloister-admin/device-list-pins.json', encodeDeviceListPins(pins.all()));
 * ```
 */
export function encodeDeviceListPins(pins: readonly DeviceListPin[]): string {
  const sorted = [...pins].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  return `${JSON.stringify(
    {
      format: KEY_STORE_FORMATS.deviceListPins,
      pins: sorted.map((p) => ({
        user: p.user,
        epoch: p.epoch,
        head: toBase64Url(p.head),
        list: toBase64Url(p.list),
        ...(p.held === undefined ? {} : { held: toBase64Url(p.held) }),
      })),
    },
    null,
    2,
  )}\n`;
}

/**
 * Reads the text {@link encodeDeviceListPins} wrote. Every entry is checked: its list is a device
 * list of its user with the stated epoch and hash, a held list is one of the same user, no user
 * twice; anything else is `DecodeError` naming the entry (nothing is returned).
 *
 * @example
 * ```ts
 * import { readKeyStoreFile } from '@cloister/admin/node';
 * const text = readKeyStoreFile('./cloister-admin/device-list-pins.json');
 * const pins = memoryDeviceListPins(await decodeDeviceListPins(provider, text));
 * ```
 */
export async function decodeDeviceListPins(
  provider: CryptoProvider,
  storeText: string,
): Promise<DeviceListPin[]> {
  const store = parseStore(storeText, KEY_STORE_FORMATS.deviceListPins);
  if (!Array.isArray(store.pins)) throw new DecodeError('keyStore.pins', 'an array');
  const out: DeviceListPin[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (store.pins as unknown[]).entries()) {
    const path = `keyStore.pins[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new DecodeError(path, 'an object');
    const entry = raw as Record<string, unknown>;
    let pin: DeviceListPin;
    try {
      const held = entry.held === undefined ? undefined : bytesAny(entry.held);
      pin = await deviceListPin(provider, text(entry.user), bytesAny(entry.list), held);
    } catch {
      throw new DecodeError(path, 'a device list of its user');
    }
    if (entry.epoch !== pin.epoch) throw new DecodeError(`${path}.epoch`, "the list's epoch");
    let head: Uint8Array;
    try {
      head = bytes32(entry.head);
    } catch {
      throw new DecodeError(`${path}.head`, '32 bytes in base64url');
    }
    if (!equalBytes(head, pin.head)) throw new DecodeError(`${path}.head`, "the list's SHA-256");
    if (seen.has(pin.user)) throw new DecodeError(`${path}.user`, 'a user not pinned twice');
    seen.add(pin.user);
    out.push(pin);
  }
  return out;
}
