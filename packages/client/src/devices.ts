/**
 * This user's own devices and their signed list (`spec/device-lists.md`): the first device
 * publishes the first list (trust on first use); every later device is enrolled by the server but
 * receives nothing until a device already on the list links it, from a link code the new device
 * shows (its id and a digest of its identity keys, compared in constant time). Linking signs the
 * next list with this device's identity key; the server cannot do it.
 *
 * @module
 */
import {
  concatBytes,
  type DeviceId,
  DeviceNotLinkedError,
  equalBytes,
  InvalidKeyError,
  deviceId as toDeviceId,
  toPublicIdentity,
  UsageError,
  utf8,
  ValidationError,
  verifyPublicIdentity,
} from '@cloister/crypto';
import {
  type DeviceListBody,
  decodePreKeyBundle,
  deviceListHash,
  MAX_LISTED_DEVICES,
  signDeviceList,
  tenantId,
} from '@cloister/protocol';
import { fromBase64Url, requireBase64Url, toBase64Url } from './_base64.js';
import type { ClientContext } from './context.js';
import { acceptDeviceLists, type DeviceListPin, loadPin } from './core/index.js';
import type { Directory } from './directory.js';
import { expectOk } from './transport/common.js';
import { ServerError } from './transport/errors.js';

/**
 * The label of the digest in a link code (`cloister/v1/link-code`): the code carries the first 16
 * bytes of SHA-256(label ‖ signing key ‖ DH key) of the device to link.
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const digest = await provider.sha256(concatBytes(utf8(LINK_CODE_LABEL), identity.signingKeyPair.publicKey, identity.dhKeyPair.publicKey));
 * ```
 */
export const LINK_CODE_LABEL = 'cloister/v1/link-code';
const LINK_CODE = /^([0-9]{1,10})-([A-Za-z0-9_-]{22})$/;

/**
 * Where this device stands on its user's signed device list.
 *
 * @example
 * ```ts
 * const status: LinkStatus = await client.linkStatus();
 * console.log(status.linked ? `linked, epoch ${status.epoch}` : 'waiting to be linked');
 * ```
 */
export interface LinkStatus {
  /** True when this device is on the list (it may send and receive). */
  readonly linked: boolean;
  /** The pinned list's epoch, or 0 when no list is pinned. */
  readonly epoch: number;
  /** The device ids on the list. */
  readonly devices: readonly DeviceId[];
}

/** The own-device operations of one client. */
export class Devices {
  readonly #ctx: ClientContext;
  readonly #directory: Directory;

  constructor(ctx: ClientContext, directory: Directory) {
    this.#ctx = ctx;
    this.#directory = directory;
  }

