/** Payload sizes and the input helpers the cases share. */
import { randomFillSync } from 'node:crypto';
import type { Tier } from './harness.js';

/** A payload size of the size-dependent cases. */
export interface PayloadSize {
  readonly label: string;
  readonly bytes: number;
  readonly tier: Tier;
}

/** 64 B (a chat message), 1 KiB, 64 KiB, 1 MiB (a photo), 16 MiB (a large attachment). */
export const PAYLOAD_SIZES: readonly PayloadSize[] = [
  { label: '64B', bytes: 64, tier: 'light' },
  { label: '1KiB', bytes: 1024, tier: 'light' },
  { label: '64KiB', bytes: 64 * 1024, tier: 'light' },
  { label: '1MiB', bytes: 1024 * 1024, tier: 'heavy' },
  { label: '16MiB', bytes: 16 * 1024 * 1024, tier: 'huge' },
];

/** The size whose figures the targets are stated at. */
export const TARGET_SIZE = '1MiB';

/**
 * Fresh random bytes from the platform CSPRNG. Inputs only: their values do not change the
 * cost of any operation measured here.
 */
export function randomInput(length: number): Uint8Array<ArrayBuffer> {
  return randomFillSync(new Uint8Array(length));
}

/**
 * Adds one to the last four bytes of `nonce` (big-endian, wrapping), in place, so that repeated
 * encryptions under one benchmark key never reuse a nonce. Costs a few nanoseconds.
 */
export function nextNonce(nonce: Uint8Array): Uint8Array {
  const view = new DataView(nonce.buffer, nonce.byteOffset + nonce.length - 4, 4);
  view.setUint32(0, (view.getUint32(0) + 1) >>> 0);
  return nonce;
}

/**
 * Computes a value the first time it is asked for and returns the same value afterwards, so
 * inputs (up to 16 MiB) are built only for cases a run selects.
 */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T | undefined;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
