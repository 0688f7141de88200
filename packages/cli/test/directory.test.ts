/**
 * `cloister directory sync` against a real OpenLDAP (`slapd`, the admin package's harness) and a
 * Cloister server with a SCIM token of source `ldap:corp`: `--dry-run` prints the plan and changes
 * nothing; a run applies it; a plan above `--max-disable` stops with exit code 4 and says what to
 * do, `--force` applies it; a configuration that does not validate is exit code 2 and names the
 * field. Without `slapd` the file says that it did NOT run (a failure under `CI=true`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bridge,
  type DirectoryDriver,
  LdapClient,
  mayRun,
  openLdapDriver,
  startBridge,
  type TestUser,
} from '../../admin/test/helpers/directory.js';
import { type Slapd, slapdAvailable, startSlapd } from '../../admin/test/helpers/slapd.js';
import { EXIT } from '../src/index.js';
import { start } from './helpers.js';

describe('cloister directory sync', () => {
  let slapd: Slapd | undefined;
  let ldap: LdapClient | undefined;
  let bridge: Bridge | undefined;
  let driver: DirectoryDriver | undefined;
  let configFile = '';
  const users: TestUser[] = [];

  beforeAll(async () => {
    if (!mayRun('OpenLDAP CLI', slapdAvailable())) return;
    slapd = await startSlapd();
    ldap = new LdapClient({ url: slapd.url });
    await ldap.bind(slapd.bindDN, slapd.password);
    driver = await openLdapDriver(ldap, slapd.baseDN);
    const directory = {
      kind: 'openldap',
      url: slapd.url,
      insecurePlainLdap: true,
      bindDN: slapd.bindDN,
      bindPasswordFile: 'ldap-password',
      users: { baseDNs: [driver.people] },
      accesslogDN: slapd.accesslogDN,
    };
    bridge = await startBridge(directory);
    writeFileSync(join(bridge.dir, 'ldap-password'), `${slapd.password}\n`, { mode: 0o600 });
    configFile = join(bridge.dir, 'corp.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        name: 'corp',
        ...directory,
        server: bridge.config.server,
        scimToken: { file: 'token' },
        stateFile: 'state.json',
      }),
    );
    for (const name of ['amy', 'ben']) users.push(await driver.addUser(name));
  }, 120_000);

  afterAll(async () => {
    await ldap?.unbind().catch(() => undefined);
    await bridge?.close();
    await slapd?.stop();
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    if (bridge === undefined) return;
    const { code, stdout } = await start(['directory', 'sync', '--config', configFile, '--dry-run']).done;
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('directory ldap:corp (openldap): full run (no-state)');
    expect(stdout).toContain('plan: 2 to create');
    expect(stdout).toContain(`  create ${users[0]?.id}`);
    expect(stdout).toContain('dry run: nothing was changed');
    expect(await bridge.scim.listUsers('externalId pr')).toEqual([]);
  }, 30_000);

  it('applies the plan; above --max-disable it stops with exit code 4, --force applies', async () => {
    if (bridge === undefined || driver === undefined) return;
    const first = await start(['directory', 'sync', '--config', configFile]).done;
    expect(first.code).toBe(EXIT.ok);
    expect(first.stdout).toContain('plan: 2 to create');
    expect(first.stdout).toContain('applied 2 changes; state saved');
    expect(await bridge.scim.listUsers('externalId pr')).toHaveLength(2);

    for (const u of users) await driver.disable(u);
    const stopped = await start(['directory', 'sync', '--config', configFile, '--max-disable', '1']).done;
    expect(stopped.code).toBe(EXIT.threshold);
    expect(stopped.stdout).toContain('plan: 2 to disable');
    expect(stopped.stderr).toContain('more than the threshold of 1; nothing was applied');
    expect(stopped.stderr).toContain('--max-disable 2 or --force');
    for (const u of users) expect((await bridge.userOf(u.id)).blocked).toBe(false);

    const forced = await start(['directory', 'sync', '--config', configFile, '--max-disable', '1', '--force'])
      .done;
    expect(forced.code).toBe(EXIT.ok);
    expect(forced.stdout).toContain('plan: 2 to disable');
    for (const u of users) expect((await bridge.userOf(u.id)).blocked).toBe(true);
  }, 60_000);

  it('a configuration that does not validate is a usage error naming the field, not its value', async () => {
    if (bridge === undefined) return;
    const bad = join(bridge.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'corp', kind: 'novell', secret: 'hunter2' }));
    const { code, stderr } = await start(['directory', 'sync', '--config', bad]).done;
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('the configuration is not valid: config.');
    expect(stderr).not.toContain('hunter2');
    expect(stderr).not.toContain('novell');
  }, 30_000);
});
