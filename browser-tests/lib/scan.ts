/**
 * Searches a raw dump of the page's IndexedDB databases for plaintext: message texts (as strings,
 * UTF-8, UTF-16 and base64 at every alignment) and file bytes (32-byte windows every 4 KiB, raw,
 * hex and base64).
 *
 * @module
 */
import type { PageIndexedDbDump } from '../app/page-api.js';

/**
 * A piece of plaintext and what it is (for the failure message).
 *
 * @example
 * ```ts
 * const secret: Secret = { label: 'first text', value: 'the ward round moves to 14:30' };
 * ```
 */
export interface Secret {
  readonly label: string;
  /** The plaintext as the user saw it: a text, or a file's bytes. */
  readonly value: string | Uint8Array;
}

/**
 * One place a secret was found.
 *
 * @example
 * ```ts
 * const finding: Finding = { label: 'first text', how: 'utf-8 bytes' };
 * ```
 */
export interface Finding {
  readonly label: string;
  /** How it was found: `string`, `utf-8 bytes`, `file bytes at 4096`, ... */
  readonly how: string;
}

/** File windows: this many bytes, taken every {@link FILE_STEP} bytes. */
const FILE_WINDOW = 32;
const FILE_STEP = 4096;

/**
 * The base64 (and base64url) text that any base64 encoding containing `bytes` contains, whatever
 * the alignment of `bytes` in the encoded data: for each of the three alignments, the characters
 * that depend only on `bytes`.
 *
 * @example
 * ```ts
 * const needles = base64Needles(new TextEncoder().encode('a text of some length'));
 * ```
 */
export function base64Needles(bytes: Uint8Array): string[] {
  const needles: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const whole = Math.floor((bytes.length - shift) / 3) * 3;
    if (whole < 12) continue;
    const encoded = Buffer.from(bytes.subarray(shift, shift + whole)).toString('base64');
    needles.push(encoded, encoded.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return needles;
}

/** The byte patterns and text patterns that give `secret` away. */
function patterns(secret: Secret): { bytes: [string, Buffer][]; text: [string, string][] } {
  if (typeof secret.value === 'string') {
    const utf8 = Buffer.from(secret.value, 'utf8');
    return {
      bytes: [
        ['utf-8 bytes', utf8],
        ['utf-16 bytes', Buffer.from(secret.value, 'utf16le')],
      ],
      text: [['string', secret.value], ...base64Needles(utf8).map((n): [string, string] => ['base64', n])],
    };
  }
  const bytes: [string, Buffer][] = [];
  const text: [string, string][] = [];
  const file = secret.value;
  for (let at = 0; at + FILE_WINDOW <= file.length; at += FILE_STEP) {
    const window = Buffer.from(file.subarray(at, at + FILE_WINDOW));
    bytes.push([`file bytes at ${at}`, window]);
    text.push([`hex of file bytes at ${at}`, window.toString('hex')]);
    for (const needle of base64Needles(window)) text.push([`base64 of file bytes at ${at}`, needle]);
  }
  return { bytes, text };
}

/**
 * Every place where one of `secrets` occurs in `dump`: in a string, in a binary value, or as text
 * inside a binary value (JSON or base64 stored as bytes).
 *
 * @example
 * ```ts
 * const findings = findPlaintext(await call(page, 'dumpIndexedDb'), [{ label: 'text', value: 'hello there' }]);
 * ```
 */
export function findPlaintext(dump: PageIndexedDbDump, secrets: readonly Secret[]): Finding[] {
  const binaries = dump.binaries.map((b) => Buffer.from(b, 'base64'));
  const binaryText = binaries.map((b) => b.toString('latin1'));
  const findings: Finding[] = [];
  for (const secret of secrets) {
    const { bytes, text } = patterns(secret);
    const found = new Set<string>();
    for (const [how, pattern] of bytes) {
      if (binaries.some((b) => b.includes(pattern))) found.add(how);
    }
    for (const [how, pattern] of text) {
      if (dump.strings.some((s) => s.includes(pattern)) || binaryText.some((s) => s.includes(pattern))) {
        found.add(how);
      }
    }
    for (const how of found) findings.push({ label: secret.label, how });
  }
  return findings;
}
