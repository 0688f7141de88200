/**
 * `provider.hmacSha512`, the PRF of the v2 chain and message keys (spec/v2-sessions.md section
 * 6.1), under every provider: RFC 4231 test cases, parts versus one array, the empty key, and the
 * argument checks (ERR_VALIDATION naming the field).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import { rejection } from './vectors-load.js';

/** RFC 4231 sections 4.2, 4.3 and 4.7 (test cases 1, 2 and 6), HMAC-SHA-512 rows. */
const RFC4231 = [
  {
    name: 'RFC 4231 test case 1',
    key: '0b'.repeat(20),
    data: toHex(utf8('Hi There')),
    mac:
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde' +
      'daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    name: 'RFC 4231 test case 2',
    key: toHex(utf8('Jefe')),
    data: toHex(utf8('what do ya want for nothing?')),
    mac:
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554' +
      '9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    name: 'RFC 4231 test case 6 (key longer than the block)',
    key: 'aa'.repeat(131),
    data: toHex(utf8('Test Using Larger Than Block-Size Key - Hash Key First')),
    mac:
      '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352' +
      '6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
];

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('hmacSha512 under %s', (_name, provider) => {
  it('reproduces RFC 4231 test cases 1, 2 and 6, whole and in parts', async () => {
    for (const c of RFC4231) {
      const data = fromHex(c.data);
      const mac = await provider.hmacSha512(fromHex(c.key), data);
      expect(toHex(mac), c.name).toBe(c.mac);
      const half = data.length >> 1;
      const parts = await provider.hmacSha512(fromHex(c.key), [data.subarray(0, half), data.subarray(half)]);
      expect(toHex(parts), `${c.name} (two parts)`).toBe(c.mac);
    }
  });

  it('agrees with OpenSSL on the empty key, empty data and the v2 label lengths', async () => {
    const label = utf8('cloister/v2/ratchet/chain');
    const cases: [string, Uint8Array, Uint8Array[]][] = [
      ['empty key', new Uint8Array(0), [utf8('abc')]],
      ['empty data', new Uint8Array(32).fill(7), []],
      ['chain key and label', new Uint8Array(32).fill(9), [label]],
      ['three parts', new Uint8Array(32).fill(1), [label, new Uint8Array(0), Uint8Array.of(1, 2, 3)]],
    ];
    for (const [name, key, parts] of cases) {
      const expected = createHmac('sha512', key)
        .update(concatBytes(...parts))
        .digest('hex');
      expect(toHex(await provider.hmacSha512(key, parts)), name).toBe(expected);
    }
  });

  it('names the field of a bad argument (ERR_VALIDATION)', async () => {
    const hostile = (v: unknown) => v as Uint8Array;
    const rows: [string, string, () => Promise<unknown>][] = [
      ['key a string', 'hmacSha512.key', () => provider.hmacSha512(hostile('k'), new Uint8Array(1))],
      ['key null', 'hmacSha512.key', () => provider.hmacSha512(hostile(null), new Uint8Array(1))],
      ['data a string', 'hmacSha512.data', () => provider.hmacSha512(new Uint8Array(1), hostile('x'))],
      [
        'data[1] a number array',
        'hmacSha512.data[1]',
        () => provider.hmacSha512(new Uint8Array(1), [new Uint8Array(1), hostile([1, 2])]),
      ],
    ];
    for (const [name, field, call] of rows) {
      const e = await rejection(call);
      expect(e.code, name).toBe('ERR_VALIDATION');
      expect(e.message, name).toContain(field);
    }
  });
});
