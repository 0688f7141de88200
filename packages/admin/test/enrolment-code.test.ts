/** The enrolment code (contract: `<token>.<fingerprint digest>`, 87 characters) and its parser. */
import { createNobleProvider } from '@cloister/crypto';
import { generateOrganisationRoot, rootFingerprint } from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import { ENROLMENT_CODE_LENGTH, enrolmentCode, parseEnrolmentCode } from '../src/index.js';

const provider = createNobleProvider();
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same 43 characters with one of the two unused low bits of the last character set. */
function flipSpareBit(text: string): string {
  return text.slice(0, -1) + ALPHABET[ALPHABET.indexOf(text.at(-1) as string) ^ 1];
}

describe('enrolment codes', async () => {
  const root = await generateOrganisationRoot(provider);
  const fingerprint = await rootFingerprint(provider, root.publicKey);
  const token = Buffer.from(provider.randomBytes(32)).toString('base64url');

  it('joins the token and the digest of the fingerprint, and parses back', () => {
    const code = enrolmentCode(token, fingerprint);
    expect(code).toHaveLength(ENROLMENT_CODE_LENGTH);
    expect(code).toBe(`${token}.${fingerprint.slice('cloister-root:v1:'.length)}`);
    expect(parseEnrolmentCode(code)).toEqual({ token, rootFingerprint: fingerprint });
  });

  it('refuses bad input without repeating it', () => {
    const code = enrolmentCode(token, fingerprint);
    const bad = [
      '',
      token,
      `${code}x`,
      code.slice(0, -1),
      code.replace('.', '-'),
      `${code.slice(0, 10)}+${code.slice(11)}`,
      `${code.slice(0, 10)}=${code.slice(11)}`,
      `${code.slice(0, 44)}${'/'.repeat(43)}`,
      // Non-canonical base64url: a spare bit of the last character of the token, then of the digest.
      `${flipSpareBit(token)}.${code.slice(44)}`,
      `${token}.${flipSpareBit(code.slice(44))}`,
      `cloister-root:v1:${code.slice(44)}`,
      42 as unknown as string,
    ];
    for (const input of bad) {
      let error: unknown;
      try {
        parseEnrolmentCode(input);
      } catch (e) {
        error = e;
      }
      expect(error, String(input)).toMatchObject({ code: 'ERR_VALIDATION', field: 'enrolmentCode' });
      if (typeof input === 'string' && input.length > 0)
        expect(String((error as Error).message)).not.toContain(input);
    }
    expect(() => enrolmentCode('short', fingerprint)).toThrow(/token/);
    expect(() => enrolmentCode(token, 'cloister-root:v2:abc')).toThrow(/fingerprint/);
  });
});
