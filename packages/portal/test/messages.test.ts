/**
 * The portal's messages: every area's and the shell's English and German messages have the same
 * keys, no German message is empty or left in English where the English one is a sentence, and
 * the German react-admin messages (`src/i18n/ra-de.ts`) cover every key of ra-language-english
 * (and no other). Also the language choice from `navigator.languages`.
 */
import englishMessages from 'ra-language-english';
import { describe, expect, it } from 'vitest';
import { AREAS } from '../src/areas/index.js';
import { localeFromLanguages, mergeMessages, portalMessages } from '../src/i18n/index.js';
import { raGerman } from '../src/i18n/ra-de.js';
import { SHELL_MESSAGES } from '../src/i18n/shell-messages.js';

type Tree = { readonly [key: string]: unknown };

/** Every leaf key of `tree`, dotted, sorted. */
function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree)
    .flatMap(([key, value]) =>
      typeof value === 'object' && value !== null
        ? keys(value as Tree, `${prefix}${key}.`)
        : [`${prefix}${key}`],
    )
    .sort();
}

/** Every leaf of `tree` with its dotted key. */
function leaves(tree: Tree, prefix = ''): [string, unknown][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null
      ? leaves(value as Tree, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value]],
  );
}

/** The `%{name}` placeholders of a message. */
function placeholders(text: unknown): string[] {
  return typeof text === 'string' ? [...text.matchAll(/%\{(\w+)\}/g)].map((m) => m[1]!).sort() : [];
}

const groups: [string, { en: Tree; de: Tree }][] = [
  ['shell', SHELL_MESSAGES],
  ...AREAS.map((area) => [area.id, area.messages] as [string, { en: Tree; de: Tree }]),
];

describe('portal messages', () => {
  for (const [name, messages] of groups) {
    it(`${name}: English and German have the same keys, placeholders and no empty message`, () => {
      expect(keys(messages.de)).toEqual(keys(messages.en));
      const de = new Map(leaves(messages.de));
      for (const [key, value] of leaves(messages.en)) {
        expect(typeof value, `${name} en ${key}`).toBe('string');
        expect((value as string).trim(), `${name} en ${key}`).not.toBe('');
        const german = de.get(key);
        expect(typeof german, `${name} de ${key}`).toBe('string');
        expect((german as string).trim(), `${name} de ${key}`).not.toBe('');
        expect(placeholders(german), `${name} de ${key} placeholders`).toEqual(placeholders(value));
      }
    });
  }

  it('no two groups define the same message key', () => {
    const seen = new Map<string, string>();
    for (const [name, messages] of groups) {
      for (const key of keys(messages.en)) {
        expect(seen.get(key), `${key} in ${name} and ${seen.get(key)}`).toBeUndefined();
        seen.set(key, name);
      }
    }
  });

  it('the German react-admin messages cover exactly the keys of ra-language-english, with the same placeholders', () => {
    const english = englishMessages as unknown as Tree;
    expect(keys(raGerman as Tree)).toEqual(keys(english));
    const de = new Map(leaves(raGerman as Tree));
    let translated = 0;
    for (const [key, value] of leaves(english)) {
      expect(placeholders(de.get(key)), key).toEqual(placeholders(value));
      if (de.get(key) !== value) translated += 1;
    }
    // Only the placeholder-only and blank messages may read the same in both languages.
    expect(translated).toBeGreaterThan(leaves(english).length - 6);
  });

  it('the merged messages keep every key of every group in both languages', () => {
    const merged = portalMessages(AREAS.map((a) => a.messages));
    const en = new Set(keys(merged.en));
    const de = new Set(keys(merged.de));
    for (const [name, messages] of groups) {
      for (const key of keys(messages.en)) expect(en.has(key), `${name} en ${key}`).toBe(true);
      for (const key of keys(messages.de)) expect(de.has(key), `${name} de ${key}`).toBe(true);
    }
    expect(keys(merged.de)).toEqual(keys(merged.en));
  });

  it('mergeMessages merges nested trees and lets later leaves win', () => {
    expect(mergeMessages({ a: { b: '1', c: '2' } }, { a: { c: '3' }, d: '4' })).toEqual({
      a: { b: '1', c: '3' },
      d: '4',
    });
  });

  it('chooses German for de* browser languages and English otherwise', () => {
    expect(localeFromLanguages(['de-DE', 'en'])).toBe('de');
    expect(localeFromLanguages(['de'])).toBe('de');
    expect(localeFromLanguages(['DE-at'])).toBe('de');
    expect(localeFromLanguages(['en-GB', 'de'])).toBe('en');
    expect(localeFromLanguages(['fr'])).toBe('en');
    expect(localeFromLanguages(['dev'])).toBe('en');
    expect(localeFromLanguages([])).toBe('en');
  });
});
