/**
 * Signing organisation objects on the administrator's machine and publishing them
 * (`spec/admin-sdk.md` §2). Each function takes the next sequence of its kind from the server's
 * `GET /admin/v1/organisation`, signs with the administrator's certified key
 * (`signOrganisationObject`, which applies the protocol's rules first), publishes, and when the
 * server answers 409 `organisation-sequence` (another administrator signed the same kind in
 * between) fetches the sequence again and signs once more, once.
 *
 * The key may be held by an `Ed25519Signer` (a non-extractable WebCrypto key in the browser): the
 * signer's public key must be the certified one and each signature it returns is verified before
 * anything is published (`InvalidKeyError` otherwise).
 *
 * The server only chooses the sequence number, which the client checks for going backwards per
 * scope anyway; everything the object says comes from the caller.
 *
 * @module
 */
import {
  type CryptoProvider,
  type DeviceId,
  type PublicIdentity,
  deviceId as toDeviceId,
  ValidationError,
} from '@cloister/crypto';
import {
  type BroadcastAudience,
  type OrganisationObjectKind,
  type OrganisationPayload,
  type PolicyLayerKind,
  type PoolId,
  poolId,
  type SignedPolicyFeature,
  signOrganisationObject,
  type UserId,
  userId,
  validateRestrictionFeature,
} from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import type { AdminClient, PublishAnswer } from './client.js';
import { ConflictError } from './errors.js';
import type { AdminSigningKey } from './organisation.js';

/**
 * What signs and where it publishes.
 *
 * @example
 * ```ts
 * const signer: OrganisationSigner = { provider, key: org.owner, client: admin };
 * ```
 */
export interface OrganisationSigner {
  /** The crypto provider that signs. */
  readonly provider: CryptoProvider;
  /**
   * The administrator's certified signing key; its `privateKey` may be 32 bytes or an
   * `Ed25519Signer` (a non-extractable WebCrypto key, `importSigningKeyToWebCrypto`).
   */
  readonly key: AdminSigningKey;
  /** The client that reads the next sequence and publishes. */
  readonly client: AdminClient;
  /** The signer's clock (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * A published object: the server's answer and the signed bytes.
 *
 * @example
 * ```ts
 * const { sequence, scope, object }: Published = await signPoolRules(signer, { 'ward-3': ['pharmacy'] });
 * ```
 */
export interface Published extends PublishAnswer {
  /** The signed organisation object's bytes, as published. */
  readonly object: Uint8Array;
}

/**
 * Signs `payload` with the next sequence of its kind and publishes it with `publish`, retrying once
 * on a sequence conflict. The building block of the `sign…` functions.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 * const rules = [{ pool: poolId('ward-3'), mayContact: [poolId('pharmacy')] }];
 * await signAndPublish(signer, { kind: 'pool-rules', payload: { rules } }, (object) =>
 *   signer.client.publishPoolRules(object),
 * );
 * ```
 */
export async function signAndPublish(
  signer: OrganisationSigner,
  payload: OrganisationPayload,
  publish: (object: Uint8Array) => Promise<PublishAnswer>,
): Promise<Published> {
  const now = signer.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    const state = await signer.client.getOrganisation();
    const sequence = state.sequences[payload.kind as OrganisationObjectKind];
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new ValidationError('sequences', `a next sequence for ${payload.kind}`);
    }
    const object = await signOrganisationObject(
      signer.provider,
      signer.key.privateKey,
      signer.key.certificate,
      {
        ...payload,
        tenant: signer.key.tenant,
        issuedAtMs: now(),
        sequence,
      } as Parameters<typeof signOrganisationObject>[3],
    );
    try {
      return { ...(await publish(object)), object };
    } catch (error) {
      if (attempt === 0 && error instanceof ConflictError && error.constraint === 'organisation-sequence')
        continue;
      throw error;
    }
  }
}

/**
 * Which layer a policy applies to.
 *
 * @example
 * ```ts
 * const layer: PolicyLayerTarget = { layer: 'pool', target: 'ward-3' };
 * ```
 */
export type PolicyLayerTarget =
  | { readonly layer: 'tenant' }
  | { readonly layer: Exclude<PolicyLayerKind, 'tenant'>; readonly target: string };

