/**
 * Argument checks for the public functions of suite `v2`. Each check names the field it rejects
 * and never its value; it returns the value typed so callers trust it afterwards.
 */
import { checkBytes, checkInt } from '../bytes.js';
import { ValidationError } from '../errors.js';
import type { KemKeyPair, KeyPair } from '../provider.js';
import { MAX_SUITE_CODE, MAX_SUITE_ENTRIES, SUITE_CODES } from './constants.js';
import type { PreKeyStore } from './stores.js';
import type {
  DeviceAddress,
  DeviceIdentity,
  InitialMessage,
  KemPreKey,
  OneTimePreKey,
  PreKeyBundle,
  PublicIdentity,
  RatchetMessage,
  SignedPreKey,
  SuiteName,
} from './types.js';

export const UINT32_MAX = 0xffff_ffff;
export const X25519_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const KEM_PUBLIC_LENGTH = 1184;
export const KEM_SECRET_LENGTH = 2400;
export const KEM_CIPHERTEXT_LENGTH = 1088;
export const TAG_LENGTH = 16;

export function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'an object');
  }
  return value as Record<string, unknown>;
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'a boolean');
  return value;
}

export function checkUint32(value: unknown, field: string): number {
  return checkInt(value, field, 0, UINT32_MAX);
}

/** When a suite list was signed: milliseconds since the Unix epoch, 1 .. 2^53 - 1. */
export function checkSuitesIssuedAt(value: unknown, field: string): number {
  return checkInt(value, field, 1, Number.MAX_SAFE_INTEGER);
}

export function checkKeyPair(value: unknown, field: string): KeyPair {
  const o = checkObject(value, field);
  checkBytes(o.privateKey, `${field}.privateKey`, X25519_LENGTH);
  checkBytes(o.publicKey, `${field}.publicKey`, X25519_LENGTH);
  return value as KeyPair;
}

export function checkKemKeyPair(value: unknown, field: string): KemKeyPair {
  const o = checkObject(value, field);
  checkBytes(o.publicKey, `${field}.publicKey`, KEM_PUBLIC_LENGTH);
  checkBytes(o.secretKey, `${field}.secretKey`, KEM_SECRET_LENGTH);
  return value as KemKeyPair;
}

export function checkPublicIdentity(value: unknown, field: string): PublicIdentity {
  const o = checkObject(value, field);
  checkBytes(o.signingKey, `${field}.signingKey`, X25519_LENGTH);
  checkBytes(o.dhKey, `${field}.dhKey`, X25519_LENGTH);
  checkBytes(o.dhKeySignature, `${field}.dhKeySignature`, ED25519_SIGNATURE_LENGTH);
  return value as PublicIdentity;
}

export function checkDeviceIdentity(value: unknown, field: string): DeviceIdentity {
  const o = checkObject(value, field);
  checkKeyPair(o.signingKeyPair, `${field}.signingKeyPair`);
  checkKeyPair(o.dhKeyPair, `${field}.dhKeyPair`);
  checkBytes(o.dhKeySignature, `${field}.dhKeySignature`, ED25519_SIGNATURE_LENGTH);
  return value as DeviceIdentity;
}

export function checkSignedPreKey(value: unknown, field: string): SignedPreKey {
  const o = checkObject(value, field);
  checkUint32(o.id, `${field}.id`);
  checkKeyPair(o.keyPair, `${field}.keyPair`);
  checkBytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_LENGTH);
  return value as SignedPreKey;
}

export function checkOneTimePreKey(value: unknown, field: string): OneTimePreKey {
  const o = checkObject(value, field);
  checkUint32(o.id, `${field}.id`);
  checkKeyPair(o.keyPair, `${field}.keyPair`);
  return value as OneTimePreKey;
}

export function checkKemPreKey(value: unknown, field: string): KemPreKey {
  const o = checkObject(value, field);
  checkUint32(o.id, `${field}.id`);
  checkKemKeyPair(o.keyPair, `${field}.keyPair`);
  checkBoolean(o.lastResort, `${field}.lastResort`);
  checkBytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_LENGTH);
  return value as KemPreKey;
}

