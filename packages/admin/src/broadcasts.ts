/**
 * `admin.broadcasts`: a broadcast sent end to end (spec/broadcast.md). On the administrator's
 * machine: the broadcast object is signed with the administrator's certified key, the audience's
 * devices are fetched with their keys and their users' signed device lists, every device is
 * checked against its user's list (a device the list does not name with the same keys is refused,
 * never sealed to), the object is sealed to the checked devices (organisation envelopes: content
 * encrypted once per batch, its key wrapped per device with HPKE) and submitted in batches. The
 * server only queues the envelopes and counts receipts.
 *
 * @module
 */
import { sealOrganisationEnvelopes, deviceId as toDeviceId, ValidationError } from '@cloister/crypto';
import {
  decodeDeviceList,
  type SignedDeviceList,
  tenantId,
  userId,
  verifyDeviceList,
} from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import { type AdminCaller, pathSegment } from './caller.js';
import { ConflictError } from './errors.js';
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
 * device with these keys: a device the operator added), or the server's refusal of the envelope
 * (`device`, `audience`, `envelope`).
 *
 * @example
 * ```ts
 * const reason: BroadcastRefusal = 'not-listed';
 * ```
 */
export type BroadcastRefusal = 'no-list' | 'list' | 'not-listed' | 'device' | 'audience' | 'envelope';

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
   * sealed to). The first batch publishes the broadcast: on a sequence conflict (another
   * administrator signed one meanwhile) it is signed again once.
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
            await verifyDeviceList(provider, list, { tenant, user: userId(u.user) });
          } catch {
            problem = 'list';
          }
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
