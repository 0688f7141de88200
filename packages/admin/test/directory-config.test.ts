/**
 * The bridge's parts that need no directory: the configuration (defaults, StartTLS unless plain
 * LDAP is allowed, errors that name the field and never echo a value), the SCIM token's sources,
 * AD's GUID byte order, the disabled flags of each kind, the SCIM client's typed errors and its
 * retries after `Retry-After`, and the state file (atomic, mode 0600, ignored when corrupt).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdminRequest, AdminResponse } from '../src/index.js';
import {
  guidToBytes,
  guidToString,
  parseDirectoryConfig,
  readScimToken,
  readSyncState,
  ScimClient,
  ScimError,
  type SyncState,
  writeSyncState,
} from '../src/node.js';
import { readGroups, userOf } from '../src/directory/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'cloister-bridge-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const minimal = {
  name: 'corp',
  kind: 'openldap',
  url: 'ldap://ldap.example.org',
  bindDN: 'cn=cloister,dc=example,dc=org',
  bindPasswordFile: 'ldap-password',
  users: { baseDNs: ['ou=people,dc=example,dc=org'] },
  server: { url: 'https://relay.example:8443', pin: 'sha256/AAAA' },
  scimToken: { file: 'token' },
};

describe('parseDirectoryConfig', () => {
  it('fills the defaults, requires StartTLS on ldap:// and resolves files against the directory', () => {
    const c = parseDirectoryConfig(minimal, '/etc/cloister');
    expect(c.source).toBe('ldap:corp');
    expect(c.startTls).toBe(true);
    expect(c.insecurePlainLdap).toBe(false);
    expect(c.disableThreshold).toBe(500);
    expect(c.fullRunEvery).toBe(24);
    expect(c.users.filter).toBe('(objectClass=inetOrgPerson)');
    expect(c.attributes).toEqual({ userName: 'uid', displayName: 'displayName', email: 'mail' });
    expect(c.bindPasswordFile).toBe('/etc/cloister/ldap-password');
    expect(c.scimToken).toEqual({ file: '/etc/cloister/token' });
    const ad = parseDirectoryConfig({ ...minimal, kind: 'ad', url: 'ldaps://dc1.example.org:636' });
    expect(ad.startTls).toBe(false);
    expect(ad.users.filter).toBe('(&(objectCategory=person)(objectClass=user))');
    expect(ad.attributes.userName).toBe('sAMAccountName');
  });

  it('plain LDAP only when asked for, and never with ldaps://', () => {
    const plain = parseDirectoryConfig({ ...minimal, insecurePlainLdap: true });
    expect(plain.startTls).toBe(false);
    expect(plain.insecurePlainLdap).toBe(true);
    expect(() =>
      parseDirectoryConfig({ ...minimal, url: 'ldaps://x.example', insecurePlainLdap: true }),
    ).toThrow(ValidationError);
  });

  it('refuses bad input naming the field and never its value', () => {
    const cases: [unknown, string][] = [
      [{ ...minimal, name: 'Corp Secret' }, 'config.name'],
      [{ ...minimal, url: 'http://secret.example' }, 'config.url'],
      [{ ...minimal, password: 'hunter2' }, 'config'],
      [{ ...minimal, users: { baseDNs: [] } }, 'config.users.baseDNs'],
      [{ ...minimal, disableThreshold: -1 }, 'config.disableThreshold'],
      [{ ...minimal, scimToken: 'scim_literal' }, 'config.scimToken'],
    ];
    for (const [input, field] of cases) {
      const error = (() => {
        try {
          parseDirectoryConfig(input);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, field).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as Error).message).not.toMatch(/Secret|secret\.example|hunter2|scim_literal/);
    }
  });

  it('reads the SCIM token from a file or a variable, and refuses anything else without echoing it', () => {
    const token = `scim_${'A'.repeat(43)}`;
    writeFileSync(join(dir, 'token'), `${token}\n`);
    expect(readScimToken(parseDirectoryConfig(minimal, dir))).toBe(token);
    const viaEnv = parseDirectoryConfig({ ...minimal, scimToken: { env: 'CORP_SCIM' } });
    expect(readScimToken(viaEnv, { CORP_SCIM: token })).toBe(token);
    expect(() => readScimToken(viaEnv, { CORP_SCIM: 'not-a-token' })).toThrow(/config\.scimToken/);
    expect(() => readScimToken(viaEnv, { CORP_SCIM: 'not-a-token' })).not.toThrow(/not-a-token/);
  });
});

describe('directory entries', () => {
  it("AD's objectGUID: the first three groups little-endian, both ways", () => {
    const bytes = Buffer.from('88209c4c8e8641109db0090d5484774b', 'hex');
    expect(guidToString(bytes)).toBe('4c9c2088-868e-1041-9db0-090d5484774b');
    expect(guidToBytes('4C9C2088-868E-1041-9DB0-090D5484774B').equals(bytes)).toBe(true);
    expect(() => guidToString(new Uint8Array(15))).toThrow(ValidationError);
  });

  it('disabled flags: AD userAccountControl bit 2; OpenLDAP pwdAccountLockedTime or nsAccountLock', () => {
    const ad = parseDirectoryConfig({ ...minimal, kind: 'ad', url: 'ldaps://dc1' });
    const guid = Buffer.from('88209c4c8e8641109db0090d5484774b', 'hex');
    const adEntry = (uac: string) => ({
      dn: 'CN=a,DC=x',
      objectGUID: guid,
      userAccountControl: uac,
      cn: 'A',
    });
    expect(userOf(adEntry('512'), ad)?.disabled).toBe(false);
    expect(userOf(adEntry('514'), ad)?.disabled).toBe(true);
    expect(userOf(adEntry('546'), ad)?.externalId).toBe('4c9c2088-868e-1041-9db0-090d5484774b');
    const ol = parseDirectoryConfig(minimal);
    const olEntry = (extra: Record<string, string>) => ({
      dn: 'uid=a,dc=x',
      entryUUID: '4C962088-868E-1041-9DB0-090D5484774B',
      uid: 'a',
      ...extra,
    });
    expect(userOf(olEntry({}), ol)).toMatchObject({
      disabled: false,
      externalId: '4c962088-868e-1041-9db0-090d5484774b',
      displayName: 'a',
      email: null,
    });
    expect(userOf(olEntry({ pwdAccountLockedTime: '000001010000Z' }), ol)?.disabled).toBe(true);
    expect(userOf(olEntry({ nsAccountLock: 'TRUE' }), ol)?.disabled).toBe(true);
    expect(userOf(olEntry({ nsAccountLock: 'false' }), ol)?.disabled).toBe(false);
    expect(userOf({ dn: 'uid=noid,dc=x', uid: 'noid' }, ol)).toBeNull();
  });
});

describe('readGroups', () => {
  it("reads AD's ranged member values (member;range=…) to the end", async () => {
    const ad = parseDirectoryConfig({
      ...minimal,
      kind: 'ad',
      url: 'ldaps://dc1',
      groups: [{ group: 'CN=Big,DC=x', pool: 'big' }],
    });
    const asked: string[][] = [];
    const pages: Record<string, Record<string, string[]>> = {
      '': { 'member;range=0-1': ['CN=A,DC=x', 'CN=B,DC=x'] },
      'member;range=2-*': { 'member;range=2-3': ['CN=C,DC=x', 'CN=D,DC=x'] },
      'member;range=4-*': { 'member;range=4-*': ['CN=E, DC=x'] },
    };
    const client = {
      async search(dn: string, options: { attributes?: string[] }) {
        const key = options.attributes?.find((a) => a.startsWith('member;')) ?? '';
        asked.push(options.attributes ?? []);
        return { searchEntries: [{ dn, ...pages[key] }], searchReferences: [] };
      },
    };
    const [group] = await readGroups(client as never, ad, 'DC=x');
    expect(group?.members).toEqual(['cn=a,dc=x', 'cn=b,dc=x', 'cn=c,dc=x', 'cn=d,dc=x', 'cn=e,dc=x']);
    expect(asked).toHaveLength(3);
  });
});

/** A transport answering from a list, recording the requests. */
function scripted(answers: { status: number; headers?: Record<string, string>; body?: unknown }[]) {
  const requests: AdminRequest[] = [];
  const transport = async (request: AdminRequest): Promise<AdminResponse> => {
    requests.push(request);
    const a = answers.shift();
    if (a === undefined) throw new Error('no more answers');
    const text = a.body === undefined ? '' : JSON.stringify(a.body);
    return {
      status: a.status,
      headers: a.headers ?? {},
      body: (async function* () {
        if (text !== '') yield new TextEncoder().encode(text);
      })(),
    };
  };
  return { transport, requests };
}

