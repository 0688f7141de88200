/**
 * Base64 and base64url without Node's `Buffer`, for code that runs in browsers too.
 *
 * @module
 */
import { DecodeError } from '@cloister/crypto';

/** Standard padded base64. */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** Unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes standard base64 (throws on characters outside the alphabet). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Decodes canonical unpadded base64url, or returns undefined. */
export function fromBase64Url(text: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = fromBase64(padded);
  } catch {
    return undefined;
  }
  return toBase64Url(out) === text ? out : undefined;
}

/** Decodes canonical unpadded base64url from the server, or throws `DecodeError` naming `field`. */
export function requireBase64Url(text: unknown, field = 'server.response'): Uint8Array<ArrayBuffer> {
  const out = fromBase64Url(text);
  if (out === undefined) throw new DecodeError(field, 'expected base64url');
  return out;
}
