/**
 * The delivery framings (spec/server-delivery.md §4–5) as properties: WebSocket frames and
 * mailbox pages round-trip, and arbitrary bytes either decode to something that re-encodes to the
 * same bytes or are refused with `DecodeError` (never another error).
 */
import { DecodeError } from '@cloister/crypto';
import { type MessageId, messageId } from '@cloister/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMailboxPage, deliveryMessageId, encodeMailboxPage } from '../src/routes/delivery.js';
import {
  decodeAckFrame,
  decodeServerFrame,
  encodeAckFrame,
  encodeEnvelopeFrame,
  FRAME_SYNCED,
  MAX_ACK_FRAME_IDS,
} from '../src/routes/ws.js';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:@+'.split('');
const anyId = fc
  .array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 128 })
  .map((chars) => chars.join(''))
  .filter((id) => !id.startsWith('.') && !id.endsWith('.'))
  .map((id) => messageId(id) as MessageId);
const envelope = fc.uint8Array({ minLength: 1, maxLength: 2048 });

function decodedOrDecodeError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return undefined;
  }
}

describe('delivery socket frames', () => {
  it('envelope frames and acknowledgement frames round-trip', () => {
    fc.assert(
      fc.property(anyId, envelope, (id, env) => {
        expect(decodeServerFrame(encodeEnvelopeFrame(id, env))).toEqual({
          type: 'envelope',
          messageId: id,
          envelope: env,
        });
      }),
    );
    fc.assert(
      fc.property(fc.array(anyId, { minLength: 1, maxLength: MAX_ACK_FRAME_IDS }), (ids) => {
        expect(decodeAckFrame(encodeAckFrame(ids))).toEqual(ids);
      }),
    );
    expect(decodeServerFrame(Uint8Array.of(FRAME_SYNCED))).toEqual({ type: 'synced' });
    expect(() => encodeAckFrame([])).toThrow();
    expect(() => encodeAckFrame(Array.from({ length: MAX_ACK_FRAME_IDS + 1 }, () => 'm_1'))).toThrow();
  });

  it('arbitrary bytes decode canonically or fail with DecodeError', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.of(0x81, ...b)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.of(0x01, ...b)),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const ids = decodedOrDecodeError(() => decodeAckFrame(b));
        if (ids !== undefined) expect(encodeAckFrame(ids)).toEqual(b);
        const frame = decodedOrDecodeError(() => decodeServerFrame(b));
        if (frame?.type === 'envelope')
          expect(encodeEnvelopeFrame(frame.messageId, frame.envelope)).toEqual(b);
      }),
    );
  });
});

describe('mailbox pages', () => {
  const cursor = fc.option(
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex')),
    {
      nil: undefined,
    },
  );
  const items = fc.array(fc.record({ messageId: anyId, envelope }), { maxLength: 8 });

  it('round-trip', () => {
    fc.assert(
      fc.property(items, cursor, (list, next) => {
        const page = decodeMailboxPage(encodeMailboxPage(list, next));
        expect(page.items).toEqual(list);
        expect(page.next).toBe(next);
      }),
    );
  });

  it('arbitrary or damaged bytes decode canonically or fail with DecodeError', () => {
    const damaged = fc
      .tuple(items, cursor, fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([list, next, at, value]) => {
        const b = encodeMailboxPage(list, next);
        const copy = b.slice();
        copy[at % copy.length] = value;
        return at % 3 === 0 ? copy.slice(0, at % copy.length) : copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), damaged), (b) => {
        const page = decodedOrDecodeError(() => decodeMailboxPage(b));
        if (page !== undefined) expect(encodeMailboxPage(page.items, page.next)).toEqual(b);
      }),
    );
  });

  it('message ids of deliveries are m_ and the base64url of 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = deliveryMessageId(bytes);
        expect(id).toMatch(/^m_[A-Za-z0-9_-]{22}$/);
        expect(new Uint8Array(Buffer.from(id.slice(2), 'base64url'))).toEqual(bytes);
      }),
    );
    expect(() => deliveryMessageId(new Uint8Array(15))).toThrow();
  });
});
