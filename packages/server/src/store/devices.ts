/**
 * Devices of users: the public identity, registration id, the opaque mailbox the server routes
 * to, and a hash of the device's credential (never the credential). Mailbox ids and credential
 * hashes are unique across the server: each has an `ifAbsent` index row written in the same
 * transaction as the device.
 *
 * @module
 */
import {
  DecodeError,
  ValidationError,
  type DeviceId,
  equalBytes,
  type PublicIdentity,
  type RegistrationId,
  registrationId,
} from '@cloister/crypto';
import { type MailboxId, mailboxId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, Row, StorageTx } from '@cloister/storage';
import {
  checkBool,
  checkBytesIn,
  checkDeviceId,
  checkId,
  checkInteger,
  checkObject,
  checkText,
  deviceKey,
  getRec,
  key,
  NO_SORT,
  type Rec,
  read,
  T,
  u32,
  write,
} from './_util.js';
import { bumpClassEpoch } from './delivery-epochs.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadUser } from './users.js';

/**
 * Most devices one user may have.
 *
 * @example
 * ```ts
 * console.log(MAX_DEVICES_PER_USER); // 100
 * ```
 */
export const MAX_DEVICES_PER_USER = 100;
/**
 * Shortest and longest accepted credential hash, in bytes.
 *
 * @example
 * ```ts
 * const hash = await credentialHash(ctx, credential); // 32 bytes
 * const accepted = hash.length >= CREDENTIAL_HASH_BYTES.min && hash.length <= CREDENTIAL_HASH_BYTES.max; // → true
 * ```
 */
export const CREDENTIAL_HASH_BYTES = { min: 16, max: 64 } as const;

/**
 * A device as stored.
 *
 * @example
 * ```ts
 * const found: Device | undefined = await stores.devices.byMailbox(mailbox);
 * if (found?.blocked) reply.code(403);
 * ```
 */
export interface Device {
  /** The tenant of the device's user. */
  readonly tenant: TenantId;
  /** The user the device belongs to. */
  readonly user: UserId;
  /** The device's id, unique among the user's devices. */
  readonly id: DeviceId;
  /** The device's public identity (Ed25519 signing key, X25519 identity key and its signature). */
  readonly identity: PublicIdentity;
  /** The device's registration id (chosen by the client at registration). */
  readonly registrationId: RegistrationId;
  /** The opaque delivery address of this device; unique across the server. */
  readonly mailbox: MailboxId;
  /** A hash of the device's credential (never the credential); unique across the server. */
  readonly credentialHash: Uint8Array;
  /** Whether the device is blocked: it can neither connect nor be delivered to. */
  readonly blocked: boolean;
  /** When the device was registered, in Unix milliseconds. */
  readonly createdAt: number;
  /** Last time the device was seen ({@link DeviceStore.touch}), or `null`. */
  readonly lastSeenAt: number | null;
  /** The client version the device last reported ({@link DeviceStore.touch}), if it did. */
  readonly clientVersion?: string;
  /** The app version the device last reported ({@link DeviceStore.report}), if it did. */
  readonly appVersion?: string;
  /** The platform (OS and version) the device last reported ({@link DeviceStore.report}), if it did. */
  readonly platform?: string;
  /**
   * How the device enrolled: `managed` with a managed enrolment token (an MDM configuration,
   * `spec/managed-config.md`), else `token` (records written before this field read as `token`).
   */
  readonly enrolledVia: DeviceEnrolledVia;
}

/**
 * How a device enrolled ({@link Device.enrolledVia}).
 *
 * @example
 * ```ts
 * const [first] = await stores.devices.list(tenant, user);
 * const via: DeviceEnrolledVia | undefined = first?.enrolledVia; // 'token' | 'managed'
 * if (via === 'managed') console.log('enrolled from the MDM configuration');
 * ```
 */
export type DeviceEnrolledVia = 'token' | 'managed';

/**
 * What a device reports about the software it runs ({@link DeviceStore.report}); each 1..{@link
 * MAX_CLIENT_VERSION} characters, a field left out stays as it is.
 *
 * @example
 * ```ts
 * const reported: DeviceReported = { appVersion: 'ward-app/2.4.1', platform: 'iOS 18.2' };
 * ```
 */
export interface DeviceReported {
  /** The app's name and version, as the app gives it. */
  readonly appVersion?: string;
  /** The operating system and its version, as the app gives it. */
  readonly platform?: string;
}

/**
 * Longest client version a device may report, in characters.
 *
 * @example
 * ```ts
 * console.log(MAX_CLIENT_VERSION); // 64
 * ```
 */
export const MAX_CLIENT_VERSION = 64;

