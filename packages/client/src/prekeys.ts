/**
 * This device's prekeys on the server: publishing the signed prekey with a last-resort ML-KEM
 * prekey and the signed suite list, rotating it when the core's `planRotation` says so, and
 * topping up one-time prekeys when the server runs low. Publishing is finished at
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
import { toBase64Url as b64 } from './_base64.js';
import type { ClientContext, Unlocked } from './context.js';
import { lastResortKemId, planRotation } from './core/index.js';
import { CLIENT_LOCAL_TABLES, getRecord, isNumber, putRecord } from './local.js';
import { expectOk } from './transport/common.js';

const REGISTRATION = CLIENT_LOCAL_TABLES.registration;
const REG_PATH = 'c_registration';

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
 * Generates signed prekey `id` and its last-resort ML-KEM prekey (`lastResortKemId`),
 * stores them and publishes them with the suite list, signed together with `id` and the time
 * from `ctx.now()` (`suitesIssuedAt`).
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
  const lastResort = await generateKemPreKey(p, identity, kemPreKeyId(lastResortKemId(id)), {
    lastResort: true,
  });
  await u.stores.preKeys.storeSignedPreKey(spk);
  await u.stores.preKeys.storeKemPreKey(lastResort);
  // The suite list is signed anew with each signed prekey, bound to its id and to the time now:
  // peers refuse a list older than the newest they have seen from this device.
  const issuedAt = ctx.now();
  const body = encodePreKeyBundle({
    registrationId: toRegistrationId(regId),
    deviceId: u.registration.deviceId,
    identity: toPublicIdentity(identity),
    signedPreKey: toSignedPreKeyPublic(spk),
    kemPreKey: toKemPreKeyPublic(lastResort),
    suites: [...ctx.suites],
    suitesIssuedAt: issuedAt,
    suitesSignature: await signSuites(p, identity, [...ctx.suites], { signedPreKeyId: spk.id, issuedAt }),
  });
  expectOk(await u.transport.request('PUT', '/v1/keys/signed', { body }));
}

/**
 * Replaces the signed prekey (and its last-resort KEM prekey) when the core's `planRotation` says
 * so, and deletes the replaced ones it names.
 */
export async function rotateSignedPreKey(ctx: ClientContext): Promise<void> {
  const u = ctx.ready();
  const list = await u.stores.preKeys.listSignedPreKeys();
  const plan = planRotation(
    list.map((k) => ({ id: k.preKey.id, createdAt: k.createdAt })),
    ctx.now(),
  );
  if (plan.publish === undefined) return;
  const own = await u.stores.ownIdentity.get();
  if (own === undefined) return;
  await publishSigned(ctx, u, own.identity, own.registrationId, plan.publish);
  for (const id of plan.remove) {
    await u.stores.preKeys.removeSignedPreKey(signedPreKeyId(id));
    await u.stores.preKeys.deleteKemPreKey(kemPreKeyId(lastResortKemId(id)));
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
