/**
 * The managed app configuration (MDM / EMM, requirement R24; `spec/managed-config.md`): the keys
 * an organisation's device management pushes to the app (server URL and key pin, organisation
 * root fingerprint, a managed enrolment token, tenant, user hint and policy overrides that may
 * only narrow the signed policy), the parser the client runs on what the platform hands over,
 * the value documents an administrator pastes into an MDM console (a plist dictionary and an
 * Android managed-configuration XML), and the generators of the two schema files apps ship:
 * AppConfig `specfile.xml` (iOS consoles) and Android `app_restrictions.xml`.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import type { NotificationPreview } from './organisation/restrictions.js';
import { ROOT_FINGERPRINT_PREFIX, parseRootFingerprint } from './organisation/root.js';

/**
 * The version of the managed-configuration key set this code reads and writes (`configVersion`).
 *
 * @example
 * ```ts
 * console.log(MANAGED_CONFIG_VERSION); // 1
 * ```
 */
export const MANAGED_CONFIG_VERSION = 1;

/**
 * The type of a managed-configuration key as MDM consoles know it.
 *
 * @example
 * ```ts
 * const type: ManagedConfigKeyType = 'boolean';
 * ```
 */
export type ManagedConfigKeyType = 'string' | 'integer' | 'boolean';

/**
 * One key of the managed configuration.
 *
 * @example
 * ```ts
 * const url: ManagedConfigKey | undefined = MANAGED_CONFIG_KEYS.find((k) => k.key === 'serverUrl');
 * console.log(url?.type, url?.required); // string true
 * ```
 */
export interface ManagedConfigKey {
  /** The key name, as the MDM console and the platform (NSUserDefaults, Android Bundle) carry it. */
  readonly key: string;
  /** The value's type. */
  readonly type: ManagedConfigKeyType;
  /** Whether the configuration is refused without it. */
  readonly required: boolean;
  /** A secret: never shown, logged or echoed in an error (the enrolment token and code). */
  readonly sensitive: boolean;
  /** The console's title, in English and German. */
  readonly title: { readonly en: string; readonly de: string };
  /** What the value is, for the console's help text (English). */
  readonly description: string;
  /** A regular expression a string value must match (anchored). */
  readonly pattern?: string;
  /** The values a string key may take, for choices. */
  readonly values?: readonly string[];
  /** Bounds of an integer key. */
  readonly min?: number;
  /** Bounds of an integer key. */
  readonly max?: number;
  /** The value the console proposes (and the app assumes when absent). */
  readonly defaultValue?: string | number | boolean;
  /** For a policy override: the restriction (`spec/restrictions.md` §1) it narrows. */
  readonly restriction?: ManagedOverrideName;
}

/**
 * The restrictions a managed configuration may narrow (never widen) on the device: the ones the
 * app enforces (`spec/restrictions.md` §1); what the SDK enforces follows the signed policy only.
 *
 * @example
 * ```ts
 * const name: ManagedOverrideName = 'screenshots';
 * ```
 */
export type ManagedOverrideName = 'screenshots' | 'clipboard.copy' | 'notifications.preview';

const BOOLEAN_OVERRIDE =
  ' Only `false` has an effect: it turns the feature off on this device even where the signed policy allows it; ' +
  '`true` (or absent) leaves the signed policy as it is and never allows what the policy forbids.';

/**
 * Every managed-configuration key, in the order the generated files list them.
 *
 * @example
 * ```ts
 * for (const k of MANAGED_CONFIG_KEYS) console.log(k.key, k.type, k.required ? 'required' : 'optional');
 * ```
 */
