/**
 * What the directory-bridge tests share: the "did NOT run" rule for a missing directory, a
 * Cloister server with a SCIM token of source `ldap:corp`, a bridge configuration written to files,
 * a driver per directory kind that adds, renames, disables, deletes and moves users and groups
 * through `ldapts` as an administrator would, and enrolling a device for a user the bridge created.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CloisterClient, createClient } from '@cloister/client';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { createMemoryAdapter } from '@cloister/storage';
import { Attribute, Change, type Client, EqualityFilter } from 'ldapts';
import { expect, it } from 'vitest';
import type { AdminClient } from '../../src/index.js';
import {
  type DirectoryConfig,
  guidToBytes,
  guidToString,
  parseDirectoryConfig,
  ScimClient,
  type SyncOptions,
  type SyncResult,
  syncDirectory,
  ThresholdExceededError,
} from '../../src/node.js';
import { type StartedTenant, startTenant } from './tenant.js';

export { mayRun } from './processes.js';

/** One user of the directory, as a test made it. */
export interface TestUser {
  /** The DN now. */
  dn: string;
  /** The immutable id as the bridge spells it. */
  readonly id: string;
}

/** Directory operations a test performs, as the directory's administrator. */
export interface DirectoryDriver {
  readonly kind: 'openldap' | 'ad';
  /** The OU in scope, and one out of scope. */
  readonly people: string;
  readonly elsewhere: string;
  /** Adds an enabled user `name` in `ou` (default {@link DirectoryDriver.people}). */
  addUser(name: string, options?: { mail?: string; displayName?: string; ou?: string }): Promise<TestUser>;
  /** Adds a group `name` (outside the user scope) with these members; returns its DN. */
  addGroup(name: string, members: readonly TestUser[]): Promise<string>;
  setMembers(group: string, members: readonly TestUser[]): Promise<void>;
  rename(user: TestUser, name: string): Promise<void>;
  setDisplayName(user: TestUser, displayName: string): Promise<void>;
  setMail(user: TestUser, mail: string): Promise<void>;
  disable(user: TestUser): Promise<void>;
  enable(user: TestUser): Promise<void>;
  remove(user: TestUser): Promise<void>;
  move(user: TestUser, ou: string): Promise<void>;
}

/** Replaces one attribute's values. */
export const replace = (type: string, values: string[] | Buffer[]) =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

/** The `ou` in `ou=…,base` (OpenLDAP) or `OU=…,base` (AD). */
async function addOu(client: Client, dn: string, name: string): Promise<void> {
  await client.add(dn, { objectClass: 'organizationalUnit', ou: name });
}