export function checkBundle(value: unknown, field: string): PreKeyBundle {
  const o = checkObject(value, field);
  checkUint32(o.registrationId, `${field}.registrationId`);
  checkUint32(o.deviceId, `${field}.deviceId`);
  checkPublicIdentity(o.identity, `${field}.identity`);
  const spk = checkObject(o.signedPreKey, `${field}.signedPreKey`);
  checkUint32(spk.id, `${field}.signedPreKey.id`);
  checkBytes(spk.publicKey, `${field}.signedPreKey.publicKey`, X25519_LENGTH);
  checkBytes(spk.signature, `${field}.signedPreKey.signature`, ED25519_SIGNATURE_LENGTH);
  if (o.oneTimePreKey !== undefined) {
    const opk = checkObject(o.oneTimePreKey, `${field}.oneTimePreKey`);
    checkUint32(opk.id, `${field}.oneTimePreKey.id`);
    checkBytes(opk.publicKey, `${field}.oneTimePreKey.publicKey`, X25519_LENGTH);
  }
  const kem = checkObject(o.kemPreKey, `${field}.kemPreKey`);
  checkUint32(kem.id, `${field}.kemPreKey.id`);
  checkBytes(kem.publicKey, `${field}.kemPreKey.publicKey`, KEM_PUBLIC_LENGTH);
  checkBoolean(kem.lastResort, `${field}.kemPreKey.lastResort`);
  checkBytes(kem.signature, `${field}.kemPreKey.signature`, ED25519_SIGNATURE_LENGTH);
  const suites = checkSuiteNames(o.suites, `${field}.suites`);
  const unknown = o.unknownSuiteCodes === undefined ? [] : checkUnknownSuiteCodes(o.unknownSuiteCodes, field);
  if (suites.length + unknown.length > MAX_SUITE_ENTRIES) {
    throw new ValidationError(`${field}.unknownSuiteCodes`, `at most ${MAX_SUITE_ENTRIES} suites in all`);
  }
  checkSuitesIssuedAt(o.suitesIssuedAt, `${field}.suitesIssuedAt`);
  checkBytes(o.suitesSignature, `${field}.suitesSignature`, ED25519_SIGNATURE_LENGTH);
  return value as PreKeyBundle;
}

const KNOWN_SUITES = Object.keys(SUITE_CODES) as SuiteName[];
const KNOWN_CODES: readonly number[] = Object.values(SUITE_CODES);

/** A non-empty array of distinct known suite names. */
export function checkSuiteNames(value: unknown, field: string): readonly SuiteName[] {
  const expected = `a non-empty array of distinct suite names (${KNOWN_SUITES.join(', ')})`;
  if (!Array.isArray(value) || value.length === 0) throw new ValidationError(field, expected);
  value.forEach((s: unknown, i) => {
    if (typeof s !== 'string' || !(KNOWN_SUITES as string[]).includes(s) || value.indexOf(s) !== i) {
      throw new ValidationError(`${field}[${i}]`, expected);
    }
  });
  return value as SuiteName[];
}

function checkUnknownSuiteCodes(value: unknown, field: string): readonly number[] {
  const path = `${field}.unknownSuiteCodes`;
  if (!Array.isArray(value)) throw new ValidationError(path, 'an array of suite codes');
  value.forEach((c: unknown, i) => {
    const code = checkInt(c, `${path}[${i}]`, 1, MAX_SUITE_CODE);
    if (KNOWN_CODES.includes(code) || value.indexOf(c) !== i) {
      throw new ValidationError(`${path}[${i}]`, 'a distinct code of no known suite');
    }
  });
  return value as number[];
}

export function checkRatchetMessage(value: unknown, field: string): RatchetMessage {
  const o = checkObject(value, field);
  const h = checkObject(o.header, `${field}.header`);
  checkBytes(h.ratchetKey, `${field}.header.ratchetKey`, X25519_LENGTH);
  checkUint32(h.previousChainLength, `${field}.header.previousChainLength`);
  checkUint32(h.messageNumber, `${field}.header.messageNumber`);
  checkBytes(o.ciphertext, `${field}.ciphertext`);
  return value as RatchetMessage;
}

export function checkInitialMessage(value: unknown, field: string): InitialMessage {
  const o = checkObject(value, field);
  if (o.suite !== 'v2') throw new ValidationError(`${field}.suite`, '"v2"');
  checkPublicIdentity(o.initiatorIdentity, `${field}.initiatorIdentity`);
  checkBytes(o.baseKey, `${field}.baseKey`, X25519_LENGTH);
  checkUint32(o.signedPreKeyId, `${field}.signedPreKeyId`);
  if (o.oneTimePreKeyId !== undefined) checkUint32(o.oneTimePreKeyId, `${field}.oneTimePreKeyId`);
  checkUint32(o.kemPreKeyId, `${field}.kemPreKeyId`);
  checkBytes(o.kemCiphertext, `${field}.kemCiphertext`, KEM_CIPHERTEXT_LENGTH);
  checkRatchetMessage(o.message, `${field}.message`);
  return value as InitialMessage;
}

export function checkPreKeyStore(value: unknown, field: string): PreKeyStore {
  const o = checkObject(value, field);
  for (const m of [
    'getSignedPreKey',
    'getOneTimePreKey',
    'getKemPreKey',
    'removeOneTimePreKey',
    'removeKemPreKey',
    'markKemPreKeyUsed',
  ]) {
    if (typeof o[m] !== 'function') throw new ValidationError(`${field}.${m}`, 'a function');
  }
  return value as PreKeyStore;
}

export function checkAddress(value: unknown, field: string): DeviceAddress {
  const o = checkObject(value, field);
  if (typeof o.userId !== 'string' || o.userId.length === 0 || o.userId.length > 1024) {
    throw new ValidationError(`${field}.userId`, 'a non-empty string of at most 1024 characters');
  }
  checkUint32(o.deviceId, `${field}.deviceId`);
  return value as DeviceAddress;
}
