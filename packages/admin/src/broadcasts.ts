/**
 * `admin.broadcasts`: a broadcast sent end to end (spec/broadcast.md). On the administrator's
 * machine: the broadcast object is signed with the administrator's certified key, the audience's
 * devices are fetched with their keys and their users' signed device lists, every device is
 * checked against its user's list (a device the list does not name with the same keys is refused,
 * never sealed to), the object is sealed to the checked devices (organisation envelopes: content
 * encrypted once per batch, its key wrapped per device with HPKE) and submitted in batches. The
 * server only queues the envelopes and counts receipts.
 *
 * Each user's list is also held against the one this SDK pinned for the user at an earlier
 * broadcast (`protocol`'s `followDeviceLists`, the rule the client SDK pins peers' lists by): the
 * first list is trusted on first use, a signed successor moves the pin forward, and a list that
 * does not follow the pin (a new chain, an older list, a list not linked to the pin) gets its
 * user's devices nothing until the administrator accepts it (`acceptDeviceListReset`).
 *
 * @module
 */
import {
  type CryptoProvider,
  equalBytes,
  InvalidKeyError,
  sealOrganisationEnvelopes,
  deviceId as toDeviceId,
  UnsupportedError,
  ValidationError,
} from '@cloister/crypto';
import {
  decodeDeviceList,
  deviceListHash,
  followDeviceLists,
  type OrganisationListVerifier,
  organisationListVerifier,
  type SignedDeviceList,
  type TenantId,
  tenantId,
  userId,
  verifyDeviceList,
} from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import { type AdminCaller, pathSegment } from './caller.js';
import { ConflictError } from './errors.js';
import {
  type DeviceListPin,
  type DeviceListPinStore,
  deviceListPin,
  type MemoryDeviceListPinStore,
  memoryDeviceListPins,
} from './key-store.js';
import { type BroadcastTarget, type OrganisationSigner, signBroadcast } from './signer.js';

/**
 * Envelopes per `POST /admin/v1/broadcasts` call (the server's limit, `MAX_BROADCAST_BATCH`).
 *
 * @example
 * ```ts
 * console.log(BROADCAST_BATCH); // 100
 * ```
 */
export const BROADCAST_BATCH = 100;

/**
 * Why a device of the audience got no envelope: `no-list` (its user has no signed device list),
 * `list` (the list does not verify for that user), `not-listed` (the list does not name this
 * device with these keys: a device the operator added), the list does not follow the one pinned
 * for the user (`device-list-reset`: another chain; `device-list-rollback`: an older list of the
 * pinned chain; `device-list-unlinked`: a newer list of the pinned chain that the list served
 * does not link to the pin, or another list at the pinned epoch), or the server's refusal of the
 * envelope (`device`, `audience`, `envelope`).
 *
 * @example
 * ```ts
 * const reason: BroadcastRefusal = 'device-list-reset';
 * ```
 */
export type BroadcastRefusal =
  | 'no-list'
  | 'list'
  | 'not-listed'
  | 'device-list-reset'
  | 'device-list-rollback'
  | 'device-list-unlinked'
  | 'device'
  | 'audience'
  | 'envelope';

/**
 * Where a broadcast being sent stands (the progress callback's argument).
 *
 * @example
 * ```ts
 * const onProgress = (p: BroadcastProgress) => console.log(`${p.phase}: ${p.done}/${p.total}`);
 * ```
 */
export interface BroadcastProgress {
  /** `audience` while devices are fetched and checked, `send` while batches are submitted. */
  readonly phase: 'audience' | 'send';
  /** Devices checked (audience) or submitted (send) so far. */
  readonly done: number;
  /** Devices found so far (audience) or to submit (send). */
  readonly total: number;
}

/**
 * What {@link BroadcastsApi.send} did.
 *
 * @example
 * ```ts
 * const sent: BroadcastSent = await admin.broadcasts.send({ text: 'Fire drill at 10:00', audience: { kind: 'tenant' } }, signer);
 * console.log(`${sent.queued} devices, ${sent.refused.length} refused`);
 * ```
 */
export interface BroadcastSent {
  /** base64url of the 16-byte broadcast id (for {@link BroadcastsApi.counts}). */
  readonly broadcastId: string;
  /** The signed object's sequence. */
  readonly sequence: number;
  /** Devices the server queued it for. */
  readonly queued: number;
  /** Devices it had been queued for already (a batch sent again). */
  readonly duplicates: number;
  /** Devices that got nothing, and why. */
  readonly refused: readonly {
    readonly user: string;
    readonly device: number;
    readonly reason: BroadcastRefusal;
  }[];
}

