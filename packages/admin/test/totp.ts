/** RFC 6238 TOTP codes for tests (HMAC-SHA-1, 30-second steps, 6 digits), from an otpauth:// URI. */
import { createHmac } from 'node:crypto';

function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/=+$/, '').toUpperCase())
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code of the secret in `uri` for time step `step` (default: the current one, plus `offset`). */
export function totpCode(uri: string, offset = 0, now = Date.now()): string {
  const secret = new URL(uri).searchParams.get('secret');
  if (secret === null) throw new Error('no secret in the URI');
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 30_000) + offset));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const at = (mac[mac.length - 1] as number) & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fff_ffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}