/** A driver over an OpenLDAP server (`helpers/slapd.ts`), bound as its root DN. */
export async function openLdapDriver(client: Client, baseDN: string): Promise<DirectoryDriver> {
  const people = `ou=people,${baseDN}`;
  const elsewhere = `ou=elsewhere,${baseDN}`;
  const groups = `ou=groups,${baseDN}`;
  await addOu(client, people, 'people');
  await addOu(client, elsewhere, 'elsewhere');
  await addOu(client, groups, 'groups');
  let uidNumber = 20000;
  // What the refint overlay does in production: group members follow a rename or a move (AD does
  // this itself).
  const followDn = async (from: string, to: string) => {
    const { searchEntries } = await client.search(groups, {
      filter: new EqualityFilter({ attribute: 'member', value: from }),
      attributes: ['member'],
    });
    for (const g of searchEntries) {
      await client.modify(g.dn, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [from] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [to] }) }),
      ]);
    }
  };
  const idOf = async (dn: string) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return String(searchEntries[0]?.entryUUID).toLowerCase();
  };
  return {
    kind: 'openldap',
    people,
    elsewhere,
    async addUser(name, options = {}) {
      const dn = `uid=${name},${options.ou ?? people}`;
      await client.add(dn, {
        objectClass: ['inetOrgPerson', 'posixAccount'],
        uid: name,
        cn: options.displayName ?? `${name} Example`,
        displayName: options.displayName ?? `${name} Example`,
        sn: 'Example',
        mail: options.mail ?? `${name}@example.org`,
        uidNumber: String(uidNumber++),
        gidNumber: '10000',
        homeDirectory: `/home/${name}`,
        userPassword: randomBytes(12).toString('hex'),
      });
      return { dn, id: await idOf(dn) };
    },
    async addGroup(name, members) {
      const dn = `cn=${name},${groups}`;
      // groupOfNames needs a member: the group itself stands in while it is empty.
      await client.add(dn, {
        objectClass: 'groupOfNames',
        cn: name,
        member: members.length === 0 ? [dn] : members.map((m) => m.dn),
      });
      return dn;
    },
    async setMembers(group, members) {
      await client.modify(
        group,
        replace('member', members.length === 0 ? [group] : members.map((m) => m.dn)),
      );
    },
    async rename(user, name) {
      const parent = user.dn.slice(user.dn.indexOf(',') + 1);
      await client.modifyDN(user.dn, `uid=${name}`);
      await followDn(user.dn, `uid=${name},${parent}`);
      user.dn = `uid=${name},${parent}`;
    },
    async setDisplayName(user, displayName) {
      await client.modify(user.dn, [replace('displayName', [displayName]), replace('cn', [displayName])]);
    },
    async setMail(user, mail) {
      await client.modify(user.dn, replace('mail', [mail]));
    },
    async disable(user) {
      await client.modify(user.dn, replace('pwdAccountLockedTime', ['000001010000Z']));
    },
    async enable(user) {
      await client.modify(
        user.dn,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) }),
      );
    },
    async remove(user) {
      await client.del(user.dn);
    },
    async move(user, ou) {
      const rdn = user.dn.slice(0, user.dn.indexOf(','));
      await client.modifyDN(user.dn, `${rdn},${ou}`);
      await followDn(user.dn, `${rdn},${ou}`);
      user.dn = `${rdn},${ou}`;
    },
  };
}

/** A driver over a Samba AD DC (`helpers/samba-dc.ts`), bound as Administrator over LDAPS. */
export async function adDriver(client: Client, baseDN: string): Promise<DirectoryDriver> {
  const people = `OU=people,${baseDN}`;
  const elsewhere = `OU=elsewhere,${baseDN}`;
  const groups = `OU=groups,${baseDN}`;
  await addOu(client, people, 'people');
  await addOu(client, elsewhere, 'elsewhere');
  await addOu(client, groups, 'groups');
  const idOf = async (dn: string) => {
    const { searchEntries } = await client.search(dn, {
      scope: 'base',
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID'],
    });
    return guidToString(searchEntries[0]?.objectGUID as Buffer);
  };
  const uac = async (dn: string) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['userAccountControl'] });
    return Number(searchEntries[0]?.userAccountControl);
  };
  return {
    kind: 'ad',
    people,
    elsewhere,
    async addUser(name, options = {}) {
      const dn = `CN=${name},${options.ou ?? people}`;
      await client.add(dn, {
        objectClass: 'user',
        sAMAccountName: name,
        userPrincipalName: `${name}@example.org`,
        displayName: options.displayName ?? `${name} Example`,
        sn: 'Example',
        mail: options.mail ?? `${name}@example.org`,
      });
      await client.modify(dn, [
        replace('unicodePwd', [Buffer.from(`"Aa1!${randomBytes(9).toString('hex')}"`, 'utf16le')]),
        replace('userAccountControl', ['512']),
      ]);
      return { dn, id: await idOf(dn) };
    },
    async addGroup(name, members) {
      const dn = `CN=${name},${groups}`;
      await client.add(dn, {
        objectClass: 'group',
        sAMAccountName: name,
        ...(members.length === 0 ? {} : { member: members.map((m) => m.dn) }),
      });
      return dn;
    },
    async setMembers(group, members) {
      await client.modify(
        group,
        members.length === 0
          ? new Change({ operation: 'delete', modification: new Attribute({ type: 'member' }) })
          : replace(
              'member',
              members.map((m) => m.dn),
            ),
      );
    },
    async rename(user, name) {
      const parent = user.dn.slice(user.dn.indexOf(',') + 1);
      await client.modifyDN(user.dn, `CN=${name}`);
      user.dn = `CN=${name},${parent}`;
    },
    async setDisplayName(user, displayName) {
      await client.modify(user.dn, replace('displayName', [displayName]));
    },
    async setMail(user, mail) {
      await client.modify(user.dn, replace('mail', [mail]));
    },
    async disable(user) {
      await client.modify(user.dn, replace('userAccountControl', [String((await uac(user.dn)) | 2)]));
    },
    async enable(user) {
      await client.modify(user.dn, replace('userAccountControl', [String((await uac(user.dn)) & ~2)]));
    },
    async remove(user) {
      await client.del(user.dn);
    },
    async move(user, ou) {
      const rdn = user.dn.slice(0, user.dn.indexOf(','));
      await client.modifyDN(user.dn, `${rdn},${ou}`);
      user.dn = `${rdn},${ou}`;
    },
  };
}

