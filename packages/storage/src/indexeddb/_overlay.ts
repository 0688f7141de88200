/**
 * The write overlay of one adapter transaction: every put, delete, take and deletePartition is
 * recorded here and applied to IndexedDB in one read-write transaction at commit. Reads merge
 * it over what IndexedDB holds.
 *
 * @module
 */
import { toHex } from '@cloister/crypto';
import type { Row } from '../adapter.js';

/** The pending state of one partition. */
export interface PartitionOverlay {
  readonly table: string;
  readonly partition: Uint8Array;
  /** `deletePartition` ran: no row stored in IndexedDB is visible any more. */
  cleared: boolean;
  /** Pending rows by hex sort key: a row to write, or `null` for a delete. */
  readonly rows: Map<string, Row | null>;
}

export class Overlay {
  readonly partitions = new Map<string, PartitionOverlay>();

  private static id(table: string, partition: Uint8Array): string {
    return `${table}/${toHex(partition)}`;
  }

  find(table: string, partition: Uint8Array): PartitionOverlay | undefined {
    return this.partitions.get(Overlay.id(table, partition));
  }

  ensure(table: string, partition: Uint8Array): PartitionOverlay {
    const id = Overlay.id(table, partition);
    let p = this.partitions.get(id);
    if (p === undefined) {
      p = { table, partition: partition.slice(), cleared: false, rows: new Map() };
      this.partitions.set(id, p);
    }
    return p;
  }

  set(table: string, partition: Uint8Array, sort: Uint8Array, row: Row | null): void {
    this.ensure(table, partition).rows.set(toHex(sort), row);
  }

  get empty(): boolean {
    return this.partitions.size === 0;
  }
}
