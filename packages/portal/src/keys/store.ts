/**
 * The administrator's signing key in this browser: IndexedDB database `cloister-portal-keys`,
 * object store `keys` (key path `id`). A kept key is `<tenant>/<admin>` with the non-extractable
 * WebCrypto `CryptoKey` (structured-cloneable; the browser never lets it out) and the public
 * members of the key (tenant, admin, role, public key, certificate, root public key). A key
 * request in progress is `<tenant>/<admin>/request` with its `CryptoKey` and public key. No
 * private key bytes are ever written. `spec/portal.md` §4.
 *
 * @module
 */
import type { AdminClient, AdminSigningKey, OrganisationSigner } from '@cloister/admin';
import { webCryptoSigner } from '@cloister/admin';
import { type CryptoProvider, getProvider, UsageError } from '@cloister/crypto';
import type { AdminRole } from '@cloister/protocol';
import { decodeAdminCertificate } from '@cloister/protocol';
import type { PortalSession } from '../session/portal-context.js';

/** The IndexedDB database of the kept keys. */
export const KEY_DATABASE = 'cloister-portal-keys';
const STORE = 'keys';

/** A kept key as IndexedDB holds it. */
export interface KeptKey {
  readonly id: string;
  readonly tenant: string;
  readonly admin: string;
  readonly role: AdminRole;
  readonly publicKey: Uint8Array;
  readonly certificate: Uint8Array;
  readonly rootPublicKey: Uint8Array;
  /** Non-extractable Ed25519 private key, usage `sign`. */
  readonly cryptoKey: CryptoKey;
}

/** A key request in progress (waiting for an owner's certificate). */
export interface PendingRequest {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly cryptoKey: CryptoKey;
  readonly createdAt: number;
}

/** The id of `tenant`'s `admin`'s kept key. */
export function keyId(tenant: string, admin: string): string {
  return `${tenant}/${admin}`;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(KEY_DATABASE, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE))
        request.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The kept key of `tenant`'s `admin`, or undefined. */
export async function readKept(tenant: string, admin: string): Promise<KeptKey | undefined> {
  const value = await run('readonly', (s) => s.get(keyId(tenant, admin)));
  return (value as KeptKey | undefined) ?? undefined;
}

/** Keeps `key` (its private key a WebCrypto signer) for its tenant and admin. */
export async function keep(key: AdminSigningKey): Promise<KeptKey> {
  const signer = key.privateKey;
  if (signer instanceof Uint8Array || !('cryptoKey' in signer)) {
    throw new UsageError('only a WebCrypto key is kept in the browser');
  }
  const cryptoKey = (signer as { cryptoKey: CryptoKey }).cryptoKey;
  if (cryptoKey.extractable) throw new UsageError('the key to keep is extractable');
  const record: KeptKey = {
    id: keyId(key.tenant, key.admin),
    tenant: key.tenant,
    admin: key.admin,
    role: key.role,
    publicKey: key.publicKey.slice(),
    certificate: key.certificate.slice(),
    rootPublicKey: key.rootPublicKey.slice(),
    cryptoKey,
  };
  await run('readwrite', (s) => s.put(record));
  return record;
}

/** Forgets the kept key (and any key request) of `tenant`'s `admin`. */
export async function forget(tenant: string, admin: string): Promise<void> {
  await run('readwrite', (s) => s.delete(keyId(tenant, admin)));
  await run('readwrite', (s) => s.delete(`${keyId(tenant, admin)}/request`));
}

/** The key request in progress of `tenant`'s `admin`, or undefined. */
export async function readRequest(tenant: string, admin: string): Promise<PendingRequest | undefined> {
  const value = await run('readonly', (s) => s.get(`${keyId(tenant, admin)}/request`));
  return (value as PendingRequest | undefined) ?? undefined;
}

/** Keeps a key request in progress. */
export async function keepRequest(
  tenant: string,
  admin: string,
  publicKey: Uint8Array,
  cryptoKey: CryptoKey,
) {
  const record: PendingRequest = {
    id: `${keyId(tenant, admin)}/request`,
    publicKey,
    cryptoKey,
    createdAt: Date.now(),
  };
  await run('readwrite', (s) => s.put(record));
  return record;
}

/** Drops the key request in progress. */
export async function dropRequest(tenant: string, admin: string): Promise<void> {
  await run('readwrite', (s) => s.delete(`${keyId(tenant, admin)}/request`));
}

let provider: Promise<CryptoProvider> | undefined;

/** The crypto provider the portal uses (`getProvider()`: WebCrypto where it can, else noble). */
export function portalProvider(): Promise<CryptoProvider> {
  provider ??= getProvider();
  return provider;
}

/** The signing key of a kept record (the CryptoKey checked against the public key). */
export async function signingKeyOf(kept: KeptKey): Promise<AdminSigningKey> {
  const signer = await webCryptoSigner(kept.cryptoKey, kept.publicKey);
  return {
    tenant: kept.tenant as AdminSigningKey['tenant'],
    admin: kept.admin,
    role: kept.role,
    privateKey: signer,
    publicKey: kept.publicKey.slice(),
    certificate: kept.certificate.slice(),
    rootPublicKey: kept.rootPublicKey.slice(),
  };
}

/** Makes an `AdminClient` on the session's token that checks statements against `root`. */
export type ClientWithRoot = (organisationRoot: Uint8Array) => AdminClient;

/**
 * The organisation signer of `session` with `key`: its client checks the server's statements
 * against the key's root (`organisationRoot`). `UsageError` when the key is another
 * administrator's.
 */
export async function signerFor(
  session: PortalSession,
  key: AdminSigningKey,
  clientWithRoot: ClientWithRoot,
): Promise<OrganisationSigner> {
  if (key.admin !== session.identity.admin || key.tenant !== session.identity.tenant) {
    throw new UsageError('the signing key belongs to another administrator');
  }
  return { provider: await portalProvider(), key, client: clientWithRoot(key.rootPublicKey) };
}

/** The signer from the key kept for the signed-in administrator, or undefined when none is. */
export async function keptSigner(
  session: PortalSession,
  clientWithRoot: ClientWithRoot,
): Promise<OrganisationSigner | undefined> {
  const kept = await readKept(session.identity.tenant, session.identity.admin);
  if (kept === undefined) return undefined;
  return signerFor(session, await signingKeyOf(kept), clientWithRoot);
}

/** When `certificate` expires (ms since the epoch). */
export function certificateExpiry(certificate: Uint8Array): number {
  return decodeAdminCertificate(certificate).expiresAtMs;
}

/** A short fingerprint of a public key: the first 16 bytes of its SHA-256, hex in groups of 4. */
export async function keyFingerprint(publicKey: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(publicKey)));
  const hex = [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)?.join(' ') ?? hex;
}