/**
 * A broadcast's counts (devices only, never which).
 *
 * @example
 * ```ts
 * const { devices, delivered, read }: BroadcastCounts = await admin.broadcasts.counts('IiIiIiIiIiIiIiIiIiIiIg');
 * ```
 */
export interface BroadcastCounts {
  /** base64url of the broadcast id. */
  readonly broadcastId: string;
  /** The signed object's sequence. */
  readonly sequence: number;
  /** The administrator who signed it. */
  readonly admin: string;
  /** The signer's `issuedAtMs`. */
  readonly issuedAt: number;
  /** Devices it was queued for. */
  readonly devices: number;
  /** Devices that reported it delivered. */
  readonly delivered: number;
  /** Devices that reported it read. */
  readonly read: number;
}

/**
 * Options of {@link BroadcastsApi.send}.
 *
 * @example
 * ```ts
 * const options: SendBroadcastOptions = { onProgress: (p) => console.log(p.phase, p.done, p.total) };
 * ```
 */
export interface SendBroadcastOptions {
  /** Called after every audience page and every batch. */
  readonly onProgress?: (progress: BroadcastProgress) => void;
  /**
   * Where the users' device lists are pinned between broadcasts (default: in memory, one store
   * per `AdminClient`). The pins that move are stored once every audience page was checked,
   * before anything is signed or sent.
   */
  readonly pins?: DeviceListPinStore;
}

/**
 * Options of {@link BroadcastsApi.acceptDeviceListReset}.
 *
 * @example
 * ```ts
 * const options: AcceptDeviceListResetOptions = { pins: memoryDeviceListPins() };
 * ```
 */
export interface AcceptDeviceListResetOptions {
  /** The store the broadcasts use (default: the `AdminClient`'s store in memory). */
  readonly pins?: DeviceListPinStore;
}

interface AudiencePage {
  readonly users: readonly {
    readonly user: string;
    readonly deviceList: string | null;
    readonly devices: readonly { device: number; mailbox: string; signingKey: string; dhKey: string }[];
  }[];
  readonly next?: string;
}

interface BatchAnswer {
  readonly broadcastId: string;
  readonly sequence: number;
  readonly results: readonly { user: string; device: number; status: string; reason?: BroadcastRefusal }[];
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The in-memory pin store of each client (its caller is made once per `AdminClient`). */
const defaultPins = new WeakMap<AdminCaller, MemoryDeviceListPinStore>();

function pinsOf(caller: AdminCaller, given: DeviceListPinStore | undefined): DeviceListPinStore {
  if (given !== undefined) return given;
  let pins = defaultPins.get(caller);
  if (pins === undefined) {
    pins = memoryDeviceListPins();
    defaultPins.set(caller, pins);
  }
  return pins;
}

/** SHA-256 of a chain's epoch-1 list: the list's `root`, or its own hash when it is that list. */
async function chainRoot(provider: CryptoProvider, list: SignedDeviceList): Promise<Uint8Array> {
  return list.epoch === 1 ? deviceListHash(provider, list.bytes) : list.root;
}

/**
 * Holds `list` (verified on its own) against the user's pin: the pin to store (first contact, a
 * successor, or the refused list held), and the refusal when the list does not follow the pin.
 */
async function checkPin(
  provider: CryptoProvider,
  tenant: TenantId,
  user: string,
  list: SignedDeviceList,
  pin: DeviceListPin | undefined,
  organisation: OrganisationListVerifier,
): Promise<{ readonly refusal?: BroadcastRefusal; readonly pin?: DeviceListPin }> {
  if (pin !== undefined && equalBytes(pin.list, list.bytes)) {
    // The pinned list again: a list held earlier is no longer what the server serves.
    if (pin.held === undefined) return {};
    const { held: _held, ...kept } = pin;
    return { pin: kept };
  }
  const pinned = pin === undefined ? undefined : decodeDeviceList(pin.list);
  let trust: 'chained' | 'first' | 'reset' | undefined;
  try {
    ({ trust } = await followDeviceLists(provider, pinned, [list.bytes], {
      tenant,
      user: userId(user),
      organisation,
    }));
  } catch (error) {
    if (!(error instanceof InvalidKeyError || error instanceof UnsupportedError)) throw error;
  }
  // A first contact or a signed successor: pinned (and nothing held any more).
  if (trust === 'first' || trust === 'chained')
    return { pin: await deviceListPin(provider, user, list.bytes) };
  if (pin === undefined || pinned === undefined) return { refusal: 'list' };
  let refusal: BroadcastRefusal;
  if (trust === 'reset' || !equalBytes(await chainRoot(provider, pinned), await chainRoot(provider, list))) {
    refusal = 'device-list-reset';
  } else if (list.epoch < pinned.epoch) refusal = 'device-list-rollback';
  else refusal = 'device-list-unlinked';
  const held = pin.held !== undefined && equalBytes(pin.held, list.bytes);
  return held ? { refusal } : { refusal, pin: { ...pin, held: list.bytes } };
}

/**
 * The broadcast area of {@link AdminClient} (`admin.broadcasts`).
 *
 * @example
 * ```ts
 * const { broadcastId } = await admin.broadcasts.send({ text: 'Office closed on Friday', audience: { kind: 'tenant' } }, signer);
 * const counts = await admin.broadcasts.counts(broadcastId);
 * ```
 */
export class BroadcastsApi {
  readonly #caller: AdminCaller;