/**
 * What {@link DeviceStore.add} needs.
 *
 * @example
 * ```ts
 * import { deviceId, registrationId } from '@cloister/crypto';
 * import { mailboxId } from '@cloister/protocol';
 *
 * const input: DeviceInput = {
 *   identity,
 *   registrationId: registrationId(4711),
 *   mailbox: mailboxId('mbx_7f3a'),
 *   credentialHash: await credentialHash(ctx, credential),
 * };
 * await stores.devices.add(tenant, user, deviceId(1), input);
 * ```
 */
export interface DeviceInput {
  /** The device's public identity (Ed25519 signing key, X25519 identity key and its signature). */
  readonly identity: PublicIdentity;
  /** The device's registration id. */
  readonly registrationId: RegistrationId;
  /** The device's delivery address; must be unused across the server. */
  readonly mailbox: MailboxId;
  /** A hash of the device's credential ({@link CREDENTIAL_HASH_BYTES} long); must be unused. */
  readonly credentialHash: Uint8Array;
  /** Whether the device starts blocked (default `false`). */
  readonly blocked?: boolean;
  /** How the device enrolled (default `token`). */
  readonly enrolledVia?: DeviceEnrolledVia;
}

/**
 * A change to a device: fields left out stay as they are.
 *
 * @example
 * ```ts
 * const patch: DevicePatch = { blocked: true };
 * await stores.devices.update(tenant, user, device, patch);
 * ```
 */
export interface DevicePatch {
  /** Blocks (`true`) or unblocks (`false`) the device. */
  readonly blocked?: boolean;
  /** A new credential hash (after the device rotated its credential); must be unused. */
  readonly credentialHash?: Uint8Array;
}

/**
 * The devices of users.
 *
 * @example
 * ```ts
 * const found = await stores.devices.byCredentialHash(await credentialHash(ctx, credential));
 * if (found !== undefined) await stores.devices.touch(found.tenant, found.user, found.id);
 * const all = await stores.devices.list(tenant, user);
 * ```
 */
export interface DeviceStore {
  /**
   * Adds a device. `NotFoundError('user')`; `ConflictError('device' | 'device.mailbox' |
   * 'device.credential' | 'device.count')`; nothing is written on error.
   *
   * @example
   * ```ts
   * import { deviceId, registrationId } from '@cloister/crypto';
   * import { mailboxId } from '@cloister/protocol';
   *
   * const added = await stores.devices.add(tenant, user, deviceId(2), {
   *   identity, registrationId: registrationId(4711), mailbox: mailboxId('mbx_7f3a'), credentialHash: await credentialHash(ctx, credential),
   * });
   * ```
   */
  add(tenant: TenantId, user: UserId, id: DeviceId, input: DeviceInput): Promise<Device>;
  /**
   * The device `id` of the user, or `undefined`.
   *
   * @example
   * ```ts
   * const found = await stores.devices.get(tenant, user, device);
   * if (found?.blocked) console.log('this device is blocked');
   * ```
   */
  get(tenant: TenantId, user: UserId, id: DeviceId): Promise<Device | undefined>;
  /**
   * The user's devices, in device id order.
   *
   * @example
   * ```ts
   * for (const d of await stores.devices.list(tenant, user)) {
   *   console.log(d.id, d.lastSeenAt === null ? 'never seen' : new Date(d.lastSeenAt).toISOString());
   * }
   * ```
   */
  list(tenant: TenantId, user: UserId): Promise<Device[]>;
  /**
   * The device whose mailbox is `mailbox`.
   *
   * @example
   * ```ts
   * const recipient = await stores.devices.byMailbox(mailbox);
   * if (recipient !== undefined) console.log(recipient.tenant, recipient.user, recipient.id);
   * ```
   */
  byMailbox(mailbox: MailboxId): Promise<Device | undefined>;
  /**
   * The device whose credential hash is `hash`.
   *
   * @example
   * ```ts
   * const caller = await stores.devices.byCredentialHash(await credentialHash(ctx, credential));
   * ```
   */
  byCredentialHash(hash: Uint8Array): Promise<Device | undefined>;
  /**
   * `NotFoundError('device')`, `ConflictError('device.credential')`.
   *
   * @example
   * ```ts
   * await stores.devices.update(tenant, user, device, { blocked: true });
   * // after the device rotated its credential:
   * await stores.devices.update(tenant, user, device, { credentialHash: await credentialHash(ctx, credential) });
   * ```
   */
  update(tenant: TenantId, user: UserId, id: DeviceId, patch: DevicePatch): Promise<Device>;
  /**
   * Records that the device was seen at `at` (default: the store's clock), with the client
   * version it reported if any (1..{@link MAX_CLIENT_VERSION} characters); `false` when absent.
   *
   * @example
   * ```ts
   * await stores.devices.touch(tenant, user, device, Date.now(), '@cloister/client/0.1.0');
   * ```
   */
  touch(tenant: TenantId, user: UserId, id: DeviceId, at?: number, clientVersion?: string): Promise<boolean>;
  /**
   * Records the app version and platform the device reported (each 1..{@link MAX_CLIENT_VERSION}
   * characters; a field left out stays as it is); `false` when the device is absent.
   *
   * @example
   * ```ts
   * await stores.devices.report(tenant, user, device, { appVersion: 'ward-app/2.4.1', platform: 'Android 15' });
   * ```
   */
  report(tenant: TenantId, user: UserId, id: DeviceId, reported: DeviceReported): Promise<boolean>;
  /**
   * Removes the device with its index rows, key bundles and mailbox; `false` when absent.
   *
   * @example
   * ```ts
   * const removed = await stores.devices.remove(tenant, user, device); // false when absent
   * ```
   */
  remove(tenant: TenantId, user: UserId, id: DeviceId): Promise<boolean>;
}

