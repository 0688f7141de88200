/**
 * `admin.devices`: zero-touch admission (`spec/device-lists.md` §5). An administrator or an
 * integration whose key the organisation root certified signs, on this machine, the next device
 * list of a user that adds one enrolled device (signer kind 2), and the server appends it to the
 * user's chain. Peers and the user's other devices accept the addition only because the
 * certificate chains to the root they pinned; the server cannot make such a list.
 *
 * What the server cannot be kept from: naming, as a candidate, a device it enrolled itself. The
 * signer therefore admits only what `accept` allows (default: devices enrolled through a managed
 * token, `enrolledVia: 'managed'`); an integration should compare the candidate's signing key with
 * what its device management reports for the device.
 *
 * @module
 */
import { type DeviceId, deviceId as toDeviceId, ValidationError } from '@cloister/crypto';
import {
  type DeviceListBody,
  decodeDeviceList,
  deviceListHash,
  MAX_LISTED_DEVICES,
  signDeviceList,
  userId,
} from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import { type AdminCaller, pathSegment } from './caller.js';
import type { Page, UserView } from './client.js';
import { ConflictError } from './errors.js';
import type { OrganisationSigner } from './signer.js';

/**
 * An enrolled, unblocked device that its user's newest list lacks.
 *
 * @example
 * ```ts
 * const { candidates } = await admin.devices.admissionState('alice');
 * const managed: AdmissionCandidate[] = candidates.filter((c) => c.enrolledVia === 'managed');
 * ```
 */
export interface AdmissionCandidate {
  /** The user. */
  readonly user: string;
  /** The device id. */
  readonly device: number;
  /** The device's identity signing key (base64url). */
  readonly signingKey: string;
  /** Its X25519 identity key (base64url). */
  readonly dhKey: string;
  /** Its signature over the DH key (base64url). */
  readonly dhKeySignature: string;
  /** How it enrolled: `managed` for a managed enrolment token (an MDM configuration), else `token`. */
  readonly enrolledVia: 'token' | 'managed';
}

/**
 * A user's newest device list (base64url, or null) and the devices it lacks.
 *
 * @example
 * ```ts
 * const state: AdmissionState = await admin.devices.admissionState('alice');
 * ```
 */
export interface AdmissionState {
  /** The newest list, base64url; null when the user has none yet. */
  readonly list: string | null;
  /** Enrolled, unblocked devices that list lacks. */
  readonly candidates: readonly AdmissionCandidate[];
}

/**
 * One admission: the user, the device and the epoch of the list that admitted it.
 *
 * @example
 * ```ts
 * const admitted: Admitted = await admin.devices.admit(signer, { user: 'alice', device: 2 });
 * ```
 */
export interface Admitted {
  /** The user. */
  readonly user: string;
  /** The admitted device. */
  readonly device: number;
  /** The epoch of the list that admits it. */
  readonly epoch: number;
}

/**
 * Options of {@link DevicesApi.admitManaged}.
 *
 * @example
 * ```ts
 * const options: AdmitManagedOptions = { users: ['alice'], accept: (c) => c.enrolledVia === 'managed' };
 * ```
 */
export interface AdmitManagedOptions {
  /** Only these users (default: every user of the tenant, page by page). */
  readonly users?: readonly string[];
  /**
   * Which candidates to admit (default: `enrolledVia === 'managed'`). An integration should also
   * check the signing key against its device management's inventory.
   */
  readonly accept?: (candidate: AdmissionCandidate) => boolean | Promise<boolean>;
}

/**
 * What {@link DevicesApi.admitManaged} did.
 *
 * @example
 * ```ts
 * const { admitted, skipped }: AdmitManagedReport = await admin.devices.admitManaged(signer);
 * ```
 */
export interface AdmitManagedReport {
  /** The devices admitted. */
  readonly admitted: readonly Admitted[];
  /** Candidates not admitted and why (`no-list`: the user has no device list yet; `error`: refused). */
  readonly skipped: readonly { readonly user: string; readonly device: number; readonly reason: string }[];
}

/**
 * The devices area of `AdminClient` (`admin.devices`).
 *
 * @example
 * ```ts
 * const report = await admin.devices.admitManaged(signer);
 * for (const a of report.admitted) console.log(`${a.user}/${a.device} admitted at epoch ${a.epoch}`);
 * ```
 */