  /**
   * Builds the area on a caller (what `admin.broadcasts` does).
   *
   * @example
   * ```ts
   * const broadcasts = new BroadcastsApi(caller);
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Signs the broadcast, fetches and checks its audience's devices, seals the signed object to
   * every checked device and submits the envelopes in batches of {@link BROADCAST_BATCH}. A
   * device whose user's signed device list does not name it with the same keys is refused (never
   * sealed to), and so is every device of a user whose list does not follow the list pinned for
   * the user (`options.pins`; the first list seen is pinned, a signed successor moves the pin).
   * The first batch publishes the broadcast: on a sequence conflict (another administrator signed
   * one meanwhile) it is signed again once.
   *
   * @example
   * ```ts
   * const sent = await admin.broadcasts.send(
   *   { text: 'Ward 3 meeting at 14:00', audience: { kind: 'pools', pools: ['ward-3'] } },
   *   signer,
   *   { onProgress: (p) => console.log(p.phase, p.done, p.total) },
   * );
   * ```
   */
  async send(
    input: { readonly text: string; readonly audience: BroadcastTarget },
    signer: OrganisationSigner,
    options: SendBroadcastOptions = {},
  ): Promise<BroadcastSent> {
    if (typeof input !== 'object' || input === null || typeof input.text !== 'string') {
      throw new ValidationError('text', 'a string');
    }
    const provider = signer.provider;
    const tenant = tenantId(signer.key.tenant);
    const progress = options.onProgress ?? (() => undefined);
    const pins = pinsOf(this.#caller, options.pins);
    const pinUpdates = new Map<string, DeviceListPin>();
    // A list an administrator signed (zero-touch admission) is checked against the root this
    // administrator was certified under, as the user's devices check it.
    const organisation = organisationListVerifier(provider, {
      rootPublicKey: signer.key.rootPublicKey,
      tenant,
      now: signer.now ?? Date.now,
    });
    // 1. The audience, each device checked against its user's signed device list.
    const refused: { user: string; device: number; reason: BroadcastRefusal }[] = [];
    const targets: { user: string; device: number; publicKey: Uint8Array; mailbox: Uint8Array }[] = [];
    const query: Record<string, string> = { limit: '100' };
    if (input.audience.kind === 'pools') query.pools = [...new Set(input.audience.pools)].sort().join(',');
    if (input.audience.kind === 'users') query.users = [...new Set(input.audience.users)].sort().join(',');
    let after: string | undefined;
    let seen = 0;
    do {
      const page: AudiencePage = await this.#caller.call('GET', '/admin/v1/broadcasts/audience', {
        query: after === undefined ? query : { ...query, after },
      });
      for (const u of page.users) {
        let list: SignedDeviceList | undefined;
        let problem: BroadcastRefusal | undefined = u.deviceList === null ? 'no-list' : undefined;
        if (u.deviceList !== null) {
          try {
            list = decodeDeviceList(fromBase64Url(u.deviceList, 'deviceList'));
            await verifyDeviceList(provider, list, { tenant, user: userId(u.user), organisation });
          } catch {
            problem = 'list';
          }
        }
        if (problem === undefined && list !== undefined) {
          const checked = await checkPin(
            provider,
            tenant,
            u.user,
            list,
            await pins.get(u.user),
            organisation,
          );
          if (checked.pin !== undefined) pinUpdates.set(u.user, checked.pin);
          problem = checked.refusal;
        }
        for (const d of u.devices) {
          seen += 1;
          if (problem !== undefined || list === undefined) {
            refused.push({ user: u.user, device: d.device, reason: problem ?? 'list' });
            continue;
          }
          const signingKey = fromBase64Url(d.signingKey, 'signingKey');
          const dhKey = fromBase64Url(d.dhKey, 'dhKey');
          const entry = list.devices.find((e) => e.deviceId === toDeviceId(d.device));
          if (
            entry === undefined ||
            !sameBytes(entry.identity.signingKey, signingKey) ||
            !sameBytes(entry.identity.dhKey, dhKey)
          ) {
            refused.push({ user: u.user, device: d.device, reason: 'not-listed' });
            continue;
          }
          targets.push({
            user: u.user,
            device: d.device,
            publicKey: dhKey,
            mailbox: new TextEncoder().encode(d.mailbox),
          });
        }
      }
      progress({ phase: 'audience', done: seen, total: seen });
      after = page.next;
    } while (after !== undefined);
    if (pinUpdates.size > 0) await pins.put([...pinUpdates.values()]);