function checkIdentity(value: unknown): PublicIdentity {
  const o = checkObject(value, 'identity');
  return {
    signingKey: checkBytesIn(o.signingKey, 'identity.signingKey', 32, 32).slice(),
    dhKey: checkBytesIn(o.dhKey, 'identity.dhKey', 32, 32).slice(),
    dhKeySignature: checkBytesIn(o.dhKeySignature, 'identity.dhKeySignature', 64, 64).slice(),
  };
}

function checkHash(value: unknown, field = 'credentialHash'): Uint8Array {
  return checkBytesIn(value, field, CREDENTIAL_HASH_BYTES.min, CREDENTIAL_HASH_BYTES.max).slice();
}

function deviceFrom(tenant: TenantId, user: UserId, id: DeviceId, r: Rec): Device {
  const i = r.obj('identity');
  return {
    tenant,
    user,
    id,
    identity: {
      signingKey: i.bytes('signingKey', 32, 32),
      dhKey: i.bytes('dhKey', 32, 32),
      dhKeySignature: i.bytes('dhKeySignature', 64, 64),
    },
    registrationId: registrationId(r.int('registrationId', 0, 0xffff_ffff)),
    mailbox: r.id('mailbox', mailboxId),
    credentialHash: r.bytes('credentialHash', CREDENTIAL_HASH_BYTES.min, CREDENTIAL_HASH_BYTES.max),
    blocked: r.bool('blocked'),
    createdAt: r.int('createdAt'),
    lastSeenAt: r.has('lastSeenAt') ? r.int('lastSeenAt') : null,
    ...(r.has('clientVersion') ? { clientVersion: r.str('clientVersion', MAX_CLIENT_VERSION) } : {}),
    ...(r.has('appVersion') ? { appVersion: r.str('appVersion', MAX_CLIENT_VERSION) } : {}),
    ...(r.has('platform') ? { platform: r.str('platform', MAX_CLIENT_VERSION) } : {}),
    enrolledVia: r.has('enrolledVia') ? checkVia(r.str('enrolledVia', 16)) : 'token',
  };
}

function checkVia(value: unknown, field: string = T.devices): DeviceEnrolledVia {
  if (value === 'token' || value === 'managed') return value;
  throw field === T.devices
    ? new DecodeError(T.devices, 'malformed enrolledVia')
    : new ValidationError(field, "'token' or 'managed'");
}

function fromRow(row: Row): Device {
  const r = read(row.value, T.devices);
  return deviceFrom(
    r.id('tenant', tenantId),
    r.id('user', userId),
    checkDeviceId(r.int('device', 0, 0xffff_ffff)),
    r,
  );
}

/** An index row pointing at a device. */
function pointer(d: { tenant: TenantId; user: UserId; id: DeviceId }): Uint8Array {
  return write({ tenant: d.tenant, user: d.user, device: d.id });
}

/** @internal Reads a device inside a transaction. */
export async function loadDevice(
  tx: StorageTx,
  tenant: TenantId,
  user: UserId,
  id: DeviceId,
  forUpdate = false,
): Promise<Device | undefined> {
  const r = await getRec(tx, T.devices, key(tenant, user), u32(id), forUpdate);
  return r === undefined ? undefined : deviceFrom(tenant, user, id, r);
}

