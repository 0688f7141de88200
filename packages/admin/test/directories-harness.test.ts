/**
 * The directories the directory-sync tests run against: a real OpenLDAP (Debian `slapd`) and a real
 * Samba Active Directory domain controller (Debian `samba`), each started by the test in a temporary
 * directory (`helpers/slapd.ts`, `helpers/samba-dc.ts`). Against each, through `ldapts`, the
 * operations a sync reads the results of: an OU, two users and a group are created; read back with
 * their immutable ids (`entryUUID`, `objectGUID` as 16 bytes), which survive a rename; one user is
 * disabled (`pwdAccountLockedTime`, `userAccountControl` bit 2), which the directory then enforces
 * on binds; one is deleted, and the deletion is visible where an incremental sync would look for it
 * (the `accesslog` change log; AD's tombstones with the Show Deleted control and `uSNChanged`).
 *
 * Without the binaries a directory's test says plainly that it did NOT run and why; outside CI that
 * is not a failure, under `CI=true` it is (`spec/directory-tests.md`).
 */
import { Attribute, Change, Client, Control, EqualityFilter, InvalidCredentialsError } from 'ldapts';
import { afterAll, describe, expect, it } from 'vitest';
import { mayRun } from './helpers/processes.js';
import { type Slapd, slapdAvailable, startSlapd } from './helpers/slapd.js';
import { type SambaDc, sambaAvailable, startSambaDc } from './helpers/samba-dc.js';

/** slapd starts within a second; the limit is for a loaded machine. */
const SLAPD_TEST_TIMEOUT_MS = 120_000;
/** Provisioning a domain takes 20–45 s and starting the DC 5–10 s on a two-core machine. */
const SAMBA_TEST_TIMEOUT_MS = 360_000;