/**
 * Signs and publishes a policy layer (`document`: features by name). Only the tenant layer may
 * name `archive` (else `ForbiddenError` before anything is sent); a well-known restriction whose
 * value breaks its format (`spec/restrictions.md`) is a `ValidationError` before anything is sent.
 *
 * @example
 * ```ts
 * import { signPolicyLayer } from '@cloister/admin';
 * await signPolicyLayer(signer, { layer: 'pool', target: 'ward-3' }, { 'files.send': { enabled: false, locked: true } });
 * ```
 */
export function signPolicyLayer(
  signer: OrganisationSigner,
  target: PolicyLayerTarget,
  document: { readonly [feature: string]: SignedPolicyFeature },
): Promise<Published> {
  try {
    for (const [name, feature] of Object.entries(document ?? {})) {
      validateRestrictionFeature(name, feature, target.layer);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const payload = {
    layer: target.layer,
    target: target.layer === 'tenant' ? null : target.target,
    document,
  };
  return signAndPublish(signer, { kind: 'policy-layer', payload }, (o) =>
    signer.client.publishPolicyLayer(o),
  );
}

/**
 * Signs and publishes a wipe command for one device, with a fresh random 16-byte `commandId`
 * (which the device's signed report repeats). The route needs a fresh second factor.
 *
 * @example
 * ```ts
 * import { signWipe } from '@cloister/admin';
 * const { commandId } = await signWipe(signer, { user: 'alice', device: 2 });
 * ```
 */
export async function signWipe(
  signer: OrganisationSigner,
  target: { readonly user: string; readonly device: number },
): Promise<Published & { readonly commandId: string }> {
  const user = userId(target.user);
  const device: DeviceId = toDeviceId(target.device, 'device');
  const commandId = signer.provider.randomBytes(16);
  const published = await signAndPublish(
    signer,
    { kind: 'wipe', payload: { user, deviceId: device, commandId } },
    (o) => signer.client.wipeDevice(user, device, o),
  );
  return { ...published, commandId: toBase64Url(commandId) };
}

/**
 * The audience of a broadcast as a caller gives it: ids in any order (sorted and deduplicated
 * here, as the format requires).
 *
 * @example
 * ```ts
 * const audience: BroadcastTarget = { kind: 'pools', pools: ['ward-3', 'icu'] };
 * ```
 */
export type BroadcastTarget =
  | { readonly kind: 'tenant' }
  | { readonly kind: 'pools'; readonly pools: readonly string[] }
  | { readonly kind: 'users'; readonly users: readonly string[] };

const sortedUnique = (ids: readonly string[]): string[] =>
  [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * A signed broadcast object, not yet sent (`admin.broadcasts.send` seals it to every device of
 * its audience and submits it).
 *
 * @example
 * ```ts
 * const signed: SignedBroadcast = await signBroadcast(signer, { audience: { kind: 'tenant' }, text: 'Maintenance tonight 22:00' });
 * console.log(signed.broadcastId, signed.sequence);
 * ```
 */
export interface SignedBroadcast {
  /** The signed organisation object's bytes. */
  readonly object: Uint8Array;
  /** base64url of its fresh random 16-byte broadcast id. */
  readonly broadcastId: string;
  /** The sequence it was signed with (the tenant's next `broadcast` sequence). */
  readonly sequence: number;
}

/**
 * Signs a broadcast with a fresh random 16-byte id and the tenant's next `broadcast` sequence. It
 * sends nothing: a broadcast travels end to end (`admin.broadcasts.send`, spec/broadcast.md).
 *
 * @example
 * ```ts
 * import { signBroadcast } from '@cloister/admin';
 * const { object, broadcastId } = await signBroadcast(signer, { audience: { kind: 'tenant' }, text: 'Maintenance tonight 22:00' });
 * ```
 */
export async function signBroadcast(
  signer: OrganisationSigner,
  input: { readonly audience: BroadcastTarget; readonly text: string },
): Promise<SignedBroadcast> {
  const a = input.audience;
  const audience: BroadcastAudience =
    a.kind === 'tenant'
      ? { kind: 'tenant' }
      : a.kind === 'pools'
        ? { kind: 'pools', pools: sortedUnique(a.pools).map((p) => poolId(p)) }
        : { kind: 'users', users: sortedUnique(a.users).map((u) => userId(u)) };
  const broadcastId = signer.provider.randomBytes(16);
  const state = await signer.client.getOrganisation();
  const sequence = state.sequences.broadcast;
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new ValidationError('sequences', 'a next sequence for broadcast');
  }
  const object = await signOrganisationObject(
    signer.provider,
    signer.key.privateKey,
    signer.key.certificate,
    {
      kind: 'broadcast',
      payload: { broadcastId, audience, text: input.text },
      tenant: signer.key.tenant,
      issuedAtMs: (signer.now ?? Date.now)(),
      sequence,
    } as Parameters<typeof signOrganisationObject>[3],
  );
  return { object, broadcastId: toBase64Url(broadcastId), sequence };
}

/**
 * Signs and publishes the tenant's whole pool-rule set: for each pool, the pools its members may
 * contact (a pool not listed reaches only itself). Pools are sorted here.
 *
 * @example
 * ```ts
 * import { signPoolRules } from '@cloister/admin';
 * await signPoolRules(signer, { 'ward-3': ['pharmacy'], pharmacy: ['ward-3'] });
 * ```
 */
export function signPoolRules(
  signer: OrganisationSigner,
  rules: { readonly [pool: string]: readonly string[] },
): Promise<Published> {
  const payload = {
    rules: sortedUnique(Object.keys(rules)).map((pool) => ({
      pool: poolId(pool) as PoolId,
      mayContact: sortedUnique(rules[pool] ?? []).map((p) => poolId(p)),
    })),
  };
  return signAndPublish(signer, { kind: 'pool-rules', payload }, (o) => signer.client.publishPoolRules(o));
}

/**
 * Signs and publishes a zero-touch admission of a device to a user's device list.
 *
 * @example
 * ```ts
 * import { signDeviceAdmission } from '@cloister/admin';
 * await signDeviceAdmission(signer, { user: 'alice', device: 3, identity });
 * ```
 */
export function signDeviceAdmission(
  signer: OrganisationSigner,
  input: { readonly user: string; readonly device: number; readonly identity: PublicIdentity },
): Promise<Published> {
  const payload = {
    user: userId(input.user) as UserId,
    deviceId: toDeviceId(input.device, 'device'),
    identity: input.identity,
  };
  return signAndPublish(signer, { kind: 'device-admission', payload }, (o) =>
    signer.client.publishAdmission(o),
  );
}

/**
 * Signs and publishes a certificate delegation for the tenant's server signing key (as
 * `GET /admin/v1/organisation` names it), valid from `notBeforeMs` (default now) for `validityMs`
 * (default and at most 7 days). Owners only; fresh second factor.
 *
 * @example
 * ```ts
 * import { signDelegation } from '@cloister/admin';
 * const { notAfterMs } = await signDelegation(signer);
 * ```
 */
export async function signDelegation(
  signer: OrganisationSigner,
  options: { readonly notBeforeMs?: number; readonly validityMs?: number } = {},
): Promise<Published & { readonly notBeforeMs: number; readonly notAfterMs: number }> {
  const now = signer.now ?? Date.now;
  const validityMs = options.validityMs ?? 7 * 86_400_000;
  if (!Number.isSafeInteger(validityMs) || validityMs < 1 || validityMs > 7 * 86_400_000) {
    throw new ValidationError('options.validityMs', 'a whole number of ms from 1 to 7 days');
  }
  const state = await signer.client.getOrganisation();
  const serverSigningPublicKey = fromBase64Url(state.serverSigningKey, 'serverSigningKey');
  if (serverSigningPublicKey.length !== 32) throw new ValidationError('serverSigningKey', '32 bytes');
  const notBeforeMs = options.notBeforeMs ?? now();
  const notAfterMs = notBeforeMs + validityMs;
  const published = await signAndPublish(
    { ...signer, now },
    { kind: 'certificate-delegation', payload: { serverSigningPublicKey, notBeforeMs, notAfterMs } },
    (o) => signer.client.publishDelegation(o),
  );
  return { ...published, notBeforeMs, notAfterMs };
}
