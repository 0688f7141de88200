/**
 * Base64url without padding (what the CLI prints for keys and certificates).
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/** `bytes` as base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Base64url (or base64) `text` as bytes; `ValidationError` on `field` when it is not. */
export function fromBase64Url(text: string, field: string): Uint8Array {
  const clean = text.trim().replace(/=+$/, '');
  if (!/^[A-Za-z0-9_+/-]*$/.test(clean) || clean.length % 4 === 1)
    throw new ValidationError(field, 'base64url text');
  const binary = atob(clean.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
