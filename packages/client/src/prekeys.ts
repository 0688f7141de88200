/**
 * This device's prekeys on the server: publishing the signed prekey with a last-resort ML-KEM
 * prekey and the signed suite list, rotating it weekly (keeping replaced ones for messages in
 * flight), and topping up one-time prekeys when the server runs low. Publishing is finished at
 * `start()` when enrolment could not do it.
 *
 * @module
 */
import {
  type DeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  registrationId as toRegistrationId,
  toSignedPreKeyPublic,
  UsageError,
} from '@cloister/crypto';
import { encodePreKeyBundle } from '@cloister/protocol';
import { b64, type ClientContext, type Unlocked } from './context.js';
import { CLIENT_LOCAL_TABLES, getRecord, isNumber, putRecord } from './local.js';
import { expectOk } from './transport/common.js';

const REGISTRATION = CLIENT_LOCAL_TABLES.registration;
const REG_PATH = 'c_registration';
/** First id of the last-resort ML-KEM prekeys (one per signed prekey). */
const LAST_RESORT_BASE = 0x7fff_0000;
/** Age of the newest signed prekey after which `start()` publishes a new one: 7 days. */
export const SIGNED_PREKEY_ROTATION_MS = 7 * 86_400_000;
/** How long a replaced signed prekey is kept for initial messages in flight: 30 days. */
export const SIGNED_PREKEY_KEEP_MS = 30 * 86_400_000;

/** Publishes signed prekey 1 and a first batch of one-time prekeys, then records that it did. */
export async function publishKeys(
  ctx: ClientContext,
  identity: DeviceIdentity,
  regId: number,
): Promise<void> {
  const u = ctx.ready();
  await publishSigned(ctx, u, identity, regId, 1);
  await refillPreKeys(ctx, true);
  await u.adapter.transaction((tx) => putRecord(tx, REGISTRATION, 'keys-published', { at: ctx.now() }));
}

/** Publishes the prekeys when an earlier attempt (at enrolment) did not finish. */
export async function ensureKeysPublished(ctx: ClientContext): Promise<void> {
  const u = ctx.ready();
  const done = await u.adapter.transaction((tx) => getRecord(tx, REGISTRATION, 'keys-published', REG_PATH));
  if (done !== undefined) return;
  const own = await u.stores.ownIdentity.get();
  if (own === undefined) throw new UsageError('the local data is incomplete');
  await publishKeys(ctx, own.identity, own.registrationId);
}

/**
 * Generates signed prekey `id` and a last-resort ML-KEM prekey (id `LAST_RESORT_BASE + id`),
 * stores them and publishes them with the signed suite list.
 */
async function publishSigned(
  ctx: ClientContext,
  u: Unlocked,
  identity: DeviceIdentity,
  regId: number,
  id: number,
): Promise<void> {
  const p = ctx.provider;
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(id));
  const lastResort = await generateKemPreKey(p, identity, kemPreKeyId(LAST_RESORT_BASE + (id & 0xffff)), {
    lastResort: true,
  });
  await u.stores.preKeys.storeSignedPreKey(spk);
  await u.stores.preKeys.storeKemPreKey(lastResort);
  const body = encodePreKeyBundle({
    registrationId: toRegistrationId(regId),
    deviceId: u.registration.deviceId,
    identity: toPublicIdentity(identity),
    signedPreKey: toSignedPreKeyPublic(spk),
    kemPreKey: toKemPreKeyPublic(lastResort),
    suites: [...ctx.suites],
    suitesSignature: await signSuites(p, identity, [...ctx.suites]),
  });
  expectOk(await u.transport.request('PUT', '/v1/keys/signed', { body }));
}

/**
 * Replaces the signed prekey (and the last-resort KEM prekey) once the newest is older than
 * {@link SIGNED_PREKEY_ROTATION_MS}; keeps the previous ones {@link SIGNED_PREKEY_KEEP_MS} for
 * initial messages still in flight, then deletes them.
 */
export async function rotateSignedPreKey(ctx: ClientContext): Promise<void> {
  const u = ctx.ready();
  const now = ctx.now();
  const list = await u.stores.preKeys.listSignedPreKeys();
  const newest = list.reduce<(typeof list)[number] | undefined>(
    (a, b) => (a === undefined || b.preKey.id > a.preKey.id ? b : a),
    undefined,
  );
  if (newest !== undefined && now - newest.createdAt < SIGNED_PREKEY_ROTATION_MS) return;
  const own = await u.stores.ownIdentity.get();
  if (own === undefined) return;
  const id = (newest?.preKey.id ?? 0) + 1;
  await publishSigned(ctx, u, own.identity, own.registrationId, id);
  for (const old of list) {
    if (old !== newest && now - old.createdAt > SIGNED_PREKEY_KEEP_MS) {
      await u.stores.preKeys.removeSignedPreKey(old.preKey.id);
      await u.stores.preKeys.deleteKemPreKey(kemPreKeyId(LAST_RESORT_BASE + (old.preKey.id & 0xffff)));
    }
  }
}

/** Uploads one-time prekeys when the server has fewer than the refill threshold (always with `force`). */
export async function refillPreKeys(ctx: ClientContext, force = false): Promise<void> {
  const u = ctx.ready();
  const batch = ctx.options.preKeys?.batch ?? 50;
  const below = ctx.options.preKeys?.refillBelow ?? 20;
  if (!force) {
    const counts = expectOk(await u.transport.request('GET', '/v1/keys/count')).json as {
      preKeys: number;
      kemPreKeys: number;
    };
    if (counts.preKeys >= below && counts.kemPreKeys >= below) return;
  }
  const p = ctx.provider;
  const next = await u.adapter.transaction(async (tx) => {
    const d = await getRecord(tx, REGISTRATION, 'prekey-next', REG_PATH, { forUpdate: true });
    const start = isNumber(d?.next) ? d.next : 1;
    await putRecord(tx, REGISTRATION, 'prekey-next', { next: start + batch });
    return start;
  });
  const oneTime = await generateOneTimePreKeys(p, oneTimePreKeyId(next), batch);
  const kem = [];
  for (let i = 0; i < batch; i++) {
    kem.push(await generateKemPreKey(p, u.self.identity, kemPreKeyId(next + i), { lastResort: false }));
  }
  await u.stores.preKeys.storeOneTimePreKeys(oneTime);
  for (const k of kem) await u.stores.preKeys.storeKemPreKey(k);
  expectOk(
    await u.transport.request('POST', '/v1/keys/one-time', {
      json: {
        preKeys: oneTime.map((k) => {
          const pub = toOneTimePreKeyPublic(k);
          return { id: pub.id, publicKey: b64(pub.publicKey) };
        }),
        kemPreKeys: kem.map((k) => {
          const pub = toKemPreKeyPublic(k);
          return { id: pub.id, publicKey: b64(pub.publicKey), signature: b64(pub.signature) };
        }),
      },
    }),
  );
}