/** A user's filter by objectGUID (AD) for a search in tests. */
export const byGuid = (id: string) => new EqualityFilter({ attribute: 'objectGUID', value: guidToBytes(id) });

/** The bridge set-up of one test file: a server, a token, a configuration and a state file. */
export interface Bridge {
  readonly tenant: StartedTenant;
  readonly config: DirectoryConfig;
  readonly statePath: string;
  readonly dir: string;
  /** A SCIM client with the bridge's token. */
  readonly scim: ScimClient;
  /** Runs the bridge (the state file of the file, unless `statePath` is given). */
  sync(options?: Partial<SyncOptions>): Promise<SyncResult>;
  /** The SCIM view of the user with this directory id (via the admin API: user id, blocked). */
  userOf(externalId: string): Promise<{
    id: string;
    blocked: boolean;
    displayName: string;
    email: string | null;
    pools: readonly string[];
  }>;
  /** Enrols a device for the user (the client SDK) and returns the started client. */
  enrol(userId: string): Promise<CloisterClient>;
  close(): Promise<void>;
}

/**
 * Starts a Cloister server with the tenant `acme`, a SCIM token of source `ldap:corp`, and writes
 * the bridge's configuration (`directory` fields given by the test file).
 */
export async function startBridge(directory: Record<string, unknown>): Promise<Bridge> {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-bridge-'));
  const tenant = await startTenant(join(dir, 'server'));
  const { token } = await tenant.admin.scim.createToken({ name: 'bridge ldap:corp', source: 'ldap:corp' });
  const url = `https://127.0.0.1:${(tenant.server.app.server.address() as { port: number }).port}`;
  writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
  const config = parseDirectoryConfig(
    {
      name: 'corp',
      server: { url, pin: tenant.server.pin },
      scimToken: { file: 'token' },
      stateFile: 'state.json',
      ...directory,
    },
    dir,
  );
  const statePath = join(dir, 'state.json');
  const clients: CloisterClient[] = [];
  const scim = new ScimClient({ transport: tenant.transport(), token });
  return {
    tenant,
    config,
    statePath,
    dir,
    scim,
    sync: (options = {}) => syncDirectory({ config, ...options }),
    async userOf(externalId) {
      const [found] = await scim.listUsers(`externalId eq "${externalId}"`);
      if (found === undefined) throw new Error('no user with this externalId');
      const view = await tenant.admin.getUser(found.id);
      return {
        id: view.id,
        blocked: view.blocked,
        displayName: view.displayName,
        email: view.email,
        pools: view.pools,
      };
    },
    async enrol(userId) {
      const admin: AdminClient = tenant.admin;
      const invite = await admin.inviteUser({ user: userId });
      const client = await createClient({
        server: { url, pin: tenant.server.pin },
        storage: createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
      });
      await client.enroll(invite.enrolmentCode ?? invite.token, { pin: '2468-1357' });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await tenant.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What {@link leaverJoinerMatrix} runs against: a directory driver and a bridge. */
export interface MatrixContext {
  readonly driver: DirectoryDriver;
  readonly bridge: Bridge;
  /** The groups mapped to the pools `staff` and `sales` (empty at first). */
  readonly staff: string;
  readonly sales: string;
}

/** Throws unless every action kind counted in `plan` is as expected (absent kinds: 0). */
export function counts(result: SyncResult): Record<string, number> {
  return Object.fromEntries(Object.entries(result.plan.counts).filter(([, n]) => n > 0));
}

/** A matrix test's time limit: a few runs of the bridge against a local directory and server. */
const CASE_MS = 30_000;

/**
 * The leaver and joiner matrix shared by the OpenLDAP and Samba AD files (`spec/directory.md` §3,
 * `spec/directory-tests.md` §5). The cases run in order on one directory and one server; each
 * returns at once when `get()` is undefined (the directory is not available: the file's first test
 * said so). Kind-specific cases (restore, re-add) are in the files.
 */
export function leaverJoinerMatrix(get: () => MatrixContext | undefined): void {
  const users: Record<string, TestUser> = {};
  const ids: Record<string, string> = {};

  it(
    'joiner: new users in scope are created, with the directory id as externalId, in their pools',
    async () => {
      const c = get();
      if (c === undefined) return;
      for (const name of ['alice', 'bob', 'carol', 'dave']) users[name] = await c.driver.addUser(name);
      await c.driver.setMembers(c.staff, [users.alice as TestUser, users.bob as TestUser]);
      const result = await c.bridge.sync();
      expect(result.mode).toBe('full');
      expect(counts(result)).toEqual({ create: 4, 'add-member': 2 });
      for (const name of ['alice', 'bob', 'carol', 'dave']) {
        const user = await c.bridge.userOf((users[name] as TestUser).id);
        expect(user.blocked).toBe(false);
        expect(user.displayName).toBe(`${name} Example`);
        expect(user.email).toBe(`${name}@example.org`);
        ids[name] = user.id;
      }
      expect((await c.bridge.userOf((users.alice as TestUser).id)).pools).toEqual(['staff']);
      // A second run finds nothing to do.
      expect(counts(await c.bridge.sync())).toEqual({});
    },
    CASE_MS,
  );

  it(
    'dry run: the plan is computed and nothing changes, not even the state file',
    async () => {
      const c = get();
      if (c === undefined) return;
      users.erin = await c.driver.addUser('erin');
      const before = readFileSync(c.bridge.statePath, 'utf8');
      const result = await c.bridge.sync({ dryRun: true });
      expect(result.dryRun).toBe(true);
      expect(counts(result)).toEqual({ create: 1 });
      expect(await c.bridge.scim.listUsers(`externalId eq "${users.erin.id}"`)).toEqual([]);
      expect(readFileSync(c.bridge.statePath, 'utf8')).toBe(before);
      expect(counts(await c.bridge.sync())).toEqual({ create: 1 });
    },
    CASE_MS,
  );

  it(
    'rename (DN and display name): the same Cloister user, renamed',
    async () => {
      const c = get();
      if (c === undefined) return;
      const alice = users.alice as TestUser;
      await c.driver.rename(alice, 'alice-renamed');
      await c.driver.setDisplayName(alice, 'Alice Renamed');
      const result = await c.bridge.sync();
      expect(counts(result)).toEqual({ update: 1 });
      const user = await c.bridge.userOf(alice.id);
      expect(user.id).toBe(ids.alice);
      expect(user.displayName).toBe('Alice Renamed');
      expect(user.pools).toEqual(['staff']);
    },
    CASE_MS,
  );

  it(
    'e-mail change: the same user, the new address',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.driver.setMail(users.bob as TestUser, 'robert@example.org');
      expect(counts(await c.bridge.sync())).toEqual({ update: 1 });
      const user = await c.bridge.userOf((users.bob as TestUser).id);
      expect(user.id).toBe(ids.bob);
      expect(user.email).toBe('robert@example.org');
    },
    CASE_MS,
  );

  it(
    'move between groups: pool membership follows',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.driver.setMembers(c.staff, [users.bob as TestUser]);
      await c.driver.setMembers(c.sales, [users.alice as TestUser]);
      expect(counts(await c.bridge.sync())).toEqual({ 'add-member': 1, 'remove-member': 1 });
      expect((await c.bridge.userOf((users.alice as TestUser).id)).pools).toEqual(['sales']);
      expect((await c.bridge.userOf((users.bob as TestUser).id)).pools).toEqual(['staff']);
    },
    CASE_MS,
  );

  it(
    'leaver: disabled in the directory → blocked, and the devices at once',
    async () => {
      const c = get();
      if (c === undefined) return;
      const device = await c.bridge.enrol(ids.bob as string);
      expect(device.me.userId).toBe(ids.bob);
      expect(await device.linkStatus()).toBeDefined();
      await c.driver.disable(users.bob as TestUser);
      expect(counts(await c.bridge.sync())).toEqual({ disable: 1 });
      expect((await c.bridge.userOf((users.bob as TestUser).id)).blocked).toBe(true);
      // The device's next request is refused: the user's block covers every device.
      await expect(device.linkStatus()).rejects.toMatchObject({ status: 403 });
    },
    CASE_MS,
  );

  it(
    're-enabled in the directory → stays blocked, reported once as reenable-requested',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.driver.enable(users.bob as TestUser);
      const result = await c.bridge.sync();
      expect(counts(result)).toEqual({ 'reenable-requested': 1 });
      expect(result.plan.actions).toContainEqual({
        kind: 'reenable-requested',
        id: ids.bob,
        externalId: (users.bob as TestUser).id,
      });
      expect((await c.bridge.userOf((users.bob as TestUser).id)).blocked).toBe(true);
      // The next full run reports it as still blocked and asks nothing again.
      const again = await c.bridge.sync({ full: true });
      expect(counts(again)).toEqual({ 'kept-blocked': 1 });
      expect((await c.bridge.userOf((users.bob as TestUser).id)).blocked).toBe(true);
    },
    CASE_MS,
  );

  it(
    'deleted in the directory → left and blocked',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.driver.remove(users.dave as TestUser);
      const result = await c.bridge.sync();
      expect(counts(result)).toEqual({ leave: 1 });
      expect(result.plan.actions[0]).toMatchObject({ kind: 'leave', id: ids.dave });
      expect((await c.bridge.userOf((users.dave as TestUser).id)).blocked).toBe(true);
      expect((await c.bridge.scim.getUser(ids.dave as string)).cloister.directoryState).toBe('left');
    },
    CASE_MS,
  );

  it(
    'moved out of scope (another OU) → left',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.driver.move(users.carol as TestUser, c.driver.elsewhere);
      const result = await c.bridge.sync();
      expect(counts(result)).toEqual({ leave: 1 });
      expect(result.plan.actions[0]).toMatchObject({ kind: 'leave', id: ids.carol });
      expect((await c.bridge.userOf((users.carol as TestUser).id)).blocked).toBe(true);
      // Moved back: it reappears in scope, and is not re-enabled.
      await c.driver.move(users.carol as TestUser, c.driver.people);
      expect(counts(await c.bridge.sync())).toEqual({ 'reenable-requested': 1 });
      expect((await c.bridge.userOf((users.carol as TestUser).id)).blocked).toBe(true);
    },
    CASE_MS,
  );

  it(
    'blocked by an administrator, active in the directory → stays blocked',
    async () => {
      const c = get();
      if (c === undefined) return;
      await c.bridge.tenant.admin.blockUser(
        ids.erin ?? (await c.bridge.userOf((users.erin as TestUser).id)).id,
      );
      await c.driver.setDisplayName(users.erin as TestUser, 'Erin Changed');
      const result = await c.bridge.sync();
      expect(counts(result)).toEqual({ update: 1, 'kept-blocked': 1 });
      const erin = await c.bridge.userOf((users.erin as TestUser).id);
      expect(erin.blocked).toBe(true);
      expect(erin.displayName).toBe('Erin Changed');
    },
    CASE_MS,
  );

  it(
    'threshold: disabling 3 with a threshold of 2 stops before anything is applied',
    async () => {
      const c = get();
      if (c === undefined) return;
      for (const name of ['t1', 't2', 't3']) users[name] = await c.driver.addUser(name);
      expect(counts(await c.bridge.sync())).toEqual({ create: 3 });
      for (const name of ['t1', 't2', 't3']) await c.driver.disable(users[name] as TestUser);
      const before = readFileSync(c.bridge.statePath, 'utf8');
      const stop = await c.bridge.sync({ maxDisable: 2 }).catch((e: unknown) => e);
      expect(stop).toBeInstanceOf(ThresholdExceededError);
      expect((stop as ThresholdExceededError).removals).toBe(3);
      expect((stop as ThresholdExceededError).code).toBe('ERR_LIMIT');
      for (const name of ['t1', 't2', 't3']) {
        expect((await c.bridge.userOf((users[name] as TestUser).id)).blocked).toBe(false);
      }
      expect(readFileSync(c.bridge.statePath, 'utf8')).toBe(before);
    },
    CASE_MS,
  );

  it(
    'threshold with force: the same plan is applied',
    async () => {
      const c = get();
      if (c === undefined) return;
      const result = await c.bridge.sync({ maxDisable: 2, force: true });
      expect(counts(result)).toEqual({ disable: 3 });
      for (const name of ['t1', 't2', 't3']) {
        expect((await c.bridge.userOf((users[name] as TestUser).id)).blocked).toBe(true);
      }
    },
    CASE_MS,
  );

  it(
    'incremental run: a change and a deletion are picked up without a full scan',
    async () => {
      const c = get();
      if (c === undefined) return;
      users.frank = await c.driver.addUser('frank');
      users.gina = await c.driver.addUser('gina');
      await c.bridge.sync();
      const frank = await c.bridge.userOf(users.frank.id);
      // Changed on the server only: a full run would put the directory's name back, an incremental
      // run does not read the unchanged entry.
      await c.bridge.scim.patchUser(frank.id, [{ op: 'replace', path: 'displayName', value: 'Server Side' }]);
      await c.driver.setDisplayName(users.gina as TestUser, 'Gina Changed');
      await c.driver.remove(users.alice as TestUser);
      const result = await c.bridge.sync();
      expect(result.mode).toBe('incremental');
      expect(counts(result)).toEqual({ update: 1, leave: 1, 'remove-member': 1 });
      expect(result.plan.actions).toContainEqual(
        expect.objectContaining({ kind: 'leave', id: ids.alice, reason: 'deleted' }),
      );
      expect((await c.bridge.userOf(users.frank.id)).displayName).toBe('Server Side');
      expect((await c.bridge.userOf((users.gina as TestUser).id)).displayName).toBe('Gina Changed');
      const fullRun = await c.bridge.sync({ full: true });
      expect(fullRun.mode).toBe('full');
      expect(counts(fullRun)).toEqual({ update: 1, 'kept-blocked': 3 });
      expect((await c.bridge.userOf(users.frank.id)).displayName).toBe('frank Example');
    },
    CASE_MS,
  );
}

/** `ldapts`'s client, for test files of packages that do not depend on `ldapts` (the CLI's). */
export { Client as LdapClient } from 'ldapts';
