/**
 * The managed-configuration schema (spec/managed-config.md): the parser's checks (each bad key is
 * a ValidationError naming the key, never echoing the value), narrowing-only overrides, the value
 * documents, and the two generated files: well-formed XML with every schema key and its type, and
 * the staleness check failing on a stale, missing or extra file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkManagedConfigFiles,
  MANAGED_CONFIG_DIR,
  writeManagedConfigFiles,
} from '../scripts/managed-config.js';
import {
  androidAppRestrictions,
  appConfigSpecfile,
  MANAGED_CONFIG_KEYS,
  managedConfigAndroidXml,
  managedConfigPlist,
  managedConfigValues,
  narrowByManagedOverrides,
  parseManagedConfig,
  RESTRICTION_DEFAULTS,
} from '../src/index.js';

const TOKEN = 'S3cr3tT0kenS3cr3tT0kenS3cr3tT0kenS3cr3tT0ke';
const DIGEST = 'AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJKKA';
const ROOT = `cloister-root:v1:${DIGEST}`;
const PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
const BASE = {
  serverUrl: 'https://relay.example:8443',
  serverPin: PIN,
  organisationRoot: ROOT,
  enrolmentToken: TOKEN,
  tenant: 'acme',
  userHint: 'alice',
};

function refusal(input: unknown): ValidationError {
  try {
    parseManagedConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const err = e as ValidationError;
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(TOKEN.slice(0, 12));
    return err;
  }
  throw new Error('accepted');
}

describe('parseManagedConfig', () => {
  it('accepts a complete configuration, text forms included, and ignores unknown keys', () => {
    const c = parseManagedConfig({
      ...BASE,
      configVersion: '1',
      screenshots: 'false',
      clipboardCopy: true,
      notificationPreview: 'sender',
      IntuneMAMUPN: 'alice@acme.example',
    });
    expect(c).toMatchObject({
      configVersion: 1,
      serverUrl: 'https://relay.example:8443',
      enrolmentToken: TOKEN,
    });
    expect(c.policy).toEqual({ screenshots: false, 'notifications.preview': 'sender' });
  });

  it('takes the token from an enrolment code naming the same root, refuses one naming another', () => {
    const { enrolmentToken: _, ...rest } = BASE;
    expect(parseManagedConfig({ ...rest, enrolmentCode: `${TOKEN}.${DIGEST}` }).enrolmentToken).toBe(TOKEN);
    const other = `${TOKEN}.${'Z'.repeat(43)}`;
    expect(refusal({ ...rest, enrolmentCode: other }).field).toBe('enrolmentCode');
    expect(refusal({ ...BASE, enrolmentCode: `${TOKEN}.${DIGEST}` }).field).toBe('enrolmentToken');
    expect(refusal(rest).field).toBe('enrolmentToken');
  });

  it.each([
    ['serverUrl', 'http://relay.example'],
    ['serverUrl', 'https://relay.example/path'],
    ['serverPin', 'sha1/abc'],
    ['organisationRoot', 'cloister-root:v2:x'],
    ['enrolmentToken', `${TOKEN}x`],
    ['enrolmentToken', `${TOKEN.slice(0, 42)}!`],
    ['tenant', 'a b'],
    ['userHint', 'x'.repeat(129)],
    ['screenshots', 'no'],
    ['notificationPreview', 'everything'],
    ['configVersion', 2],
  ])('names the bad key %s and does not echo the value', (key, value) => {
    const err = refusal({ ...BASE, [key]: value });
    expect(err.field).toBe(key);
    if (typeof value === 'string' && value.length > 3) expect(err.message).not.toContain(value);
  });

  it('names a missing required key', () => {
    for (const k of MANAGED_CONFIG_KEYS.filter((k) => k.required)) {
      const input: Record<string, unknown> = { ...BASE };
      delete input[k.key];
      expect(refusal(input).field).toBe(k.key);
    }
    expect(refusal(null).field).toBe('managedConfig');
  });

  it('overrides only narrow: true and full leave the policy as it is', () => {
    const c = parseManagedConfig({
      ...BASE,
      screenshots: true,
      notificationPreview: 'full',
      clipboardCopy: false,
    });
    expect(c.policy).toEqual({ 'clipboard.copy': false });
    const strict = { ...RESTRICTION_DEFAULTS, screenshots: false, 'notifications.preview': 'none' as const };
    const narrowed = narrowByManagedOverrides(strict, {
      'notifications.preview': 'sender',
      'clipboard.copy': false,
    });
    expect(narrowed.screenshots).toBe(false);
    expect(narrowed['notifications.preview']).toBe('none');
    expect(narrowed['clipboard.copy']).toBe(false);
    expect(narrowed['files.send']).toBe(true);
    expect(
      narrowByManagedOverrides(RESTRICTION_DEFAULTS, { 'notifications.preview': 'sender' })[
        'notifications.preview'
      ],
    ).toBe('sender');
  });

  it('managedConfigValues builds what the parser accepts, and refuses what it refuses', () => {
    const values = managedConfigValues(BASE);
    expect(parseManagedConfig(values).tenant).toBe('acme');
    expect(() => managedConfigValues({ ...BASE, tenant: '' })).toThrow(ValidationError);
  });
});

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

function wellFormed(text: string): unknown {
  expect(XMLValidator.validate(text)).toBe(true);
  return parser.parse(text);
}

function asArray<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

describe('generated files', () => {
  it('specfile.xml is well-formed and lists every key with its type', () => {
    const doc = wellFormed(appConfigSpecfile()) as {
      managedAppConfiguration: {
        dict: Record<string, unknown>;
        presentation: { fieldGroup: { field: unknown } };
      };
    };
    const dict = doc.managedAppConfiguration.dict;
    for (const k of MANAGED_CONFIG_KEYS) {
      const entries = asArray(dict[k.type] as { '@keyName': string } | { '@keyName': string }[]);
      expect(entries.map((e) => e['@keyName'])).toContain(k.key);
    }
    const fields = asArray(
      doc.managedAppConfiguration.presentation.fieldGroup.field as { '@keyName': string }[],
    );
    expect(fields.map((f) => f['@keyName'])).toEqual(MANAGED_CONFIG_KEYS.map((k) => k.key));
  });

  it('app_restrictions.xml is well-formed and lists every key with its Android type', () => {
    const doc = wellFormed(androidAppRestrictions()) as {
      restrictions: { restriction: { '@android:key': string; '@android:restrictionType': string }[] };
    };
    const got = doc.restrictions.restriction.map((r) => [r['@android:key'], r['@android:restrictionType']]);
    expect(got).toEqual(MANAGED_CONFIG_KEYS.map((k) => [k.key, k.type === 'boolean' ? 'bool' : k.type]));
  });

  it('the value documents are well-formed and carry the values', () => {
    const values = managedConfigValues({ ...BASE, screenshots: false });
    const plist = wellFormed(managedConfigPlist(values)) as {
      plist: { dict: { key: string[]; string: string[] } };
    };
    expect(plist.plist.dict.key).toContain('screenshots');
    expect(plist.plist.dict.string).toContain(TOKEN);
    const android = wellFormed(managedConfigAndroidXml(values)) as {
      restrictions: { restriction: { '@android:key': string; '@android:defaultValue': string }[] };
    };
    const byKey = new Map(
      android.restrictions.restriction.map((r) => [r['@android:key'], r['@android:defaultValue']]),
    );
    expect(byKey.get('enrolmentToken')).toBe(TOKEN);
    expect(byKey.get('screenshots')).toBe('false');
  });

  const tmp = mkdtempSync(join(tmpdir(), 'cloister-managed-config-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the checked-in files are up to date', () => {
    expect(checkManagedConfigFiles(MANAGED_CONFIG_DIR)).toEqual([]);
  });

  it('the check fails on a stale, a missing and an extra file', () => {
    writeManagedConfigFiles(tmp);
    expect(checkManagedConfigFiles(tmp)).toEqual([]);
    const spec = join(tmp, 'specfile.xml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('serverUrl', 'serverURL'));
    expect(checkManagedConfigFiles(tmp)).toEqual([
      'specfile.xml: differs from what src/managed-config.ts generates',
    ]);
    rmSync(spec);
    expect(checkManagedConfigFiles(tmp)).toEqual(['specfile.xml: missing']);
    writeManagedConfigFiles(tmp);
    writeFileSync(join(tmp, 'extra.xml'), '<x/>');
    expect(checkManagedConfigFiles(tmp)).toEqual(['extra.xml: not produced by the generator']);
  });
});
