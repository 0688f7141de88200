/**
 * The portal's i18n provider: react-admin's messages (`ra-language-english`, and the German ones
 * in `ra-de.ts`), the shell's and every area's, merged per language; the language from
 * `navigator.languages` (`de…` → German, else English) unless one was chosen before (kept in
 * `localStorage`). `spec/portal.md` §3.
 *
 * @module
 */
import polyglotI18nProvider from 'ra-i18n-polyglot';
import englishMessages from 'ra-language-english';
import type { I18nProvider, TranslationMessages } from 'react-admin';
import type { AreaMessages } from '../areas/area.js';
import { raGerman } from './ra-de.js';
import { SHELL_MESSAGES } from './shell-messages.js';

/** The languages of the portal. */
export type PortalLocale = 'en' | 'de';

/** The `localStorage` key of the chosen language. */
export const LOCALE_STORAGE_KEY = 'cloister-portal-locale';

type Tree = { [key: string]: unknown };

/** Deep merge of message trees (later wins for leaves). */
export function mergeMessages(...trees: readonly Tree[]): Tree {
  const out: Tree = {};
  for (const tree of trees) {
    for (const [key, value] of Object.entries(tree)) {
      const existing = out[key];
      if (typeof value === 'object' && value !== null && typeof existing === 'object' && existing !== null) {
        out[key] = mergeMessages(existing as Tree, value as Tree);
      } else if (typeof value === 'object' && value !== null) {
        out[key] = mergeMessages(value as Tree);
      } else {
        out[key] = value;
      }
    }
  }
  return out;
}

/** The language for `languages` (as `navigator.languages`): German for `de…`, else English. */
export function localeFromLanguages(languages: readonly string[]): PortalLocale {
  const first = languages[0]?.toLowerCase() ?? 'en';
  return first === 'de' || first.startsWith('de-') ? 'de' : 'en';
}

/** The language to start with: the one chosen before, else the browser's. */
export function initialLocale(): PortalLocale {
  try {
    const chosen = globalThis.localStorage?.getItem(LOCALE_STORAGE_KEY);
    if (chosen === 'en' || chosen === 'de') return chosen;
  } catch {
    // storage unavailable: the browser's language
  }
  const languages = globalThis.navigator?.languages ?? [globalThis.navigator?.language ?? 'en'];
  return localeFromLanguages(languages);
}

/** Remembers the chosen language and sets `<html lang>`. */
export function applyLocale(locale: string): void {
  try {
    globalThis.localStorage?.setItem(LOCALE_STORAGE_KEY, locale);
  } catch {
    // storage unavailable: the choice lasts for this page
  }
  if (typeof document !== 'undefined') document.documentElement.lang = locale;
}

/** All messages per language: react-admin's, the shell's, the areas'. */
export function portalMessages(areas: readonly AreaMessages[]): Record<PortalLocale, Tree> {
  return {
    en: mergeMessages(englishMessages as Tree, SHELL_MESSAGES.en, ...areas.map((a) => a.en)),
    de: mergeMessages(raGerman as Tree, SHELL_MESSAGES.de, ...areas.map((a) => a.de)),
  };
}

/** The i18n provider over {@link portalMessages}. */
export function createI18nProvider(areas: readonly AreaMessages[]): I18nProvider {
  const messages = portalMessages(areas);
  const start = initialLocale();
  if (typeof document !== 'undefined') document.documentElement.lang = start;
  return polyglotI18nProvider(
    (locale) => messages[locale === 'de' ? 'de' : 'en'] as TranslationMessages,
    start,
    [
      { locale: 'en', name: 'English' },
      { locale: 'de', name: 'Deutsch' },
    ],
  );
}
