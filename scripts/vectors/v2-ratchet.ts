/**
 * Test vectors for the suite-v2 Double Ratchet (`test-vectors/v2-ratchet.json`): a scripted
 * conversation of more than 50 messages in both directions, with out-of-order delivery, skipped
 * and late messages from closed chains, a message never delivered, an exact duplicate
 * (`ERR_REPLAY`) and a forged copy (`ERR_DECRYPTION_FAILED`).
 *
 * The conversation starts from the session records both sides hold after a handshake (given as
 * serialised bytes). Each `send` event lists the chain key, message key, AEAD key and nonce,
 * associated data, canonical header bytes and the message's fields; each `deliver` event lists the random bytes the
 * receiver draws (a new ratchet key pair when its ratchet steps), every intermediate value of
 * the ratchet step, and the plaintext or the error code. The records both sides hold at the end
 * are given too.
 */
import { CloisterError, type CryptoProvider, toHex, utf8 } from '../../packages/crypto/src/index.js';
import {
  decryptInitialWithRecord,
  decryptRatchetWithRecord,
  encryptWithRecord,
} from '../../packages/crypto/src/v2/_record.js';
import {
  type CiphertextMessage,
  canonicalRatchetHeaderBytes,
  type SessionRecord,
  serializeSession,
  V2_LABELS,
  V2_MAX_SKIP,
  V2_MAX_SKIPPED_KEYS,
  V2_RECENT_DIGESTS,
} from '../../packages/crypto/src/v2/index.js';
import { hexTrace, makeParties, messageJson, runHandshake, seededProvider } from './v2-handshake.js';

type Party = 'alice' | 'bob';

/** One step of the scripted conversation. */
export type Step =
  | { readonly op: 'send'; readonly from: Party; readonly id: string }
  | { readonly op: 'deliver' | 'duplicate' | 'forge'; readonly id: string };

function send(from: Party, ...ids: string[]): Step[] {
  return ids.map((id) => ({ op: 'send', from, id }));
}

function deliver(...ids: string[]): Step[] {
  return ids.map((id) => ({ op: 'deliver', id }));
}