describe('ScimClient', () => {
  it('retries 429 and 503 after Retry-After, with the bearer token, then answers', async () => {
    const waits: number[] = [];
    const { transport, requests } = scripted([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 503 },
      { status: 200, body: { totalResults: 0, Resources: [] } },
    ]);
    const scim = new ScimClient({ transport, token: 'scim_x', sleep: async (ms) => void waits.push(ms) });
    expect(await scim.listUsers('externalId pr')).toEqual([]);
    expect(waits).toEqual([2000, 1000]);
    expect(requests[0]?.headers.authorization).toBe('Bearer scim_x');
    expect(requests[0]?.path).toBe('/scim/v2/Users');
    expect(requests[0]?.query?.filter).toBe('externalId pr');
  });

  it('gives up after its retries and throws typed errors with the SCIM type', async () => {
    const { transport } = scripted([
      { status: 429 },
      { status: 429 },
      {
        status: 409,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
          status: '409',
          scimType: 'uniqueness',
        },
      },
    ]);
    const scim = new ScimClient({ transport, token: 'scim_x', retries: 1, sleep: async () => undefined });
    const limited = await scim.getUser('u1').catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(ScimError);
    expect((limited as ScimError).code).toBe('ERR_RATE_LIMITED');
    const conflict = await scim.deleteUser('u1').catch((e: unknown) => e);
    expect((conflict as ScimError).status).toBe(409);
    expect((conflict as ScimError).scimType).toBe('uniqueness');
    expect((conflict as ScimError).code).toBe('ERR_CONFLICT');
  });
});

describe('state file', () => {
  const state: SyncState = {
    version: 1,
    source: 'ldap:corp',
    kind: 'ad',
    url: 'ldaps://dc1',
    lastRunAt: 2,
    lastFullRunAt: 1,
    runsSinceFull: 0,
    ad: { highestCommittedUSN: '4242', dsServiceName: 'CN=NTDS Settings,CN=DC1' },
    dns: { a: 'cn=a,dc=x' },
  };

  it('is written with mode 0600 and read back; a missing or corrupt file means a full run', () => {
    const path = join(dir, 'state.json');
    expect(readSyncState(path)).toBeUndefined();
    writeSyncState(path, state);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readSyncState(path)).toEqual(state);
    writeFileSync(path, '{"version":1,');
    expect(readSyncState(path)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ ...state, version: 2 }));
    expect(readSyncState(path)).toBeUndefined();
  });
});
