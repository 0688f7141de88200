/**
 * The broadcast composer's checks without React: the user ids typed into the users field, the
 * text's length in UTF-8 bytes, and why the text or the audience cannot be sent
 * (`spec/broadcast.md` §8: text 1..4096 bytes, 1..64 pools or users).
 *
 * @module
 */
import type { BroadcastTarget } from '@cloister/admin';

/** Longest broadcast text, UTF-8 bytes. */
export const MAX_TEXT_BYTES = 4096;
/** Most pools or users in an audience. */
export const MAX_AUDIENCE = 64;
/** How often the counts refresh while the screen is open, ms. */
export const REFRESH_MS = 5_000;

/** An identifier (`spec/organisation.md` §1): 1..128 of `A-Z a-z 0-9 . _ - : @ +`, no dot at either end. */
const ID = /^[A-Za-z0-9_\-:@+]([A-Za-z0-9._\-:@+]{0,126}[A-Za-z0-9_\-:@+])?$/;

/** The user ids typed into the users field (separated by commas, semicolons or white space; deduplicated). */
export function parseUsers(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter((u) => u !== ''))];
}

/** The text's length in UTF-8 bytes. */
export function textBytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Why the text cannot be sent (a key under `…broadcasts.`), or undefined. */
export function textProblemOf(text: string): 'text_empty' | 'text_long' | undefined {
  if (text.trim() === '') return 'text_empty';
  return textBytes(text) > MAX_TEXT_BYTES ? 'text_long' : undefined;
}

/** Why the audience cannot be sent to (a key under `…broadcasts.invalid.`), or undefined. */
export function audienceProblemOf(
  kind: BroadcastTarget['kind'],
  pools: readonly string[],
  users: readonly string[],
): 'pools_empty' | 'users_empty' | 'users_invalid' | 'too_many' | undefined {
  if (kind === 'pools') {
    if (pools.length === 0) return 'pools_empty';
    return pools.length > MAX_AUDIENCE ? 'too_many' : undefined;
  }
  if (kind === 'users') {
    if (users.length === 0) return 'users_empty';
    if (users.length > MAX_AUDIENCE) return 'too_many';
    return users.some((u) => !ID.test(u)) ? 'users_invalid' : undefined;
  }
  return undefined;
}