    // 2. Sign, seal, submit in batches; the first batch publishes (sequence rules).
    let signed = await signBroadcast(signer, { audience: input.audience, text: input.text });
    let queued = 0;
    let duplicates = 0;
    const batches = Math.max(1, Math.ceil(targets.length / BROADCAST_BATCH));
    let sequence = signed.sequence;
    for (let b = 0; b < batches; b++) {
      const batch = targets.slice(b * BROADCAST_BATCH, (b + 1) * BROADCAST_BATCH);
      const submit = async (): Promise<BatchAnswer> => {
        const envelopes =
          batch.length === 0
            ? []
            : await sealOrganisationEnvelopes(provider, {
                recipients: batch.map((t) => ({
                  publicKey: t.publicKey,
                  mailbox: t.mailbox,
                  deliveryToken: new Uint8Array(0),
                })),
                object: signed.object,
              });
        return this.#caller.call('POST', '/admin/v1/broadcasts', {
          json: {
            object: toBase64Url(signed.object),
            envelopes: batch.map((t, i) => ({
              user: t.user,
              device: t.device,
              envelope: toBase64Url(envelopes[i] as Uint8Array),
            })),
          },
        });
      };
      let answer: BatchAnswer;
      try {
        answer = await submit();
      } catch (error) {
        if (!(b === 0 && error instanceof ConflictError && error.constraint === 'organisation-sequence'))
          throw error;
        signed = await signBroadcast(signer, { audience: input.audience, text: input.text });
        answer = await submit();
      }
      sequence = answer.sequence;
      for (const r of answer.results) {
        if (r.status === 'queued') queued += 1;
        else if (r.status === 'duplicate') duplicates += 1;
        else refused.push({ user: r.user, device: r.device, reason: r.reason ?? 'envelope' });
      }
      progress({
        phase: 'send',
        done: Math.min(targets.length, (b + 1) * BROADCAST_BATCH),
        total: targets.length,
      });
    }
    return { broadcastId: signed.broadcastId, sequence, queued, duplicates, refused };
  }

  /**
   * Accepts the list of `user` that the last broadcasts refused for not following the pin
   * (`device-list-reset`, `-rollback`, `-unlinked`): it becomes the user's pin, as on a first
   * contact, and the next broadcast seals to the devices it names. Accept only a change the user
   * confirms (a new phone after every old device was lost, a re-installation): otherwise it is the
   * operator's list. Resolves false when nothing is held for the user; `ValidationError` for a
   * malformed user id.
   *
   * @example
   * ```ts
   * const sent = await admin.broadcasts.send({ text: 'Lift out of order', audience: { kind: 'tenant' } }, signer);
   * if (sent.refused.some((r) => r.user === 'alice' && r.reason === 'device-list-reset')) {
   *   // … after Alice confirmed she set up her devices anew:
   *   await admin.broadcasts.acceptDeviceListReset('alice');
   * }
   * ```
   */
  async acceptDeviceListReset(user: string, options: AcceptDeviceListResetOptions = {}): Promise<boolean> {
    if (typeof user !== 'string') throw new ValidationError('user', 'a user id');
    const id = userId(user);
    const pins = pinsOf(this.#caller, options.pins);
    const pin = await pins.get(id);
    if (pin?.held === undefined) return false;
    await pins.put([await deviceListPin(await this.#caller.provider(), id, pin.held)]);
    return true;
  }

  /**
   * The counts of a broadcast: devices it was queued for, reported delivered, reported read.
   *
   * @example
   * ```ts
   * const { devices, delivered, read } = await admin.broadcasts.counts('IiIiIiIiIiIiIiIiIiIiIg');
   * ```
   */
  counts(broadcastId: string): Promise<BroadcastCounts> {
    if (typeof broadcastId !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(broadcastId)) {
      return Promise.reject(new ValidationError('broadcastId', 'base64url of 16 bytes'));
    }
    return this.#caller.call('GET', `/admin/v1/broadcasts/${pathSegment(broadcastId)}`);
  }
}