export const MANAGED_CONFIG_KEYS: readonly ManagedConfigKey[] = Object.freeze([
  {
    key: 'configVersion',
    type: 'integer',
    required: false,
    sensitive: false,
    title: { en: 'Configuration version', de: 'Konfigurationsversion' },
    description: 'The version of this key set; 1 (the default).',
    min: 1,
    max: 1,
    defaultValue: MANAGED_CONFIG_VERSION,
  },
  {
    key: 'serverUrl',
    type: 'string',
    required: true,
    sensitive: false,
    title: { en: 'Server URL', de: 'Server-URL' },
    description: "The Cloister server's base URL, https://host[:port].",
    pattern: '^https://[^\\s/?#]+/?$',
  },
  {
    key: 'serverPin',
    type: 'string',
    required: true,
    sensitive: false,
    title: { en: 'Server key pin', de: 'Server-Schlüssel-Pin' },
    description:
      "The server's public-key pin, sha256/<base64 of 32 bytes> (what the server prints at start).",
    pattern: '^sha256/[A-Za-z0-9+/]{43}=$',
  },
  {
    key: 'organisationRoot',
    type: 'string',
    required: true,
    sensitive: false,
    title: { en: 'Organisation root fingerprint', de: 'Fingerabdruck der Organisationswurzel' },
    description:
      "The organisation root's fingerprint, cloister-root:v1:<43 base64url characters>; the device pins it at enrolment.",
    pattern: '^cloister-root:v1:[A-Za-z0-9_-]{43}$',
  },
  {
    key: 'enrolmentToken',
    type: 'string',
    required: false,
    sensitive: true,
    title: { en: 'Enrolment token', de: 'Registrierungstoken' },
    description:
      'A managed enrolment token (43 base64url characters, single-use, expires within hours). Give this or enrolmentCode.',
    pattern: '^[A-Za-z0-9_-]{43}$',
  },
  {
    key: 'enrolmentCode',
    type: 'string',
    required: false,
    sensitive: true,
    title: { en: 'Enrolment code', de: 'Registrierungscode' },
    description:
      'The enrolment code <token>.<root digest> (87 characters) instead of enrolmentToken; its digest must name organisationRoot.',
    pattern: '^[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}$',
  },
  {
    key: 'tenant',
    type: 'string',
    required: true,
    sensitive: false,
    title: { en: 'Tenant', de: 'Mandant' },
    description: 'The tenant (organisation) id the device enrols into.',
    pattern: '^[A-Za-z0-9._:@+-]{1,128}$',
  },
  {
    key: 'userHint',
    type: 'string',
    required: false,
    sensitive: false,
    title: { en: 'User', de: 'Benutzer' },
    description: 'The user id the token was issued for (shown while enrolling; the token decides).',
    pattern: '^[A-Za-z0-9._:@+-]{1,128}$',
  },
  {
    key: 'screenshots',
    type: 'boolean',
    required: false,
    sensitive: false,
    title: { en: 'Allow screenshots', de: 'Bildschirmfotos erlauben' },
    description: `Screenshots and screen recording of the app's windows.${BOOLEAN_OVERRIDE}`,
    defaultValue: true,
    restriction: 'screenshots',
  },
  {
    key: 'clipboardCopy',
    type: 'boolean',
    required: false,
    sensitive: false,
    title: { en: 'Allow copying text', de: 'Kopieren von Text erlauben' },
    description: `Copying text out of a conversation.${BOOLEAN_OVERRIDE}`,
    defaultValue: true,
    restriction: 'clipboard.copy',
  },
  {
    key: 'notificationPreview',
    type: 'string',
    required: false,
    sensitive: false,
    title: { en: 'Notification preview', de: 'Benachrichtigungsvorschau' },
    description:
      'How much a notification may show at most: none, sender or full. The lower of this and the signed policy applies; full (or absent) leaves the policy as it is.',
    values: ['none', 'sender', 'full'],
    defaultValue: 'full',
    restriction: 'notifications.preview',
  },
] satisfies ManagedConfigKey[]);

/**
 * Narrowing policy overrides from a managed configuration: only the values that restrict.
 *
 * @example
 * ```ts
 * const overrides: ManagedPolicyOverrides = { screenshots: false, 'notifications.preview': 'sender' };
 * ```
 */
