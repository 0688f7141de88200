/**
 * Session records by remote device address. Implements `@cloister/crypto`'s `SessionStore`; the
 * record bytes are crypto's own layout (`serializeSession`), wrapped in a versioned record.
 *
 * @module
 */
import {
  type DeviceAddress,
  type DeviceId,
  deserializeSession,
  deviceId,
  type SessionRecord,
  type SessionStore,
  serializeSession,
  wipe,
} from '@cloister/crypto';
import { userId as toUserId, type UserId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import { addressKeys, checkAddressArg, dBytes, decodeObject, encode, sortU32, utf8Bytes } from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * Session records of remote devices. Records are deserialised on every load, so a record a
 * `SessionCipher` wipes after use never affects what is stored.
 *
 * @example
 * ```ts
 * import { SessionCipher } from '@cloister/crypto';
 * import { userId } from '@cloister/protocol';
 * const cipher = new SessionCipher(provider, {
 *   ourIdentity: identity, remoteAddress: bob, sessions: stores.sessions, preKeys: stores.preKeys,
 * });
 * const devices = await stores.sessions.listDevices(userId('bob')); // e.g. [1, 2]
 * ```
 */
export interface ClientSessionStore extends SessionStore {
  /**
   * The device ids of `userId` that have a stored session record, ascending.
   *
   * @example
   * ```ts
   * import { userId } from '@cloister/protocol';
   * const devices = await stores.sessions.listDevices(userId('bob')); // → [1, 2]
   * ```
   */
  listDevices(userId: UserId): Promise<DeviceId[]>;
  /**
   * Deletes the record of one device; resolves `true` when there was one.
   *
   * @example
   * ```ts
   * const had = await stores.sessions.deleteSession(bob); // the next message to bob starts a new session
   * ```
   */
  deleteSession(address: DeviceAddress): Promise<boolean>;
  /**
   * Deletes the records of every device of a user; resolves how many were deleted.
   *
   * @example
   * ```ts
   * import { userId } from '@cloister/protocol';
   * const deleted = await stores.sessions.deleteAllSessions(userId('bob')); // → 2
   * ```
   */
  deleteAllSessions(userId: UserId): Promise<number>;
}

const TABLE = CLIENT_TABLES.sessions;
const PATH = 'c_sessions';
const VERSION = 1;

/**
 * Creates the session store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const sessions = createSessionStore(adapterExecutor(adapter));
 * ```
 */
export function createSessionStore(run: Executor): ClientSessionStore {
  return {
    async loadSession(address) {
      const k = addressKeys(checkAddressArg(address));
      const row = await run((tx) => tx.get(TABLE, k.partition, k.sort), { readOnly: true });
      if (row === undefined) return undefined;
      const d = decodeObject(row.value, PATH, VERSION);
      return deserializeSession(dBytes(d, 'record', PATH));
    },
    async storeSession(address, record: SessionRecord) {
      const k = addressKeys(checkAddressArg(address));
      const bytes = serializeSession(record);
      const value = encode(VERSION, { record: bytes });
      wipe(bytes);
      await run(async (tx) => {
        await tx.put(TABLE, { partition: k.partition, sort: k.sort, value });
      });
    },
    async listDevices(user) {
      const u = toUserId(user);
      const rows = await run((tx) => tx.list(TABLE, utf8Bytes(u), { limit: 10_000 }), { readOnly: true });
      return rows.map((r) => deviceId(sortU32(r.sort, PATH))).sort((a, b) => a - b);
    },
    async deleteSession(address) {
      const k = addressKeys(checkAddressArg(address));
      return run((tx) => tx.delete(TABLE, k.partition, k.sort));
    },
    async deleteAllSessions(user) {
      const u = toUserId(user);
      return run((tx) => tx.deletePartition(TABLE, utf8Bytes(u)));
    },
  };
}
