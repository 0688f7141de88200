/**
 * What the client fetches from the server to reach other devices: the device directory of a user
 * with the user's signed device lists (kept a minute; what they mean is the core's,
 * `core/directory.ts` and `core/device-lists.ts`), a device's full bundle to start a session, and
 * this device's sender certificate (kept until a minute before it expires). Fetching a user's
 * lists also releases what was quarantined from that user, in the same transaction.
 *
 * @module
 */
import {
  DeviceNotLinkedError,
  decodeSenderCertificate,
  equalBytes,
  IdentityChangedError,
  LimitError,
  type PreKeyBundle,
  type SenderCertificate,
} from '@cloister/crypto';
import { decodePreKeyBundle, deviceListHash, type UserId } from '@cloister/protocol';
import { requireBase64Url, toBase64Url } from './_base64.js';
import type { ClientContext } from './context.js';
import {
  acceptDeviceLists,
  acceptDirectory,
  type ClientEvent,
  type DeviceListPin,
  type DirectoryDevice,
  type ListedDevice,
  loadPin,
  PROCESSED_TTL_MS,
  releaseQuarantine,
  rememberPeerPools,
  sameDevice,
} from './core/index.js';
import { UnknownRecipientError } from './errors.js';
import { expectOk, type TransportResponse } from './transport/common.js';
import { NetworkError, ServerError } from './transport/errors.js';

const DIRECTORY_TTL_MS = 60_000;

/** Most pools a directory answer may state for one user (more is not an answer to use). */
const MAX_STATED_POOLS = 1_000;