export interface ManagedPolicyOverrides {
  /** `false`: no screenshots on this device. */
  readonly screenshots?: false;
  /** `false`: no copying text out of conversations. */
  readonly 'clipboard.copy'?: false;
  /** The most a notification may show. */
  readonly 'notifications.preview'?: Exclude<NotificationPreview, 'full'>;
}

/**
 * A parsed, checked managed configuration ({@link parseManagedConfig}).
 *
 * @example
 * ```ts
 * const config: ManagedConfig = parseManagedConfig(deliveredConfig); // what the platform handed over
 * console.log(config.serverUrl, config.tenant);
 * ```
 */
export interface ManagedConfig {
  /** The key set's version ({@link MANAGED_CONFIG_VERSION}). */
  readonly configVersion: typeof MANAGED_CONFIG_VERSION;
  /** The server's base URL (`https://…`). */
  readonly serverUrl: string;
  /** The server's key pin, `sha256/<base64>`. */
  readonly serverPin: string;
  /** The organisation root's fingerprint, `cloister-root:v1:…`. */
  readonly organisationRoot: string;
  /** The enrolment token (43 characters; from `enrolmentCode` when that was given): a secret. */
  readonly enrolmentToken: string;
  /** The tenant id. */
  readonly tenant: string;
  /** The user id the token was issued for, when given. */
  readonly userHint?: string;
  /** The narrowing overrides (empty when none restricts). */
  readonly policy: ManagedPolicyOverrides;
}

/**
 * The flat key-value form of a managed configuration: what an MDM console sets and the platform
 * delivers (see {@link MANAGED_CONFIG_KEYS}).
 *
 * @example
 * ```ts
 * const values: ManagedConfigValues = {
 *   configVersion: 1,
 *   serverUrl: 'https://relay.example:8443',
 *   serverPin: 'sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
 *   organisationRoot: pinnedFingerprint,
 *   enrolmentToken,
 *   tenant: 'acme',
 * };
 * ```
 */
export interface ManagedConfigValues {
  /** {@link MANAGED_CONFIG_VERSION}. */
  readonly configVersion?: number;
  /** The server's base URL. */
  readonly serverUrl: string;
  /** The server's key pin. */
  readonly serverPin: string;
  /** The organisation root's fingerprint. */
  readonly organisationRoot: string;
  /** The enrolment token (a secret). */
  readonly enrolmentToken?: string;
  /** The enrolment code instead of the token (a secret). */
  readonly enrolmentCode?: string;
  /** The tenant id. */
  readonly tenant: string;
  /** The user id. */
  readonly userHint?: string;
  /** Override of `screenshots`. */
  readonly screenshots?: boolean;
  /** Override of `clipboard.copy`. */
  readonly clipboardCopy?: boolean;
  /** Override of `notifications.preview`. */
  readonly notificationPreview?: NotificationPreview;
}

const KEY_BY_NAME: ReadonlyMap<string, ManagedConfigKey> = new Map(
  MANAGED_CONFIG_KEYS.map((k) => [k.key, k]),
);

function expected(k: ManagedConfigKey): string {
  if (k.values !== undefined) return `one of ${k.values.join(', ')}`;
  if (k.type === 'boolean') return 'a boolean';
  if (k.type === 'integer') return `an integer in [${k.min}, ${k.max}]`;
  return k.description.split('.')[0] ?? 'a string';
}

/** Reads one key; `undefined` when absent. Errors name the key and never the value. */
function readKey(input: Record<string, unknown>, name: string): string | number | boolean | undefined {
  const k = KEY_BY_NAME.get(name) as ManagedConfigKey;
  const raw = input[name];
  if (raw === undefined || raw === null || raw === '') {
    if (k.required) throw new ValidationError(name, `${expected(k)} (required)`);
    return undefined;
  }
  if (k.type === 'boolean') {
    // Some consoles deliver every value as text.
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    throw new ValidationError(name, expected(k));
  }
  if (k.type === 'integer') {
    const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < (k.min ?? 0) || n > (k.max ?? n)) {
      throw new ValidationError(name, expected(k));
    }
    return n;
  }
  if (typeof raw !== 'string' || raw.length > 2048) throw new ValidationError(name, expected(k));
  if (k.values !== undefined && !k.values.includes(raw)) throw new ValidationError(name, expected(k));
  if (k.pattern !== undefined && !new RegExp(k.pattern).test(raw))
    throw new ValidationError(name, expected(k));
  return raw;
}

function checkServerUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError('serverUrl', 'an https URL');
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.pathname !== '/') {
    throw new ValidationError('serverUrl', 'an https URL of a server (no path, query or credentials)');
  }
  return u.origin;
}

/**
 * Parses and checks a managed configuration as the platform delivers it (a plain object from
 * `NSUserDefaults` `com.apple.configuration.managed` or Android's application restrictions).
 * Unknown keys are ignored (consoles add their own); text forms of booleans and integers are
 * accepted. Exactly one of `enrolmentToken` and `enrolmentCode`; a code's root digest must name
 * `organisationRoot`. A bad value is a `ValidationError` whose `field` is the key and whose
 * message never contains the value.
 *
 * @example
 * ```ts
 * import { ValidationError } from '@cloister/crypto';
 * try {
 *   const config = parseManagedConfig(deliveredConfig);
 *   console.log(config.tenant, config.policy);
 * } catch (e) {
 *   if (e instanceof ValidationError) console.warn(`managed configuration: bad ${e.field}`);
 * }
 * ```
 */
export function parseManagedConfig(input: unknown): ManagedConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('managedConfig', 'an object of managed-configuration keys');
  }
  const o = input as Record<string, unknown>;
  const version = readKey(o, 'configVersion');
  const serverUrl = checkServerUrl(readKey(o, 'serverUrl') as string);
  const serverPin = readKey(o, 'serverPin') as string;
  const organisationRoot = readKey(o, 'organisationRoot') as string;
  try {
    parseRootFingerprint(organisationRoot);
  } catch {
    throw new ValidationError('organisationRoot', 'a root fingerprint cloister-root:v1:…');
  }
  const token = readKey(o, 'enrolmentToken') as string | undefined;
  const code = readKey(o, 'enrolmentCode') as string | undefined;
  if ((token === undefined) === (code === undefined)) {
    throw new ValidationError('enrolmentToken', 'exactly one of enrolmentToken and enrolmentCode');
  }
  let enrolmentToken = token as string;
  if (code !== undefined) {
    const [t, digest] = code.split('.') as [string, string];
    if (ROOT_FINGERPRINT_PREFIX + digest !== organisationRoot) {
      throw new ValidationError('enrolmentCode', 'a code whose root digest names organisationRoot');
    }
    enrolmentToken = t;
  }
  const tenant = readKey(o, 'tenant') as string;
  const userHint = readKey(o, 'userHint') as string | undefined;
  const policy: {
    -readonly [N in keyof ManagedPolicyOverrides]: ManagedPolicyOverrides[N];
  } = {};
  for (const k of MANAGED_CONFIG_KEYS) {
    if (k.restriction === undefined) continue;
    const v = readKey(o, k.key);
    if (k.restriction === 'notifications.preview') {
      if (v === 'none' || v === 'sender') policy[k.restriction] = v;
    } else if (v === false) {
      policy[k.restriction] = false;
    }
  }
  return {
    configVersion: (version ?? MANAGED_CONFIG_VERSION) as typeof MANAGED_CONFIG_VERSION,
    serverUrl,
    serverPin,
    organisationRoot,
    enrolmentToken,
    tenant,
    ...(userHint === undefined ? {} : { userHint }),
    policy: Object.freeze(policy),
  };
}

/**
 * Builds the flat key-value form of a managed configuration from its parts, checked by
 * {@link parseManagedConfig} (so a configuration it returns is one the client accepts).
 *
 * @example
 * ```ts
 * const values = managedConfigValues({
 *   serverUrl: 'https://relay.example:8443',
 *   serverPin: 'sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
 *   organisationRoot: pinnedFingerprint,
 *   enrolmentToken,
 *   tenant: 'acme',
 *   userHint: 'alice',
 * });
 * ```
 */