export class DevicesApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.devices`).
   *
   * @example
   * ```ts
   * const devices = admin.devices;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * A user's newest device list and the enrolled devices it lacks (`devices.admit`).
   *
   * @example
   * ```ts
   * const { list, candidates } = await admin.devices.admissionState('alice');
   * ```
   */
  async admissionState(user: string): Promise<AdmissionState> {
    const answer = await this.#caller.call<{
      list: string | null;
      candidates: Omit<AdmissionCandidate, 'user'>[];
    }>('GET', `/admin/v1/users/${pathSegment(user)}/device-admission`);
    return { list: answer.list, candidates: answer.candidates.map((c) => ({ ...c, user })) };
  }

  /**
   * Admits one enrolled device of a user: signs, with `signer.key`, the list that follows the
   * user's newest one and adds exactly that device, and publishes it. Retries once when another
   * list was published in between (409). `ValidationError` when the device is not a candidate or
   * the user has no list yet (its first device starts it).
   *
   * @example
   * ```ts
   * const { epoch } = await admin.devices.admit(signer, { user: 'alice', device: 2 });
   * ```
   */
  async admit(
    signer: OrganisationSigner,
    target: { readonly user: string; readonly device: number },
  ): Promise<Admitted> {
    const user = userId(target.user);
    const device = toDeviceId(target.device, 'device');
    for (let attempt = 0; ; attempt++) {
      const state = await this.admissionState(user);
      const candidate = state.candidates.find((c) => c.device === device);
      if (candidate === undefined)
        throw new ValidationError('device', 'an enrolled device its user’s list lacks');
      try {
        return await this.#admitCandidate(signer, state, candidate);
      } catch (error) {
        if (attempt === 0 && error instanceof ConflictError) continue;
        throw error;
      }
    }
  }

  /**
   * Admits every device enrolled through a managed token (or what `accept` allows) that its
   * user's list lacks, user by user, and reports what it admitted and what it skipped. No user
   * action is needed: the devices adopt the list when they next fetch their user's lists.
   *
   * @example
   * ```ts
   * const { admitted } = await admin.devices.admitManaged(signer);
   * ```
   */
  async admitManaged(
    signer: OrganisationSigner,
    options: AdmitManagedOptions = {},
  ): Promise<AdmitManagedReport> {
    const accept = options.accept ?? ((c: AdmissionCandidate) => c.enrolledVia === 'managed');
    const admitted: Admitted[] = [];
    const skipped: { user: string; device: number; reason: string }[] = [];
    for await (const user of this.#users(options.users)) {
      let state = await this.admissionState(user);
      for (const candidate of state.candidates) {
        if (!(await accept(candidate))) continue;
        if (state.list === null) {
          skipped.push({ user, device: candidate.device, reason: 'no-list' });
          continue;
        }
        try {
          admitted.push(await this.admit(signer, { user, device: candidate.device }));
        } catch (error) {
          skipped.push({ user, device: candidate.device, reason: `error: ${(error as Error).message}` });
        }
        state = await this.admissionState(user);
      }
    }
    return { admitted, skipped };
  }

  async *#users(only: readonly string[] | undefined): AsyncGenerator<string> {
    if (only !== undefined) {
      yield* only;
      return;
    }
    let after: string | undefined;
    do {
      const page = await this.#caller.call<Page<UserView>>('GET', '/admin/v1/users', {
        query: after === undefined ? { limit: '1000' } : { limit: '1000', after },
      });
      for (const u of page.items) yield u.id;
      after = page.next;
    } while (after !== undefined);
  }

  async #admitCandidate(
    signer: OrganisationSigner,
    state: AdmissionState,
    candidate: AdmissionCandidate,
  ): Promise<Admitted> {
    if (state.list === null)
      throw new ValidationError('user', 'a user with a device list (its first device starts it)');
    const head = decodeDeviceList(fromBase64Url(state.list, 'list'));
    if (head.devices.length >= MAX_LISTED_DEVICES) {
      throw new ValidationError('user', `a user with fewer than ${MAX_LISTED_DEVICES} listed devices`);
    }
    const now = (signer.now ?? Date.now)();
    const device: DeviceId = toDeviceId(candidate.device, 'device');
    const hash = await deviceListHash(signer.provider, head.bytes);
    const body: DeviceListBody = {
      tenant: head.tenant,
      user: head.user,
      epoch: head.epoch + 1,
      // Never before the list it follows (readers refuse that), whatever this machine's clock says.
      issuedAtMs: Math.max(now, head.issuedAtMs),
      previous: hash,
      root: head.epoch === 1 ? hash : head.root,
      signer: { kind: 'organisation', deviceId: device, certificate: signer.key.certificate },
      devices: [
        ...head.devices,
        {
          deviceId: device,
          identity: {
            signingKey: fromBase64Url(candidate.signingKey, 'signingKey'),
            dhKey: fromBase64Url(candidate.dhKey, 'dhKey'),
            dhKeySignature: fromBase64Url(candidate.dhKeySignature, 'dhKeySignature'),
          },
          addedAtMs: now,
        },
      ].sort((a, b) => a.deviceId - b.deviceId),
    };
    const bytes = await signDeviceList(signer.provider, body, signer.key.privateKey);
    const answer = await this.#caller.call<{ epoch: number; device: number }>(
      'PUT',
      `/admin/v1/users/${pathSegment(candidate.user)}/device-list`,
      { json: { list: toBase64Url(bytes) } },
    );
    return { user: candidate.user, device: answer.device, epoch: answer.epoch };
  }
}
