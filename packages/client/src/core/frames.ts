/**
 * The delivery socket's frames (`spec/server-delivery.md`), read and written without I/O: what a
 * frame from the server means, and the acknowledgement frame the client sends back.
 *
 * @module
 */
import { utf8 } from '@cloister/crypto';

/** What a frame from the server says. */
export type ServerFrame =
  /** `0x02`: everything queued before the connection opened has been pushed. */
  | { readonly kind: 'synced' }
  /** `0x01 ‖ u8 n ‖ id (n ASCII bytes) ‖ envelope`: one delivery and the id to acknowledge it by. */
  | { readonly kind: 'delivery'; readonly serverId: string; readonly envelope: Uint8Array };

const decoder = new TextDecoder();

/**
 * Reads a frame from the server; `undefined` for a frame the client does not know or that is cut
 * short (ignored, never fatal). The envelope is a copy.
 *
 * @example
 * ```ts
 * parseServerFrame(Uint8Array.of(0x02)); // { kind: 'synced' }
 * ```
 */
export function parseServerFrame(frame: Uint8Array): ServerFrame | undefined {
  if (frame.length === 1 && frame[0] === 0x02) return { kind: 'synced' };
  if (frame[0] !== 0x01 || frame.length < 3) return undefined;
  const n = frame[1]!;
  if (frame.length <= 2 + n) return undefined;
  return {
    kind: 'delivery',
    serverId: decoder.decode(frame.subarray(2, 2 + n)),
    envelope: frame.slice(2 + n),
  };
}

/**
 * An acknowledgement frame: `0x81` then each id as `u8 length ‖ ASCII`.
 *
 * @example
 * ```ts
 * ackFrame(['m1']); // Uint8Array [0x81, 2, 0x6d, 0x31]
 * ```
 */
export function ackFrame(ids: readonly string[]): Uint8Array {
  const parts = ids.map((id) => utf8(id));
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + 1 + p.length, 0));
  out[0] = 0x81;
  let at = 1;
  for (const p of parts) {
    out[at] = p.length;
    out.set(p, at + 1);
    at += 1 + p.length;
  }
  return out;
}