export function managedConfigValues(
  parts: Omit<ManagedConfigValues, 'configVersion' | 'enrolmentCode'> & { readonly enrolmentToken: string },
): ManagedConfigValues {
  const values: ManagedConfigValues = { configVersion: MANAGED_CONFIG_VERSION, ...parts };
  parseManagedConfig(values);
  return values;
}

const PREVIEW_ORDER: readonly NotificationPreview[] = ['none', 'sender', 'full'];

/**
 * Applies a managed configuration's overrides to restriction values: each can only turn a
 * feature off or lower the notification preview, never allow what `values` forbids.
 *
 * @example
 * ```ts
 * import { RESTRICTION_DEFAULTS } from '@cloister/protocol';
 * const local = narrowByManagedOverrides(RESTRICTION_DEFAULTS, { screenshots: false });
 * console.log(local.screenshots); // false
 * ```
 */
export function narrowByManagedOverrides<
  V extends {
    readonly screenshots: boolean;
    readonly 'clipboard.copy': boolean;
    readonly 'notifications.preview': NotificationPreview;
  },
>(values: V, overrides: ManagedPolicyOverrides): V {
  const out: Record<string, unknown> = { ...values };
  for (const name of ['screenshots', 'clipboard.copy'] as const) {
    if (overrides[name] === false) out[name] = false;
  }
  const preview = overrides['notifications.preview'];
  if (
    preview !== undefined &&
    PREVIEW_ORDER.indexOf(preview) < PREVIEW_ORDER.indexOf(values['notifications.preview'])
  ) {
    out['notifications.preview'] = preview;
  }
  return out as V;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function present(values: ManagedConfigValues): [ManagedConfigKey, string | number | boolean][] {
  const out: [ManagedConfigKey, string | number | boolean][] = [];
  for (const k of MANAGED_CONFIG_KEYS) {
    const v = (values as unknown as Record<string, unknown>)[k.key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push([k, v]);
  }
  return out;
}

/**
 * A managed configuration as an XML property-list dictionary (what iOS consoles such as Jamf,
 * Intune and Workspace ONE accept as "app configuration" for a managed app). Contains the
 * enrolment token: a secret.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('alice.plist', managedConfigPlist(deliveredConfig as unknown as ManagedConfigValues), { mode: 0o600 });
 * ```
 */
export function managedConfigPlist(values: ManagedConfigValues): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
  ];
  for (const [k, v] of present(values)) {
    lines.push(`  <key>${xml(k.key)}</key>`);
    if (k.type === 'boolean') lines.push(v === true ? '  <true/>' : '  <false/>');
    else if (k.type === 'integer') lines.push(`  <integer>${Number(v)}</integer>`);
    else lines.push(`  <string>${xml(String(v))}</string>`);
  }
  lines.push('</dict>', '</plist>', '');
  return lines.join('\n');
}

/**
 * A managed configuration as an Android `restrictions` document: the schema of
 * {@link androidAppRestrictions} with each key that has a value carrying it as
 * `android:defaultValue`, for EMM consoles that import the app's restrictions XML with values.
 * Contains the enrolment token: a secret.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('alice.xml', managedConfigAndroidXml(deliveredConfig as unknown as ManagedConfigValues), { mode: 0o600 });
 * ```
 */
export function managedConfigAndroidXml(values: ManagedConfigValues): string {
  return restrictionsXml(
    present(values).map(([k, v]) => [k, String(v)]),
    undefined,
  );
}

function restrictionsXml(
  entries: readonly (readonly [ManagedConfigKey, string | undefined])[],
  comment?: string,
) {
  const lines = ['<?xml version="1.0" encoding="utf-8"?>'];
  if (comment !== undefined) lines.push(`<!-- ${comment} -->`);
  lines.push('<restrictions xmlns:android="http://schemas.android.com/apk/res/android">');
  for (const [k, value] of entries) {
    const type = k.type === 'boolean' ? 'bool' : k.type;
    lines.push('  <restriction');
    lines.push(`    android:key="${xml(k.key)}"`);
    lines.push(`    android:restrictionType="${type}"`);
    lines.push(`    android:title="${xml(k.title.en)}"`);
    lines.push(`    android:description="${xml(k.description)}"`);
    if (value !== undefined) lines.push(`    android:defaultValue="${xml(value)}"`);
    lines[lines.length - 1] += ' />';
  }
  lines.push('</restrictions>', '');
  return lines.join('\n');
}

