/**
 * The client's own tables beside its typed stores (`store/`): the vault (in the raw
 * adapter, outside the encryption, holding only the PIN-wrapped data key and the wipe marker),
 * and, inside the encrypted adapter, the registration, processed deliveries, groups, held group
 * content, the pinned device lists, quarantined deliveries, the pinned revocation list and
 * reach statement, and the verified organisation objects. Records use the storage package's record codec.
 *
 * @module
 */
import { DecodeError } from '@cloister/crypto';
import { decodeRecord, encodeRecord, type RecordValue, type StorageTx } from '@cloister/storage';

/**
 * Table names of the client's own rows (next to those of the stores, `CLIENT_TABLES`).
 *
 * @example
 * ```ts
 * const tables = [...Object.values(CLIENT_TABLES), ...Object.values(CLIENT_LOCAL_TABLES)]; // every client table
 * ```
 */
export const CLIENT_LOCAL_TABLES = Object.freeze({
  /** In the raw adapter, unencrypted: the wrapped data key, PIN attempts, the wipe marker. */
  vault: 'c_vault',
  /** Encrypted: the registration with the server (credential, ids, tenant key). */
  registration: 'c_registration',
  /** Encrypted: mailbox ids already processed, so a redelivery is acknowledged, not decrypted again. */
  processed: 'c_processed',
  /** Encrypted: group states. */
  groups: 'c_groups',
  /** Encrypted: group content that arrived before the group change that lets it in (by group). */
  held: 'c_held',
  /** Encrypted: the pinned signed device list of each user (by user id). */
  deviceLists: 'c_device_lists',
  /** Encrypted: deliveries from devices the pinned lists do not admit yet (by sender user). */
  quarantine: 'c_quarantine',
  /** Encrypted: the pinned signed revocation list and reach statement (`list`, `reach`). */
  revocations: 'c_revocations',
  /**
   * Encrypted: the organisation objects this device verified against its pinned root — per scope
   * the newest sequence and bytes, the kept certificate delegations, the archive state last shown.
   */
  organisation: 'c_organisation',
});

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** @internal The bytes of a text key. */
export function keyOf(text: string): Uint8Array {
  return enc.encode(text);
}

/** @internal Reads one record of `table` under `key`, or undefined. */
export async function getRecord(
  tx: StorageTx,
  table: string,
  key: string,
  path: string,
  options: { forUpdate?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  const row = await tx.get(table, EMPTY, keyOf(key), options);
  if (row === undefined) return undefined;
  const decoded = decodeRecord(row.value, path);
  if (typeof decoded.d !== 'object' || decoded.d === null || Array.isArray(decoded.d)) {
    throw new DecodeError(path, 'expected a record object');
  }
  return decoded.d as Record<string, unknown>;
}

/** @internal Writes one record. */
export async function putRecord(
  tx: StorageTx,
  table: string,
  key: string,
  data: RecordValue,
  expiresAt: number | null = null,
): Promise<void> {
  await tx.put(table, { partition: EMPTY, sort: keyOf(key), value: encodeRecord(1, data), expiresAt });
}

/** @internal Deletes one record. */
export async function deleteRecord(tx: StorageTx, table: string, key: string): Promise<boolean> {
  return tx.delete(table, EMPTY, keyOf(key));
}

/** @internal A typed field reader that throws `DecodeError` naming the record. */
export function field<T>(
  data: Record<string, unknown>,
  name: string,
  path: string,
  check: (v: unknown) => v is T,
): T {
  const v = data[name];
  if (!check(v)) throw new DecodeError(`${path}.${name}`, 'unexpected value');
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