function range(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix}${i}`);
  return out;
}

/** The conversation. `a0` is the handshake's first message, already delivered. */
export const SCRIPT: readonly Step[] = [
  // Alice has no answer yet: her messages still carry the handshake (type "initial").
  ...send('alice', 'a1', 'a2', 'a3'),
  ...deliver('a2', 'a1'),
  // Bob answers; b2 is held back.
  ...send('bob', 'b0', 'b1', 'b2', 'b3'),
  ...deliver('b1', 'b0', 'b3'),
  // Alice's new chain; a3 (old chain, initial type) arrives late, after a5.
  ...send('alice', ...range('a', 4, 8)),
  ...deliver('a5', 'a3', 'a4', 'a6'),
  { op: 'duplicate', id: 'a6' },
  { op: 'forge', id: 'a7' },
  ...deliver('a8', 'a7'),
  // Bob's second chain; b2 from his first chain arrives last.
  ...send('bob', ...range('b', 4, 9)),
  ...deliver('b4', 'b5', 'b7', 'b6', 'b8', 'b9', 'b2'),
  // Ten rounds of strict alternation: a ratchet step on every message.
  ...Array.from({ length: 10 }, (_, i) => [
    ...send('alice', `a${9 + i}`),
    ...deliver(`a${9 + i}`),
    ...send('bob', `b${10 + i}`),
    ...deliver(`b${10 + i}`),
  ]).flat(),
  // A burst delivered in reverse order; a19 is never delivered.
  ...send('alice', ...range('a', 19, 29)),
  ...deliver(...range('a', 20, 29).reverse()),
  { op: 'duplicate', id: 'a20' },
  // Bob answers once more.
  ...send('bob', 'b20', 'b21'),
  ...deliver('b21', 'b20'),
];

function headerOf(m: CiphertextMessage) {
  return m.type === 'initial' ? m.message.message.header : m.message.header;
}

/** A copy of `m` whose last ciphertext byte (in the tag) is changed. */
export function forged(m: CiphertextMessage): CiphertextMessage {
  const rm = m.type === 'initial' ? m.message.message : m.message;
  const ciphertext = rm.ciphertext.slice();
  ciphertext[ciphertext.length - 1]! ^= 0x80;
  const copy = { header: rm.header, ciphertext };
  return m.type === 'initial'
    ? { type: 'initial', message: { ...m.message, message: copy } }
    : { type: 'ratchet', message: copy };
}

/** Decrypts with the internal record functions (same as `decryptRecord`, with a trace). */
export async function decryptTraced(
  p: CryptoProvider,
  record: SessionRecord,
  m: CiphertextMessage,
  trace?: Parameters<typeof decryptRatchetWithRecord>[3],
): Promise<{ record: SessionRecord; plaintext: Uint8Array }> {
  if (m.type === 'ratchet') return decryptRatchetWithRecord(p, record, m.message, trace);
  const out = await decryptInitialWithRecord(p, record, m.message, undefined, trace);
  if (out === undefined) throw new Error('initial message for an unknown session');
  return out;
}

export default {
  file: 'v2-ratchet.json',
  async generate() {
    const seed = 'cloister/test-vectors/v2-ratchet/conversation';
    const { p, rec } = seededProvider(seed);
    const parties = await makeParties(p, rec, { oneTimePreKey: true, lastResort: true });
    const hs = await runHandshake(p, rec, parties, utf8('a0: hello Bob'));
    const records: Record<Party, SessionRecord> = { alice: hs.aliceRecord, bob: hs.bobRecord };
    const start = {
      alice: toHex(serializeSession(records.alice)),
      bob: toHex(serializeSession(records.bob)),
    };
    const sent = new Map<string, { from: Party; message: CiphertextMessage; plaintext: Uint8Array }>();
    const events: unknown[] = [];
    let messages = 0;
    for (const step of SCRIPT) {
      rec.take();
      if (step.op === 'send') {
        const plaintext = utf8(`${step.id}: message from ${step.from}`);
        const trace: Record<string, string | number> = {};
        const record = records[step.from];
        const out = await encryptWithRecord(p, record.current!, record, plaintext, hexTrace(trace));
        if (rec.take().length !== 0) throw new Error('encrypting must not draw randomness');
        records[step.from] = out.record;
        sent.set(step.id, { from: step.from, message: out.message, plaintext });
        messages++;
        const h = headerOf(out.message);
        events.push({
          op: 'send',
          from: step.from,
          id: step.id,
          plaintext: toHex(plaintext),
          type: out.message.type,
          ratchetKey: toHex(h.ratchetKey),
          previousChainLength: h.previousChainLength,
          messageNumber: h.messageNumber,
          header: toHex(canonicalRatchetHeaderBytes(h)),
          ...trace,
          message: messageJson(out.message),
        });
        continue;
      }
      const s = sent.get(step.id)!;
      const to: Party = s.from === 'alice' ? 'bob' : 'alice';
      const message = step.op === 'forge' ? forged(s.message) : s.message;
      const trace: Record<string, string | number> = {};
      let result: Record<string, string>;
      try {
        const out = await decryptTraced(p, records[to], message, hexTrace(trace));
        records[to] = out.record;
        if (toHex(out.plaintext) !== toHex(s.plaintext)) throw new Error(`${step.id}: wrong plaintext`);
        result = { plaintext: toHex(out.plaintext) };
      } catch (e) {
        if (!(e instanceof CloisterError)) throw e;
        result = { error: e.code };
      }
      const expected =
        step.op === 'deliver'
          ? 'plaintext'
          : step.op === 'duplicate'
            ? 'ERR_REPLAY'
            : 'ERR_DECRYPTION_FAILED';
      if ((result.plaintext === undefined ? result.error : 'plaintext') !== expected) {
        throw new Error(`${step.op} ${step.id}: expected ${expected}, got ${JSON.stringify(result)}`);
      }
      const random = rec.take();
      events.push({
        op: step.op,
        to,
        id: step.id,
        ...(step.op === 'forge' ? { message: messageJson(message) } : {}),
        random: toHex(new Uint8Array(random.flatMap((r) => [...r]))),
        ...(result.error === undefined ? trace : {}),
        ...result,
      });
    }
    return {
      title: 'Cloister suite v2 Double Ratchet test vectors: one conversation',
      source: 'generated by scripts/vectors/v2-ratchet.ts; do not edit by hand',
      spec: 'spec/v2-sessions.md',
      randomness:
        'the handshake (as in v2-handshake.json, with a one-time X25519 prekey and the last-resort KEM prekey) and every later draw come from INSECURE_seededRandomForTestsOnly(ASCII(seed)) with the noble provider; each deliver event lists the bytes it drew',
      encoding:
        'byte strings are lower-case hex; ids and counters are numbers; messages are given field by field (their wire form is the protobuf of spec/wire.md)',
      seed,
      limits: { maxSkip: V2_MAX_SKIP, maxSkippedKeys: V2_MAX_SKIPPED_KEYS, recentDigests: V2_RECENT_DIGESTS },
      labels: V2_LABELS,
      messages: messages + 1,
      start,
      events,
      end: { alice: toHex(serializeSession(records.alice)), bob: toHex(serializeSession(records.bob)) },
    };
  },
};
