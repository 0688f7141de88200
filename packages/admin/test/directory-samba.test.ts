/**
 * The AD bridge (`syncDirectory`, `spec/directory.md` §3) against a real Samba Active Directory
 * domain controller (`helpers/samba-dc.ts`), read over LDAPS with the DC's own CA, and a real
 * Cloister server through its SCIM endpoint: the leaver and joiner matrix of
 * `helpers/directory.ts` (incremental runs by `uSNChanged`, deletions by tombstones with the Show
 * Deleted control, ids as `objectGUID` strings, a group mapped by its `objectGUID`), then what is
 * AD's own: a deleted user restored from its tombstone keeps its `objectGUID`, is recognised as the
 * same user and is not re-enabled (`spec/directory-tests.md` §5).
 *
 * Without Samba (or as a non-root user) the file says plainly that it did NOT run; under
 * `CI=true` that is a failure.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change, Client, Control } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidToString, SHOW_DELETED_OID } from '../src/node.js';
import {
  adDriver,
  type Bridge,
  byGuid,
  counts,
  type DirectoryDriver,
  leaverJoinerMatrix,
  type MatrixContext,
  mayRun,
  replace,
  startBridge,
} from './helpers/directory.js';
import { type SambaDc, sambaAvailable, startSambaDc } from './helpers/samba-dc.js';

describe('AD bridge against a Samba AD domain controller', () => {
  let dc: SambaDc | undefined;
  let ldap: Client | undefined;
  let bridge: Bridge | undefined;
  let context: MatrixContext | undefined;

  beforeAll(async () => {
    if (!mayRun('Samba AD bridge', sambaAvailable())) return;
    // The Cloister server starts while the domain is provisioned.
    const started = startSambaDc();
    dc = await started;
    console.info(
      `[directories] samba-tool provisioned in ${dc.provisionMs} ms; samba answered after ${dc.startMs} ms`,
    );
    ldap = new Client({ url: dc.ldapsUrl, tlsOptions: dc.tls });
    await ldap.bind(dc.bindDN, dc.password);
    const driver: DirectoryDriver = await adDriver(ldap, dc.baseDN);
    const staff = await driver.addGroup('staff', []);
    const sales = await driver.addGroup('sales', []);
    const { searchEntries } = await ldap.search(sales, {
      scope: 'base',
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID'],
    });
    const salesGuid = guidToString(searchEntries[0]?.objectGUID as Buffer);
    bridge = await startBridge({
      kind: 'ad',
      url: dc.ldapsUrl,
      tls: { caFile: 'ca.pem', servername: dc.tls.servername },
      bindDN: dc.bindDN,
      bindPasswordFile: 'ldap-password',
      users: { baseDNs: [driver.people] },
      groups: [
        { group: staff, pool: 'staff' },
        // By objectGUID: the mapping survives a rename of the group.
        { group: salesGuid, pool: 'sales' },
      ],
    });
    writeFileSync(join(bridge.dir, 'ldap-password'), `${dc.password}\n`, { mode: 0o600 });
    writeFileSync(join(bridge.dir, 'ca.pem'), [dc.tls.ca].flat().join('\n'));
    await bridge.tenant.admin.pools.create('staff', 'staff');
    await bridge.tenant.admin.pools.create('sales', 'sales');
    context = { driver, bridge, staff, sales };
  }, 360_000);

  afterAll(async () => {
    await ldap?.unbind().catch(() => undefined);
    await bridge?.close();
    await dc?.stop();
  });

  leaverJoinerMatrix(() => context);

  it('restored from its tombstone (same objectGUID): the same user, still blocked, reenable-requested', async () => {
    const c = context;
    if (c === undefined || ldap === undefined || dc === undefined) return;
    const kim = await c.driver.addUser('kim');
    expect(counts(await c.bridge.sync())).toEqual({ create: 1 });
    const before = await c.bridge.userOf(kim.id);
    await c.driver.remove(kim);
    expect(counts(await c.bridge.sync())).toEqual({ leave: 1 });
    expect((await c.bridge.userOf(kim.id)).blocked).toBe(true);

    // Tombstone reanimation (MS-ADTS 3.1.1.5.3.7.3): remove isDeleted and give the object a DN
    // again, with the Show Deleted control.
    const showDeleted = new Control(SHOW_DELETED_OID, { critical: true });
    const { searchEntries } = await ldap.search(
      dc.baseDN,
      { filter: byGuid(kim.id), attributes: ['isDeleted'] },
      showDeleted,
    );
    const tombstone = searchEntries[0];
    expect(tombstone?.isDeleted).toBe('TRUE');
    await ldap.modify(
      tombstone?.dn as string,
      [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'isDeleted' }) }),
        replace('distinguishedName', [kim.dn]),
      ],
      showDeleted,
    );
    const restored = await ldap.search(dc.baseDN, { filter: byGuid(kim.id), attributes: ['cn'] });
    expect(restored.searchEntries[0]?.dn).toBe(kim.dn);

    const result = await c.bridge.sync();
    expect(result.plan.actions).toContainEqual({
      kind: 'reenable-requested',
      id: before.id,
      externalId: kim.id,
    });
    expect(result.plan.counts.create).toBe(0);
    const after = await c.bridge.userOf(kim.id);
    expect(after.id).toBe(before.id);
    expect(after.blocked).toBe(true);
  }, 60_000);
});