async function follow(tx: StorageTx, table: string, partition: Uint8Array): Promise<Device | undefined> {
  const p = await getRec(tx, table, partition, NO_SORT);
  if (p === undefined) return undefined;
  return loadDevice(
    tx,
    p.id('tenant', tenantId),
    p.id('user', userId),
    checkDeviceId(p.int('device', 0, 0xffff_ffff)),
  );
}

/**
 * A device was blocked, unblocked or removed: the delivery tokens it may hold (those of its
 * user's sender class) stop working, in the caller's transaction.
 */
async function bumpOwnersClass(tx: StorageTx, device: Device): Promise<void> {
  const owner = await loadUser(tx, device.tenant, device.user);
  if (owner !== undefined) await bumpClassEpoch(tx, device.tenant, owner.pools);
}

/** @internal Deletes a device row and everything kept for it, inside a transaction. */
export async function purgeDevice(tx: StorageTx, device: Device | Row): Promise<void> {
  const d = 'value' in device ? fromRow(device) : device;
  const dk = deviceKey(d.tenant, d.user, d.id);
  await tx.delete(T.devices, key(d.tenant, d.user), u32(d.id));
  await tx.delete(T.compliance, key(d.tenant, d.user), u32(d.id));
  await tx.delete(T.deviceByMailbox, key(d.mailbox), NO_SORT);
  await tx.delete(T.deviceByCredential, d.credentialHash, NO_SORT);
  await tx.deletePartition(T.bundleSigned, dk);
  await tx.deletePartition(T.bundleOneTime, dk);
  await tx.deletePartition(T.bundleKem, dk);
  await tx.deletePartition(T.mailbox, key(d.mailbox));
  await tx.deletePartition(T.mailboxIds, key(d.mailbox));
}

/**
 * Creates the device store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const devices = createDeviceStore(adapterExecutor(adapter));
 * const found = await devices.get(tenant, user, device);
 * ```
 */