/**
 * The AppConfig (appconfig.org) `specfile.xml` for the managed configuration, which iOS consoles
 * (Workspace ONE, Jamf, Intune) import to offer the keys. `bundleId` is the app's.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('specfile.xml', appConfigSpecfile('com.example.ward'));
 * ```
 */
export function appConfigSpecfile(bundleId = 'com.example.cloister'): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Generated by packages/protocol/scripts/generate.ts from src/managed-config.ts. DO NOT EDIT. -->',
    '<managedAppConfiguration>',
    `  <version>${MANAGED_CONFIG_VERSION}</version>`,
    `  <bundleId>${xml(bundleId)}</bundleId>`,
    '  <dict>',
  ];
  for (const k of MANAGED_CONFIG_KEYS) {
    lines.push(`    <${k.type} keyName="${xml(k.key)}">`);
    if (k.defaultValue !== undefined) {
      lines.push(`      <defaultValue><value>${xml(String(k.defaultValue))}</value></defaultValue>`);
    }
    const attrs = [`nullable="${k.required ? 'false' : 'true'}"`];
    if (k.min !== undefined) attrs.push(`min="${k.min}"`);
    if (k.max !== undefined) attrs.push(`max="${k.max}"`);
    if (k.pattern !== undefined) attrs.push(`pattern="${xml(k.pattern)}"`);
    if (k.values === undefined) {
      lines.push(`      <constraint ${attrs.join(' ')}/>`);
    } else {
      lines.push(`      <constraint ${attrs.join(' ')}>`, '        <values>');
      for (const v of k.values) lines.push(`          <value>${xml(v)}</value>`);
      lines.push('        </values>', '      </constraint>');
    }
    lines.push(`    </${k.type}>`);
  }
  lines.push('  </dict>', '  <presentation defaultLocale="en-US">', '    <fieldGroup>');
  lines.push(
    '      <name><language value="en-US">Cloister</language><language value="de-DE">Cloister</language></name>',
  );
  for (const k of MANAGED_CONFIG_KEYS) {
    const type = k.type === 'boolean' ? 'checkbox' : k.values !== undefined ? 'select' : 'input';
    lines.push(`      <field keyName="${xml(k.key)}" type="${type}">`);
    lines.push(
      `        <label><language value="en-US">${xml(k.title.en)}</language><language value="de-DE">${xml(k.title.de)}</language></label>`,
    );
    lines.push(`        <description><language value="en-US">${xml(k.description)}</language></description>`);
    if (k.values !== undefined) {
      lines.push('        <options>');
      for (const v of k.values) {
        lines.push(
          `          <option><label><language value="en-US">${xml(v)}</language></label><value>${xml(v)}</value></option>`,
        );
      }
      lines.push('        </options>');
    }
    lines.push('      </field>');
  }
  lines.push('    </fieldGroup>', '  </presentation>', '</managedAppConfiguration>', '');
  return lines.join('\n');
}

/**
 * The Android `res/xml/app_restrictions.xml` for the managed configuration (referenced from the
 * app's manifest as `android.content.APP_RESTRICTIONS`), with inline titles and descriptions.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('app/src/main/res/xml/app_restrictions.xml', androidAppRestrictions());
 * ```
 */
export function androidAppRestrictions(): string {
  return restrictionsXml(
    MANAGED_CONFIG_KEYS.map((k) => [k, k.defaultValue === undefined ? undefined : String(k.defaultValue)]),
    'Generated by packages/protocol/scripts/generate.ts from src/managed-config.ts. DO NOT EDIT.',
  );
}
