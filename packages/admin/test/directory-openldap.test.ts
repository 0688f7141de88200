/**
 * The LDAP bridge (`syncDirectory`, `spec/directory.md` §3) against a real OpenLDAP (Debian's
 * `slapd`, `helpers/slapd.ts`) and a real Cloister server through its SCIM endpoint: the leaver and
 * joiner matrix of `helpers/directory.ts`, then what is OpenLDAP's own: a deleted user re-added
 * under the same name is a new identity (a new `entryUUID`), and the old one stays blocked; a
 * configured disabled flag (`employeeType: inactive`) also disables (`spec/directory-tests.md` §5).
 *
 * Without `slapd` the file says plainly that it did NOT run; under `CI=true` that is a failure.
 */
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bridge,
  counts,
  type DirectoryDriver,
  leaverJoinerMatrix,
  type MatrixContext,
  mayRun,
  openLdapDriver,
  replace,
  startBridge,
} from './helpers/directory.js';
import { type Slapd, slapdAvailable, startSlapd } from './helpers/slapd.js';

describe('LDAP bridge against OpenLDAP (slapd)', () => {
  let slapd: Slapd | undefined;
  let ldap: Client | undefined;
  let bridge: Bridge | undefined;
  let context: MatrixContext | undefined;

  beforeAll(async () => {
    if (!mayRun('OpenLDAP bridge', slapdAvailable())) return;
    slapd = await startSlapd();
    ldap = new Client({ url: slapd.url });
    await ldap.bind(slapd.bindDN, slapd.password);
    const driver: DirectoryDriver = await openLdapDriver(ldap, slapd.baseDN);
    const staff = await driver.addGroup('staff', []);
    const sales = await driver.addGroup('sales', []);
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    bridge = await startBridge({
      kind: 'openldap',
      url: slapd.url,
      // The test server listens on 127.0.0.1 only, without TLS (spec/directory-tests.md §2).
      insecurePlainLdap: true,
      bindDN: slapd.bindDN,
      bindPasswordFile: 'ldap-password',
      users: { baseDNs: [driver.people] },
      accesslogDN: slapd.accesslogDN,
      disabled: { attribute: 'employeeType', values: ['inactive'] },
      groups: [
        { group: staff, pool: 'staff' },
        { group: sales, pool: 'sales' },
      ],
    });
    writeFileSync(join(bridge.dir, 'ldap-password'), `${slapd.password}\n`, { mode: 0o600 });
    await bridge.tenant.admin.pools.create('staff', 'staff');
    await bridge.tenant.admin.pools.create('sales', 'sales');
    context = { driver, bridge, staff, sales };
  }, 120_000);

  afterAll(async () => {
    await ldap?.unbind().catch(() => undefined);
    await bridge?.close();
    await slapd?.stop();
  });

  leaverJoinerMatrix(() => context);

  it('re-added under the same name after a delete: a new identity; the old one stays blocked', async () => {
    const c = context;
    if (c === undefined) return;
    const first = await c.driver.addUser('henry');
    await c.bridge.sync();
    const old = await c.bridge.userOf(first.id);
    await c.driver.remove(first);
    expect(counts(await c.bridge.sync())).toEqual({ leave: 1 });
    // OpenLDAP gives the new entry a new entryUUID: nothing links it to the old user.
    const again = await c.driver.addUser('henry', { mail: 'henry.again@example.org' });
    expect(again.id).not.toBe(first.id);
    expect(counts(await c.bridge.sync())).toEqual({ create: 1 });
    const fresh = await c.bridge.userOf(again.id);
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.blocked).toBe(false);
    expect((await c.bridge.userOf(first.id)).blocked).toBe(true);
  }, 30_000);

  it('a configured disabled flag (employeeType: inactive) disables as pwdAccountLockedTime does', async () => {
    const c = context;
    if (c === undefined || ldap === undefined) return;
    const ivy = await c.driver.addUser('ivy');
    expect(counts(await c.bridge.sync())).toEqual({ create: 1 });
    await ldap.modify(ivy.dn, replace('employeeType', ['inactive']));
    expect(counts(await c.bridge.sync())).toEqual({ disable: 1 });
    expect((await c.bridge.userOf(ivy.id)).blocked).toBe(true);
  }, 30_000);
});