export function createDeviceStore(run: Executor): DeviceStore {
  return {
    async add(tenant, user, id, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      const i = checkObject(input, 'input');
      const identity = checkIdentity(i.identity);
      const reg = registrationId(checkInteger(i.registrationId, 'registrationId', 0, 0xffff_ffff));
      const mailbox = checkId(i.mailbox, 'mailbox', mailboxId);
      const credentialHash = checkHash(i.credentialHash);
      const blocked = i.blocked === undefined ? false : checkBool(i.blocked, 'blocked');
      const enrolledVia = i.enrolledVia === undefined ? 'token' : checkVia(i.enrolledVia, 'enrolledVia');
      return run(async (tx) => {
        if ((await loadUser(tx, tid, uid, true)) === undefined) throw new NotFoundError('user');
        if ((await tx.count(T.devices, key(tid, uid))) >= MAX_DEVICES_PER_USER) {
          throw new ConflictError('device.count', 'the user has too many devices');
        }
        const device: Device = {
          tenant: tid,
          user: uid,
          id: did,
          identity,
          registrationId: reg,
          mailbox,
          credentialHash,
          blocked,
          createdAt: tx.now,
          lastSeenAt: null,
          enrolledVia,
        };
        const value = deviceRecord(device);
        if (
          !(await tx.put(T.devices, { partition: key(tid, uid), sort: u32(did), value }, { ifAbsent: true }))
        ) {
          throw new ConflictError('device', 'the id is taken');
        }
        const ptr = pointer(device);
        if (
          !(await tx.put(
            T.deviceByMailbox,
            { partition: key(mailbox), sort: NO_SORT, value: ptr },
            { ifAbsent: true },
          ))
        ) {
          // Undo this call's writes, so that a caller who catches the error inside its own
          // transaction commits nothing of it.
          await tx.delete(T.devices, key(tid, uid), u32(did));
          throw new ConflictError('device.mailbox', 'the mailbox id is taken');
        }
        if (
          !(await tx.put(
            T.deviceByCredential,
            { partition: credentialHash, sort: NO_SORT, value: ptr },
            { ifAbsent: true },
          ))
        ) {
          await tx.delete(T.devices, key(tid, uid), u32(did));
          await tx.delete(T.deviceByMailbox, key(mailbox), NO_SORT);
          throw new ConflictError('device.credential', 'the credential hash is taken');
        }
        return device;
      });
    },

    async get(tenant, user, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      return run((tx) => loadDevice(tx, tid, uid, did), { readOnly: true });
    },

    async list(tenant, user) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.devices, key(tid, uid), { limit: MAX_DEVICES_PER_USER });
          const devices = rows.map((row) => {
            const d = fromRow(row);
            if (d.tenant !== tid || d.user !== uid)
              throw new DecodeError(T.devices, 'record of another user');
            return d;
          });
          return devices.sort((a, b) => a.id - b.id);
        },
        { readOnly: true },
      );
    },

    async byMailbox(mailbox) {
      const m = checkId(mailbox, 'mailbox', mailboxId);
      return run(
        async (tx) => {
          const d = await follow(tx, T.deviceByMailbox, key(m));
          return d !== undefined && d.mailbox === m ? d : undefined;
        },
        { readOnly: true },
      );
    },

    async byCredentialHash(hash) {
      const h = checkHash(hash, 'hash');
      return run(
        async (tx) => {
          const d = await follow(tx, T.deviceByCredential, h);
          return d !== undefined && equalBytes(d.credentialHash, h) ? d : undefined;
        },
        { readOnly: true },
      );
    },

    async update(tenant, user, id, patch) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      const p = checkObject(patch, 'patch');
      const blocked = p.blocked === undefined ? undefined : checkBool(p.blocked, 'blocked');
      const credentialHash = p.credentialHash === undefined ? undefined : checkHash(p.credentialHash);
      return run(async (tx) => {
        const before = await loadDevice(tx, tid, uid, did, true);
        if (before === undefined) throw new NotFoundError('device');
        const after: Device = {
          ...before,
          ...(blocked === undefined ? {} : { blocked }),
          ...(credentialHash === undefined ? {} : { credentialHash }),
        };
        if (credentialHash !== undefined && !equalBytes(credentialHash, before.credentialHash)) {
          const ok = await tx.put(
            T.deviceByCredential,
            { partition: credentialHash, sort: NO_SORT, value: pointer(after) },
            { ifAbsent: true },
          );
          if (!ok) throw new ConflictError('device.credential', 'the credential hash is taken');
          await tx.delete(T.deviceByCredential, before.credentialHash, NO_SORT);
        }
        await tx.put(T.devices, { partition: key(tid, uid), sort: u32(did), value: deviceRecord(after) });
        if (blocked !== undefined && blocked !== before.blocked) await bumpOwnersClass(tx, before);
        return after;
      });
    },

    async touch(tenant, user, id, at, clientVersion) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      const when = at === undefined ? undefined : checkInteger(at, 'at', 0, Number.MAX_SAFE_INTEGER);
      const version =
        clientVersion === undefined
          ? undefined
          : checkText(clientVersion, 'clientVersion', MAX_CLIENT_VERSION);
      return run(async (tx) => {
        const before = await loadDevice(tx, tid, uid, did, true);
        if (before === undefined) return false;
        const after: Device = {
          ...before,
          lastSeenAt: when ?? tx.now,
          ...(version === undefined ? {} : { clientVersion: version }),
        };
        await tx.put(T.devices, { partition: key(tid, uid), sort: u32(did), value: deviceRecord(after) });
        return true;
      });
    },

    async report(tenant, user, id, reported) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      const o = checkObject(reported, 'reported');
      const appVersion =
        o.appVersion === undefined ? undefined : checkText(o.appVersion, 'appVersion', MAX_CLIENT_VERSION);
      const platform =
        o.platform === undefined ? undefined : checkText(o.platform, 'platform', MAX_CLIENT_VERSION);
      return run(async (tx) => {
        const before = await loadDevice(tx, tid, uid, did, true);
        if (before === undefined) return false;
        const after: Device = {
          ...before,
          ...(appVersion === undefined ? {} : { appVersion }),
          ...(platform === undefined ? {} : { platform }),
        };
        await tx.put(T.devices, { partition: key(tid, uid), sort: u32(did), value: deviceRecord(after) });
        return true;
      });
    },

    async remove(tenant, user, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(id, 'id');
      return run(async (tx) => {
        const d = await loadDevice(tx, tid, uid, did, true);
        if (d === undefined) return false;
        await purgeDevice(tx, d);
        await bumpOwnersClass(tx, d);
        return true;
      });
    },
  };
}

/** The device record also names its owner, so that a row can be read without its key. */
function deviceRecord(d: Device): Uint8Array {
  return write({
    tenant: d.tenant,
    user: d.user,
    device: d.id,
    identity: { ...d.identity },
    registrationId: d.registrationId,
    mailbox: d.mailbox,
    credentialHash: d.credentialHash,
    blocked: d.blocked,
    createdAt: d.createdAt,
    lastSeenAt: d.lastSeenAt,
    ...(d.clientVersion === undefined ? {} : { clientVersion: d.clientVersion }),
    ...(d.appVersion === undefined ? {} : { appVersion: d.appVersion }),
    ...(d.platform === undefined ? {} : { platform: d.platform }),
    ...(d.enrolledVia === 'token' ? {} : { enrolledVia: d.enrolledVia }),
  });
}