/** The `pools` of a directory answer when it is a list of pool ids, else undefined. */
function poolsOf(value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_STATED_POOLS) return undefined;
  if (!value.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= 128)) return undefined;
  return value as string[];
}
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

  /**
   * Forgets the cached sender certificate, so the next send fetches one that lists this user's
   * pools as they are now (after a refusal that says pools, blocks or pool rules changed).
   */
  forgetCertificate(): void {
    this.#certificate = undefined;
  }

  /**
   * The devices of `user` (other than this one) that the user's pinned signed list admits, from
   * the cache or the server. `IdentityChangedError` when the user was verified and their identity
   * changed: sending stops until the app accepts the change.
   */
  async devicesOf(user: UserId, refresh = false): Promise<DirectoryDevice[]> {
    const ctx = this.#ctx;
    const cached = this.#devices.get(user);
    if (!refresh && cached !== undefined && ctx.now() - cached.at < DIRECTORY_TTL_MS) return cached.devices;
    const { devices, pin } = await this.#fetch(user, true);
    if (pin?.held !== undefined) throw new IdentityChangedError(user);
    const u = ctx.ready();
    // A device that is not on its own user's list sends nothing: its messages would be refused.
    if (user === u.self.userId && !pin?.list.devices.some((d) => d.deviceId === u.self.deviceId)) {
      throw new DeviceNotLinkedError();
    }
    this.#devices.set(user, { at: ctx.now(), devices });
    return devices;
  }

  /**
   * Rejects with {@link UnknownRecipientError} when the server's directory does not know one of
   * `users`, looking each up as sending would (the answers fill the cache the outbox then uses).
   * Only while the server is thought reachable: offline (the socket found it so) nothing is asked,
   * and a network failure ends the check; any other failure (a held identity, a refusal) is left to
   * the outbox, which meets it again.
   */
  async checkKnown(users: readonly UserId[]): Promise<void> {
    if (this.#ctx.online === false) return;
    for (const user of users) {
      try {
        await this.devicesOf(user);
      } catch (e) {
        if (e instanceof UnknownRecipientError) throw e;
        if (e instanceof NetworkError) return;
      }
    }
  }

  /**
   * Fetches `user`'s signed device lists, pins what follows the pinned list, releases what the pin
   * now admits from quarantine and emits the events after the commit; resolves the pin.
   */
  async refreshLists(user: UserId): Promise<DeviceListPin | undefined> {
    return (await this.#fetch(user, false)).pin;
  }

  /**
   * As {@link Directory.refreshLists}, with the directory listing too (so that a device of this
   * user that nobody linked is reported, and each device's suite list is pinned); never throws for
   * a held identity. It leaves the cache empty, so the next {@link Directory.devicesOf} applies
   * its checks (held identity, this device not linked) to a fresh answer.
   */
  async refresh(user: UserId): Promise<DeviceListPin | undefined> {
    const { pin } = await this.#fetch(user, true);
    this.#devices.delete(user);
    return pin;
  }

  /** The lists (and, with `withDevices`, the directory listing) of `user`, accepted in one transaction. */
  async #fetch(
    user: UserId,
    withDevices: boolean,
  ): Promise<{ devices: DirectoryDevice[]; pin: DeviceListPin | undefined }> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const pinned = await u.stores.transaction((t) => loadPin(t.tx, user));
    const query =
      pinned === undefined
        ? undefined
        : { after: toBase64Url(await deviceListHash(u.self.provider, pinned.list.bytes)) };
    const path = `/v1/users/${encodeURIComponent(user)}`;
    const [listing, answer] = await Promise.all([
      withDevices ? u.transport.request('GET', `${path}/devices`) : Promise.resolve(undefined),
      u.transport.request('GET', `${path}/device-lists`, query === undefined ? {} : { query }),
    ]);
    const listingJson =
      listing === undefined
        ? undefined
        : (expectKnown(listing, user).json as { devices: ListedDevice[]; pools?: unknown });
    const listed = listingJson?.devices ?? [];
    // The recipient's pools as the server states them, kept only while the archive scope names
    // pools (the archive decision for a first message needs them; spec/organisation-client.md §5).
    const statedPools = poolsOf(listingJson?.pools);
    const keepPools =
      statedPools !== undefined &&
      user !== u.self.userId &&
      (ctx.policy?.archiveScope?.pools?.length ?? 0) > 0;
    const lists = ((expectKnown(answer, user).json as { lists?: unknown }).lists ?? []) as unknown[];
    const bytes = lists.map((l) => requireBase64Url(typeof l === 'string' ? l : ''));
    const events: ClientEvent[] = [];
    const result = await u.stores.transaction(async (t) => {
      const accepted = await acceptDeviceLists(u.self, t, user, bytes);
      events.push(...accepted.events);
      if (keepPools) await rememberPeerPools(t.tx, user, statedPools, ctx.now());
      // The directory first (it remembers each device's newest suite list), then what waited.
      const directory = await acceptDirectory(u.self, t, user, listed, accepted.pin);
      events.push(...directory.events);
      events.push(
        ...(await releaseQuarantine(u.self, t, user, {
          lifetimeMs: ctx.policy?.messageLifetimeMs ?? null,
          processedTtlMs: PROCESSED_TTL_MS,
          // The archive checks (a peer's pools, gaps) with this user's pools as last certified.
          archive: {
            policy: ctx.policy,
            ...(this.#certificate === undefined ? {} : { selfPools: this.#certificate.cert.pools }),
          },
        })),
      );
      return { devices: directory.devices, pin: accepted.pin };
    });
    // A list that changed, or a changed identity now held, makes the cached devices stale.
    const stale = !sameBytes(pinned?.list.bytes, result.pin?.list.bytes) || result.pin?.held !== undefined;
    if (!withDevices && stale) this.#devices.delete(user);
    for (const e of events) ctx.emit(e);
    return result;
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

/**
 * `expectOk` for an answer about `user`: the server's answer for a user its directory does not know
 * (404, code `ERR_NOT_FOUND`, message `user not found`; the same for a user of another tenant) is
 * {@link UnknownRecipientError}.
 */
function expectKnown(response: TransportResponse, user: UserId): TransportResponse {
  try {
    return expectOk(response);
  } catch (e) {
    if (
      e instanceof ServerError &&
      e.status === 404 &&
      e.serverCode === 'ERR_NOT_FOUND' &&
      e.message === 'user not found'
    ) {
      throw new UnknownRecipientError(user);
    }
    throw e;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : equalBytes(a, b);
}
