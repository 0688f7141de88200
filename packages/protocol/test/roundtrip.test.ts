import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeContent,
  decodeDeviceMessage,
  encodeContent,
  encodeDeviceMessage,
  MAX_ENCODED_BYTES,
} from '../src/index.js';
import { CODECS, plain } from './arbitraries.js';

describe.each(CODECS.map((c) => [c.name, c] as const))('%s round trip', (_name, codec) => {
  it('decode(encode(x)) equals x and re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(codec.arbitrary, (value) => {
        const bytes = codec.encode(value as never);
        expect(bytes.constructor).toBe(Uint8Array);
        expect(bytes.length).toBeLessThanOrEqual(codec.maxBytes);
        const decoded = codec.decode(bytes);
        expect(plain(decoded)).toEqual(plain(value));
        expect(plain(codec.encode(decoded as never))).toEqual(plain(bytes));
      }),
      { numRuns: 150 },
    );
  });
});

describe('decoded objects', () => {
  it('own their bytes: plain Uint8Array copies, not views of the input', () => {
    const input = encodeContent({
      messageId: new Uint8Array(16).fill(7),
      sentAtMs: 1,
      body: { type: 'receipt', kind: 'read', messageIds: [new Uint8Array(16).fill(9)] },
    });
    const decoded = decodeContent(input);
    input.fill(0);
    expect(decoded.messageId).toEqual(new Uint8Array(16).fill(7));
    expect(decoded.messageId.constructor).toBe(Uint8Array);
    expect(decoded.messageId.buffer.byteLength).toBe(16);
    expect(decoded.body.type === 'receipt' && decoded.body.messageIds[0]).toEqual(new Uint8Array(16).fill(9));
  });

  it('leave absent optional fields out (exactOptionalPropertyTypes)', () => {
    const decoded = decodeContent(
      encodeContent({ messageId: new Uint8Array(16), sentAtMs: 5, body: { type: 'text', text: 'x' } }),
    );
    expect(Object.keys(decoded).sort()).toEqual(['body', 'messageId', 'sentAtMs']);
  });

  it('carry the largest allowed ciphertext and the largest text', () => {
    const ciphertext = new Uint8Array(263_168).fill(1);
    const frame = encodeDeviceMessage({
      suite: 'v2',
      type: 'ratchet',
      message: {
        header: {
          ratchetKey: new Uint8Array(32),
          previousChainLength: 0xffff_ffff,
          messageNumber: 0xffff_ffff,
        },
        ciphertext,
      },
    });
    expect(frame.length).toBeLessThanOrEqual(MAX_ENCODED_BYTES.deviceMessage);
    const back = decodeDeviceMessage(frame);
    expect(back.type === 'ratchet' && plain(back.message.ciphertext)).toEqual(plain(ciphertext));

    const text = 'é'.repeat(32_768); // 65536 UTF-8 bytes
    const content = {
      messageId: new Uint8Array(16),
      sentAtMs: Number.MAX_SAFE_INTEGER,
      body: { type: 'text', text },
    } as const;
    expect(decodeContent(encodeContent(content))).toEqual(content);
  });
});
