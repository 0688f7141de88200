/**
 * A small memo of the keyed hashes the encryption wrapper computes for partitions and sort keys
 * (`spec/storage-encryption.md` §5.1). The same few partitions are hashed over and over (a
 * mailbox on every delivery, a user's device list on every lookup), and each hash is an HMAC
 * behind an `await`; the memo turns the repeats into a map lookup. It is a cache in memory only:
 * the stored format does not change.
 *
 * Entries are keyed by everything the hash depends on, spelled unambiguously: the kind of hash,
 * the table name (which cannot contain a space) and the hex of the key bytes (neither), so an
 * entry can never answer for another table, partition or sort key. One memo belongs to one
 * wrapper, whose keys never change while it is open. When full it starts over (cleared, not
 * evicted one by one: cheap, and a working set that fits never notices); `wipe` empties it for
 * good when the wrapper closes.
 *
 * @module
 */
import { type CryptoProvider, toHex, wipe } from '@cloister/crypto';
import { hashPartition, hashSort, type StoreKeys } from './_format.js';

/** Entries a memo holds before it is cleared. */
export const HASH_MEMO_ENTRIES = 4096;

export class HashMemo {
  /** Partition hashes and sort-key hashes apart: a stream of unique sort keys (message ids) must
   * not clear the few partitions that are hashed over and over. */
  private readonly entries = new Map<string, Uint8Array>();
  private readonly sorts = new Map<string, Uint8Array>();
  /** Hashes being computed, so that a batch of rows of one partition computes its hash once. */
  private readonly pending = new Map<string, Promise<Uint8Array>>();
  private wiped = false;

  constructor(readonly capacity: number = HASH_MEMO_ENTRIES) {}

  /** How many hashes the memo holds now. */
  get size(): number {
    return this.entries.size + this.sorts.size;
  }

  /** The stored partition of `partition` in `table` (§3 `P`). */
  partition(
    provider: CryptoProvider,
    keys: StoreKeys,
    table: string,
    partition: Uint8Array,
  ): Promise<Uint8Array> {
    return this.memo(this.entries, `p ${table} ${toHex(partition)}`, () =>
      hashPartition(provider, keys, table, partition),
    );
  }

  /** The stored sort key of `sort` at `partition` in the non-ordered `table` (§3 `S`). */
  sort(
    provider: CryptoProvider,
    keys: StoreKeys,
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
  ): Promise<Uint8Array> {
    return this.memo(this.sorts, `s ${table} ${toHex(partition)} ${toHex(sort)}`, () =>
      hashSort(provider, keys, table, partition, sort),
    );
  }

  /** Empties the memo (overwriting the hashes) and keeps it empty from now on. */
  wipe(): void {
    this.wiped = true;
    this.clear();
  }

  private clear(map?: Map<string, Uint8Array>): void {
    for (const m of map === undefined ? [this.entries, this.sorts] : [map]) {
      for (const hash of m.values()) wipe(hash);
      m.clear();
    }
  }

  /**
   * Every caller gets its own copy, so nobody can alter what the memo answers next time; the memo
   * keeps a copy of its own too, so wiping it when full never touches a hash a caller still awaits.
   */
  private async memo(
    map: Map<string, Uint8Array>,
    id: string,
    compute: () => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const hit = map.get(id);
    if (hit !== undefined) return hit.slice();
    let pending = this.pending.get(id);
    if (pending === undefined) {
      pending = compute().then(
        (hash) => {
          this.pending.delete(id);
          if (!this.wiped) {
            if (map.size >= this.capacity) this.clear(map);
            map.set(id, hash.slice());
          }
          return hash;
        },
        (error: unknown) => {
          this.pending.delete(id);
          throw error;
        },
      );
      this.pending.set(id, pending);
    }
    return (await pending).slice();
  }
}