/** Binding a user over LDAP and whether the directory accepted the password. */
async function canBind(url: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url });
  try {
    await client.bind(dn, password);
    return true;
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return false;
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function one<T>(values: readonly T[], what: string): T {
  expect(values, what).toHaveLength(1);
  return values[0] as T;
}

describe('OpenLDAP (slapd)', () => {
  let server: Slapd | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'creates an OU, two users and a group, reads them with entryUUID, locks one and deletes one',
    async () => {
      if (!mayRun('OpenLDAP (slapd)', slapdAvailable())) return;
      server = await startSlapd();
      console.info(`[directories] slapd answered ${server.startMs} ms after it was spawned`);
      const { url, bindDN, password, baseDN, accesslogDN } = server;
      const ou = `ou=cloister-test,${baseDN}`;
      const alice = `uid=alice,${ou}`;
      const bob = `uid=bob,${ou}`;
      const group = `cn=staff,${ou}`;
      const client = new Client({ url });
      try {
        // A wrong root password is refused: the server checks what the tests bind with.
        expect(await canBind(url, bindDN, `${password}x`)).toBe(false);
        await client.bind(bindDN, password);

        await client.add(ou, { objectClass: 'organizationalUnit', ou: 'cloister-test' });
        for (const [dn, uid, name] of [
          [alice, 'alice', 'Alice Example'],
          [bob, 'bob', 'Bob Example'],
        ] as const) {
          await client.add(dn, {
            objectClass: ['inetOrgPerson', 'posixAccount'],
            uid,
            cn: name,
            sn: 'Example',
            mail: `${uid}@example.org`,
            uidNumber: uid === 'alice' ? '10001' : '10002',
            gidNumber: '10000',
            homeDirectory: `/home/${uid}`,
            userPassword: `${uid}-password`,
          });
        }
        await client.add(group, { objectClass: 'groupOfNames', cn: 'staff', member: [alice, bob] });

        const users = await client.search(ou, {
          scope: 'sub',
          filter: '(objectClass=inetOrgPerson)',
          attributes: ['uid', 'mail', 'entryUUID', 'modifyTimestamp', 'entryCSN'],
        });
        expect(users.searchEntries.map((e) => e.uid).sort()).toEqual(['alice', 'bob']);
        const uuidOf = new Map(users.searchEntries.map((e) => [e.dn, e.entryUUID as string]));
        const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
        expect(uuidOf.get(alice)).toMatch(uuid);
        expect(uuidOf.get(bob)).toMatch(uuid);
        expect(uuidOf.get(alice)).not.toBe(uuidOf.get(bob));
        for (const e of users.searchEntries) {
          expect(e.modifyTimestamp, 'modifyTimestamp').toMatch(/^\d{14}Z$/);
          expect(e.entryCSN, 'entryCSN').toMatch(/^\d{14}\.\d{6}Z#/);
        }
        const groups = await client.search(ou, {
          filter: '(objectClass=groupOfNames)',
          attributes: ['member'],
        });
        expect(one(groups.searchEntries, 'one group').member).toEqual([alice, bob]);

        // The id is the entry's, not its name's: a rename keeps it.
        await client.modifyDN(bob, `uid=robert,${ou}`);
        const renamed = await client.search(ou, {
          filter: new EqualityFilter({ attribute: 'entryUUID', value: uuidOf.get(bob) as string }),
          attributes: ['uid'],
        });
        expect(one(renamed.searchEntries, 'bob found by entryUUID after the rename').dn).toBe(
          `uid=robert,${ou}`,
        );
        const robert = `uid=robert,${ou}`;

        // Disabled: ppolicy's pwdAccountLockedTime (000001010000Z = until an administrator unlocks).
        expect(await canBind(url, alice, 'alice-password')).toBe(true);
        const before = await client.search(baseDN, { scope: 'base', attributes: ['contextCSN'] });
        await client.modify(
          alice,
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
          }),
        );
        const locked = await client.search(ou, {
          filter: '(pwdAccountLockedTime=*)',
          attributes: ['uid', 'pwdAccountLockedTime'],
        });
        const lockedEntry = one(locked.searchEntries, 'one locked user');
        expect(lockedEntry.uid).toBe('alice');
        expect(lockedEntry.pwdAccountLockedTime).toBe('000001010000Z');
        expect(await canBind(url, alice, 'alice-password')).toBe(false);
        expect(await canBind(url, robert, 'bob-password')).toBe(true);
        // The suffix's contextCSN moves with every write (what an RFC 4533 consumer compares).
        const after = await client.search(baseDN, { scope: 'base', attributes: ['contextCSN'] });
        expect(after.searchEntries[0]?.contextCSN).not.toEqual(before.searchEntries[0]?.contextCSN);

        await client.del(robert);
        const gone = await client.search(ou, {
          filter: new EqualityFilter({ attribute: 'entryUUID', value: uuidOf.get(bob) as string }),
        });
        expect(gone.searchEntries).toEqual([]);
        // The change log keeps the deletion with the deleted entry's entryUUID.
        const log = await client.search(accesslogDN, {
          filter: '(&(objectClass=auditDelete)(reqResult=0))',
          attributes: ['reqDN', 'reqEntryUUID', 'reqStart'],
        });
        const deletion = one(log.searchEntries, 'one deletion in the change log');
        expect(deletion.reqDN).toBe(robert);
        expect(deletion.reqEntryUUID).toBe(uuidOf.get(bob));
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
    SLAPD_TEST_TIMEOUT_MS,
  );
});

describe('Samba Active Directory domain controller', () => {
  let server: SambaDc | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'creates an OU, two users and a group, reads them with objectGUID, disables one and deletes one',
    async () => {
      if (!mayRun('Samba AD', sambaAvailable())) return;
      server = await startSambaDc();
      console.info(
        `[directories] samba-tool provisioned the domain in ${server.provisionMs} ms; samba answered ${server.startMs} ms after it was spawned`,
      );
      const { url, ldapsUrl, tls, bindDN, password, baseDN } = server;
      const ou = `OU=cloister-test,${baseDN}`;
      const alice = `CN=Alice Example,${ou}`;
      const bob = `CN=Bob Example,${ou}`;
      const group = `CN=staff,${ou}`;
      const passwordOf = (name: string) => `${name}-Pa55word!`;
      // AD sets passwords only over an encrypted connection: LDAPS with the DC's own CA.
      const client = new Client({ url: ldapsUrl, tlsOptions: tls });
      try {
        expect(await canBind(url, bindDN, `${password}x`)).toBe(false);
        await client.bind(bindDN, password);

        await client.add(ou, { objectClass: 'organizationalUnit', ou: 'cloister-test' });
        for (const [dn, name] of [
          [alice, 'alice'],
          [bob, 'bob'],
        ] as const) {
          await client.add(dn, {
            objectClass: 'user',
            sAMAccountName: name,
            userPrincipalName: `${name}@example.org`,
            givenName: name === 'alice' ? 'Alice' : 'Bob',
            sn: 'Example',
            mail: `${name}@example.org`,
          });
          // unicodePwd: the password in double quotes, UTF-16LE; then a normal, enabled account.
          await client.modify(dn, [
            new Change({
              operation: 'replace',
              modification: new Attribute({
                type: 'unicodePwd',
                values: [Buffer.from(`"${passwordOf(name)}"`, 'utf16le')],
              }),
            }),
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
            }),
          ]);
        }
        await client.add(group, { objectClass: 'group', sAMAccountName: 'staff', member: [alice, bob] });

        const users = await client.search(ou, {
          filter: '(&(objectCategory=person)(objectClass=user))',
          attributes: [
            'sAMAccountName',
            'mail',
            'objectGUID',
            'userAccountControl',
            'uSNChanged',
            'memberOf',
          ],
          explicitBufferAttributes: ['objectGUID'],
        });
        expect(users.searchEntries.map((e) => e.sAMAccountName).sort()).toEqual(['alice', 'bob']);
        const guidOf = new Map(users.searchEntries.map((e) => [e.dn, e.objectGUID as Buffer]));
        expect(guidOf.get(alice)).toBeInstanceOf(Buffer);
        expect(guidOf.get(alice)).toHaveLength(16);
        expect(guidOf.get(bob)).toHaveLength(16);
        expect(guidOf.get(alice)?.equals(guidOf.get(bob) as Buffer)).toBe(false);
        for (const e of users.searchEntries) {
          expect(e.userAccountControl).toBe('512');
          expect(e.memberOf).toBe(group);
        }
        const groups = await client.search(ou, {
          filter: '(objectClass=group)',
          attributes: ['member', 'objectGUID'],
          explicitBufferAttributes: ['objectGUID'],
        });
        expect([...(one(groups.searchEntries, 'one group').member as string[])].sort()).toEqual(
          [alice, bob].sort(),
        );

        await client.modifyDN(bob, `CN=Robert Example,${ou}`);
        const robert = `CN=Robert Example,${ou}`;
        const renamed = await client.search(baseDN, {
          filter: new EqualityFilter({ attribute: 'objectGUID', value: guidOf.get(bob) as Buffer }),
          attributes: ['sAMAccountName'],
        });
        expect(one(renamed.searchEntries, 'bob found by objectGUID after the rename').dn).toBe(robert);

        // Disabled: userAccountControl |= ACCOUNTDISABLE (2). uSNChanged marks what changed since.
        expect(await canBind(url, alice, passwordOf('alice'))).toBe(true);
        const root = await client.search('', { scope: 'base', attributes: ['highestCommittedUSN'] });
        const usnBefore = Number(root.searchEntries[0]?.highestCommittedUSN);
        expect(usnBefore).toBeGreaterThan(0);
        const current = await client.search(alice, { scope: 'base', attributes: ['userAccountControl'] });
        const flags = Number(current.searchEntries[0]?.userAccountControl);
        await client.modify(
          alice,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userAccountControl', values: [String(flags | 2)] }),
          }),
        );
        const changed = await client.search(ou, {
          filter: `(&(objectClass=user)(uSNChanged>=${usnBefore + 1}))`,
          attributes: ['sAMAccountName', 'userAccountControl'],
        });
        const disabled = one(changed.searchEntries, 'only alice changed since the USN');
        expect(disabled.sAMAccountName).toBe('alice');
        expect(Number(disabled.userAccountControl) & 2).toBe(2);
        expect(await canBind(url, alice, passwordOf('alice'))).toBe(false);
        expect(await canBind(url, robert, passwordOf('bob'))).toBe(true);

        await client.del(robert);
        const byGuid = new EqualityFilter({ attribute: 'objectGUID', value: guidOf.get(bob) as Buffer });
        const gone = await client.search(baseDN, { filter: byGuid });
        expect(gone.searchEntries).toEqual([]);
        // The tombstone keeps the objectGUID: the Show Deleted control (1.2.840.113556.1.4.417).
        const tombstones = await client.search(
          baseDN,
          { filter: byGuid, attributes: ['isDeleted', 'uSNChanged'] },
          new Control('1.2.840.113556.1.4.417', { critical: true }),
        );
        const tombstone = one(tombstones.searchEntries, 'the deleted user is a tombstone');
        expect(tombstone.isDeleted).toBe('TRUE');
        expect(tombstone.dn).toContain('CN=Deleted Objects');
        expect(Number(tombstone.uSNChanged)).toBeGreaterThan(usnBefore);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
    SAMBA_TEST_TIMEOUT_MS,
  );
});
