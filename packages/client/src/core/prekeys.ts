/**
 * When this device's signed prekey is replaced, decided without I/O: a new one once the newest is
 * older than {@link SIGNED_PREKEY_ROTATION_MS} (or when there is none), and the replaced ones
 * deleted once older than {@link SIGNED_PREKEY_KEEP_MS}, so that initial messages still in flight
 * to them can be read. Each signed prekey has a last-resort ML-KEM prekey whose id is derived
 * from it (`lastResortKemId`).
 *
 * @module
 */

/** Age of the newest signed prekey after which `start()` publishes a new one: 7 days. */
export const SIGNED_PREKEY_ROTATION_MS = 7 * 86_400_000;
/** How long a replaced signed prekey is kept for initial messages in flight: 30 days. */
export const SIGNED_PREKEY_KEEP_MS = 30 * 86_400_000;
/** First id of the last-resort ML-KEM prekeys (one per signed prekey). */
export const LAST_RESORT_BASE = 0x7fff_0000;

/** The id of the last-resort ML-KEM prekey published with signed prekey `signedId`. */
export function lastResortKemId(signedId: number): number {
  return LAST_RESORT_BASE + (signedId & 0xffff);
}

/** What rotation does now: the id of the signed prekey to publish (if any) and the ids to delete. */
export interface RotationPlan {
  readonly publish: number | undefined;
  readonly remove: readonly number[];
}

/**
 * The rotation due at `now` for the stored signed prekeys (id and creation time each). Nothing
 * is removed unless a new one is published, and the newest is never removed.
 *
 * @example
 * ```ts
 * planRotation([{ id: 1, createdAt: 0 }], 8 * 86_400_000); // { publish: 2, remove: [] }
 * ```
 */
export function planRotation(
  stored: readonly { readonly id: number; readonly createdAt: number }[],
  now: number,
): RotationPlan {
  const newest = stored.reduce<(typeof stored)[number] | undefined>(
    (a, b) => (a === undefined || b.id > a.id ? b : a),
    undefined,
  );
  if (newest !== undefined && now - newest.createdAt < SIGNED_PREKEY_ROTATION_MS) {
    return { publish: undefined, remove: [] };
  }
  return {
    publish: (newest?.id ?? 0) + 1,
    remove: stored.filter((k) => k !== newest && now - k.createdAt > SIGNED_PREKEY_KEEP_MS).map((k) => k.id),
  };
}
