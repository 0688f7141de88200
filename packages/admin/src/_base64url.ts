/**
 * base64url without padding (RFC 4648 §5), the encoding of byte strings in the admin API's JSON,
 * over `btoa`/`atob` so that it runs in Node and in browsers alike.
 *
 * @module
 * @internal
 */
import { ValidationError } from '@cloister/crypto';

/** @internal The base64url (no padding) of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * @internal Decodes canonical base64url without padding; anything else (padding, other
 * characters, non-zero spare bits) is a `ValidationError` naming `field`.
 */
export function fromBase64Url(text: string, field: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new ValidationError(field, 'base64url without padding');
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (toBase64Url(bytes) !== text) throw new ValidationError(field, 'canonical base64url without padding');
  return bytes;
}
