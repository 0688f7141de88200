/**
 * What the client fetches from the server to reach other devices: the device directory of a user
 * (kept a minute; what a listing means is the core's, `core/directory.ts`), a device's full bundle
 * to start a session, and this device's sender certificate (kept until a minute before it
 * expires).
 *
 * @module
 */
import {
  decodeSenderCertificate,
  LimitError,
  type PreKeyBundle,
  type SenderCertificate,
} from '@cloister/crypto';
import { decodePreKeyBundle, type UserId } from '@cloister/protocol';
import { requireBase64Url } from './_base64.js';
import type { ClientContext } from './context.js';
import { acceptDirectory, type DirectoryDevice, type ListedDevice, sameDevice } from './core/index.js';
import { expectOk } from './transport/common.js';

const DIRECTORY_TTL_MS = 60_000;
const CERT_MARGIN_MS = 60_000;

/** The directory and certificate caches of one client. */
export class Directory {
  readonly #ctx: ClientContext;
  #devices = new Map<string, { at: number; devices: DirectoryDevice[] }>();
  #certificate: { cert: SenderCertificate; expiresAt: number } | undefined;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  /** Forgets what is cached of `user`'s devices, so the next look-up asks the server. */
  forget(user: string): void {
    this.#devices.delete(user);
  }

  /** The devices of `user` (other than this one), from the cache or the server's directory. */
  async devicesOf(user: UserId, refresh = false): Promise<DirectoryDevice[]> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const cached = this.#devices.get(user);
    if (!refresh && cached !== undefined && ctx.now() - cached.at < DIRECTORY_TTL_MS) return cached.devices;
    const res = expectOk(await u.transport.request('GET', `/v1/users/${encodeURIComponent(user)}/devices`))
      .json as { devices: ListedDevice[] };
    const { devices, events } = await u.stores.transaction((t) =>
      acceptDirectory(u.self, t, user, res.devices),
    );
    for (const e of events) ctx.emit(e);
    this.#devices.set(user, { at: ctx.now(), devices });
    return devices;
  }

  /**
   * The full bundle of `device` (with a one-time prekey, taken by the server); `LimitError` when
   * its identity is no longer the one the directory listed (the send is retried).
   */
  async fullBundle(device: DirectoryDevice): Promise<PreKeyBundle> {
    const u = this.#ctx.ready();
    const res = expectOk(
      await u.transport.request(
        'GET',
        `/v1/users/${encodeURIComponent(device.userId)}/devices/${device.deviceId}/bundle`,
      ),
    ).json as { bundle: string };
    const bundle = decodePreKeyBundle(requireBase64Url(res.bundle));
    if (!sameDevice(device, bundle))
      throw new LimitError('the device changed its identity while sending; retrying');
    return bundle;
  }

  /** This device's sender certificate, fetched again a minute before it expires. */
  async senderCertificate(): Promise<SenderCertificate> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const now = ctx.now();
    if (this.#certificate !== undefined && this.#certificate.expiresAt - CERT_MARGIN_MS > now) {
      return this.#certificate.cert;
    }
    const res = expectOk(await u.transport.request('POST', '/v1/certificate')).json as {
      certificate: string;
    };
    const cert = decodeSenderCertificate(requireBase64Url(res.certificate));
    this.#certificate = { cert, expiresAt: cert.expiresAt };
    return cert;
  }
}