  /**
   * Fetches this user's lists; when the user has none, publishes the first list with this device
   * alone (the user's first device: trust on first use). Emits `device-linked` the first time this
   * device is seen on the list. Resolves where the device stands.
   */
  async ensureListed(): Promise<LinkStatus> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const wasLinked = isOn(await u.stores.transaction((t) => loadPin(t.tx, u.self.userId)), u.self.deviceId);
    let pin = await this.#directory.refresh(u.self.userId);
    if (pin === undefined) pin = await this.#publishFirst();
    const status = statusOf(pin, u.self.deviceId);
    if (status.linked && !wasLinked) ctx.emit({ type: 'device-linked', deviceId: u.self.deviceId });
    return status;
  }

  /** Where this device stands, from the server (see {@link Devices.ensureListed}). */
  async status(): Promise<LinkStatus> {
    return this.ensureListed();
  }

  /**
   * The code another device of this user enters or scans to link this one:
   * `<device id>-<22 base64url characters>`, the characters the first 16 bytes of
   * SHA-256("cloister/v1/link-code" ‖ identity signing key ‖ identity DH key).
   */
  async linkCode(): Promise<string> {
    const u = this.#ctx.ready();
    const digest = await linkDigest(
      this.#ctx,
      u.self.identity.signingKeyPair.publicKey,
      u.self.identity.dhKeyPair.publicKey,
    );
    return `${u.self.deviceId}-${toBase64Url(digest)}`;
  }

  /**
   * Links the device whose link code is `code`: finds it among the devices the server lists for
   * this user, checks that its identity matches the code, signs the next list with it added and
   * publishes it. `ValidationError` for a malformed code; `InvalidKeyError` when no listed device
   * matches it (a code typed wrongly, or a device that is not the one showing it);
   * `DeviceNotLinkedError` when this device is not on the list itself. Resolves the new status.
   */
  async link(code: string): Promise<LinkStatus> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const m = typeof code === 'string' ? LINK_CODE.exec(code.trim()) : null;
    const expected = m === null ? undefined : fromBase64Url(m[2]);
    if (m === null || expected === undefined || Number(m[1]) > 0xffff_ffff) {
      throw new ValidationError('code', 'a link code such as 2-Ab3…');
    }
    const target = toDeviceId(Number(m[1]));
    const pin = await this.#directory.refreshLists(u.self.userId);
    if (pin === undefined || !isOn(pin, u.self.deviceId)) throw new DeviceNotLinkedError();
    if (isOn(pin, target)) return statusOf(pin, u.self.deviceId);
    if (pin.list.devices.length >= MAX_LISTED_DEVICES) {
      throw new ValidationError('code', `a user with fewer than ${MAX_LISTED_DEVICES} devices`);
    }
    const res = expectOk(
      await u.transport.request('GET', `/v1/users/${encodeURIComponent(u.self.userId)}/devices`),
    ).json as { devices: { deviceId: number; bundle: string }[] };
    const listed = res.devices.find((d) => d.deviceId === target);
    if (listed === undefined)
      throw new InvalidKeyError('code', 'no enrolled device of this user matches the code');
    const identity = decodePreKeyBundle(requireBase64Url(listed.bundle)).identity;
    await verifyPublicIdentity(u.self.provider, identity);
    const digest = await linkDigest(ctx, identity.signingKey, identity.dhKey);
    if (!equalBytes(digest, expected)) {
      throw new InvalidKeyError('code', 'no enrolled device of this user matches the code');
    }
    const devices = [...pin.list.devices, { deviceId: target, identity, addedAtMs: ctx.now() }].sort(
      (a, b) => a.deviceId - b.deviceId,
    );
    const body = await this.#nextBody(pin, devices);
    return this.#publishNext(body);
  }

  /**
   * Removes `device` (a lost or replaced device of this user) from the user's signed list: signs
   * the next list without it. Peers and the user's other devices stop encrypting to it once they
   * fetch the list (`device-removed`). `UsageError` for this device itself (another device removes
   * it) or a device that is not on the list; `DeviceNotLinkedError` when this device is not on it.
   */
  async unlink(device: number): Promise<LinkStatus> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const target = toDeviceId(device);
    if (target === u.self.deviceId)
      throw new UsageError('a device cannot remove itself: remove it from another device');
    const pin = await this.#directory.refreshLists(u.self.userId);
    if (pin === undefined || !isOn(pin, u.self.deviceId)) throw new DeviceNotLinkedError();
    if (!isOn(pin, target)) throw new UsageError('the device is not on the list');
    const body = await this.#nextBody(
      pin,
      pin.list.devices.filter((d) => d.deviceId !== target),
    );
    return this.#publishNext(body);
  }

  /** The list after the pinned one, with `devices`, signed by this device. */
  async #nextBody(pin: DeviceListPin, devices: DeviceListBody['devices']): Promise<DeviceListBody> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const previous = await deviceListHash(u.self.provider, pin.list.bytes);
    return {
      tenant: tenantId(u.self.tenant),
      user: u.self.userId,
      epoch: pin.list.epoch + 1,
      issuedAtMs: ctx.now(),
      previous,
      root: pin.list.epoch === 1 ? previous : pin.list.root,
      signer: { kind: 'device', deviceId: u.self.deviceId },
      devices,
    };
  }

  async #publishNext(body: DeviceListBody): Promise<LinkStatus> {
    const u = this.#ctx.ready();
    const bytes = await signDeviceList(u.self.provider, body, u.self.identity.signingKeyPair.privateKey);
    expectOk(await u.transport.request('PUT', '/v1/device-list', { json: { list: toBase64Url(bytes) } }));
    const after = await this.#pinPublished(bytes);
    this.#directory.forget(u.self.userId);
    return statusOf(after, u.self.deviceId);
  }

  async #publishFirst(): Promise<DeviceListPin | undefined> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const now = ctx.now();
    const body: DeviceListBody = {
      tenant: tenantId(u.self.tenant),
      user: u.self.userId,
      epoch: 1,
      issuedAtMs: now,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: u.self.deviceId },
      devices: [{ deviceId: u.self.deviceId, identity: toPublicIdentity(u.self.identity), addedAtMs: now }],
    };
    const bytes = await signDeviceList(u.self.provider, body, u.self.identity.signingKeyPair.privateKey);
    try {
      expectOk(await u.transport.request('PUT', '/v1/device-list', { json: { list: toBase64Url(bytes) } }));
    } catch (e) {
      // Another device of the user published first: this one waits to be linked.
      if (e instanceof ServerError && e.status === 409) return this.#directory.refreshLists(u.self.userId);
      throw e;
    }
    return this.#pinPublished(bytes);
  }

  async #pinPublished(bytes: Uint8Array): Promise<DeviceListPin | undefined> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const accepted = await u.stores.transaction((t) => acceptDeviceLists(u.self, t, u.self.userId, [bytes]));
    for (const e of accepted.events) ctx.emit(e);
    return accepted.pin;
  }
}

function isOn(pin: DeviceListPin | undefined, device: number): boolean {
  return pin?.list.devices.some((d) => d.deviceId === device) === true;
}

function statusOf(pin: DeviceListPin | undefined, self: DeviceId): LinkStatus {
  return {
    linked: isOn(pin, self),
    epoch: pin?.list.epoch ?? 0,
    devices: pin?.list.devices.map((d) => d.deviceId) ?? [],
  };
}

async function linkDigest(
  ctx: ClientContext,
  signingKey: Uint8Array,
  dhKey: Uint8Array,
): Promise<Uint8Array> {
  const h = await ctx.ready().self.provider.sha256(concatBytes(utf8(LINK_CODE_LABEL), signingKey, dhKey));
  return h.slice(0, 16);
}
