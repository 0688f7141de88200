/**
 * `cloister server start`, `cloister admin …` and `cloister org …` end to end against a running
 * server (embedded database): the operator creates a tenant with its owner; the owner logs in with
 * password and TOTP, creates and registers the organisation root, delegates, invites a user whose
 * device enrols with the enrolment code (pinning the root), invites with `--managed` (the managed
 * configuration as JSON, plist and Android XML), reads the user's activity and the
 * tenant's storage usage, wipes that device with a command signed
 * on the administrator's side, and reads the audit log. Nothing secret lands in the admin
 * directory in clear or on stdout where it should not.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDeviceListPins, deviceListPin, encodeDeviceListPins } from '@cloister/admin';
import { deviceId, generateDeviceIdentity, getProvider, toPublicIdentity } from '@cloister/crypto';
import { parseManagedConfig, signDeviceList, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminSessionJson,
  EXIT,
  type OrgCertifyJson,
  type OrgInitJson,
  type StartJsonLine,
  type TenantCreateJson,
  type UserInviteJson,
  type WipeJson,
} from '../src/index.js';
import { cli, type Running, removeTempDirs, seedDatabase, start, tempDir } from './helpers.js';
import { totpCode } from './totp.js';

const PASSWORD = 'owner password 1234';
const PASSPHRASE = 'admin passphrase 5678';
const ROOT_PASSPHRASE = 'root passphrase 9012';
const DEVICE_PIN = '2468-1357';

describe('cloister admin and org against a running server', () => {
  const serverDir = tempDir();
  const adminDir = tempDir();
  const aliceDir = tempDir();
  const secrets = tempDir();
  const files = {
    password: join(secrets, 'password'),
    passphrase: join(secrets, 'passphrase'),
    root: join(secrets, 'root-passphrase'),
    pin: join(secrets, 'pin'),
    policy: join(secrets, 'policy.json'),
  };
  let server: Running;
  let line: StartJsonLine;
  let owner: TenantCreateJson['owner'];
  let fingerprint: string;
  let aliceDevice: number;
  const connect = () => ['--server', line.url, '--server-pin', line.pin];
  const as = (...argv: string[]) => [...argv, '--admin-dir', adminDir, '--passphrase-file', files.passphrase];

  beforeAll(async () => {
    writeFileSync(files.password, `${PASSWORD}\n`);
    writeFileSync(files.passphrase, `${PASSPHRASE}\n`);
    writeFileSync(files.root, `${ROOT_PASSPHRASE}\n`);
    writeFileSync(files.pin, `${DEVICE_PIN}\n`);
    // The server's and alice's device's databases: one made, two copies.
    await seedDatabase(serverDir);
    await seedDatabase(aliceDir);
    server = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      serverDir,
      '--log-level',
      'silent',
    ]);
    line = JSON.parse(await server.firstLine()) as StartJsonLine;
  });

  afterAll(async () => {
    server.signal('SIGTERM');
    await server.done;
    removeTempDirs();
  });

  it('server start generated an operator token of 43 characters, mode 0600, not printed', () => {
    expect(line.operatorTokenFile).toBe(join(serverDir, 'operator.token'));
    expect(statSync(line.operatorTokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(line.operatorTokenFile, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(server.stdout() + server.stderr()).not.toContain(token);
  });

  it('the operator creates the tenant and its owner; a wrong operator token is refused', async () => {
    const wrong = join(secrets, 'wrong-token');
    writeFileSync(wrong, `${'A'.repeat(43)}\n`);
    const refused = await cli([
      'admin',
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME',
      '--owner-email',
      'olivia@acme.example',
      '--owner-name',
      'Olivia',
      '--owner-password-file',
      files.password,
      '--operator-token-file',
      wrong,
      ...connect(),
    ]);
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toMatch(/not authenticated/);
    const created = await cli([
      'admin',
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME',
      '--domain',
      'acme.example',
      '--owner-email',
      'olivia@acme.example',
      '--owner-name',
      'Olivia',
      '--owner-password-file',
      files.password,
      '--operator-token-file',
      line.operatorTokenFile,
      ...connect(),
      '--json',
    ]);
    expect(created.stderr).toMatch(/shown only this once/);
    expect(created.code).toBe(EXIT.ok);
    const out = JSON.parse(created.stdout) as TenantCreateJson;
    expect(out).toMatchObject({ tenant: 'acme', name: 'ACME', domains: ['acme.example'] });
    expect(out.owner.totpUri).toMatch(/^otpauth:\/\/totp\//);
    expect(out.owner.recoveryCodes).toHaveLength(10);
    owner = out.owner;
  });

  it('the owner logs in; the session is stored encrypted (0600, no token in clear)', async () => {
    const badTotp = await cli(
      as(
        'admin',
        'login',
        ...connect(),
        '--tenant',
        'acme',
        '--email',
        'olivia@acme.example',
        '--password-file',
        files.password,
        '--totp',
        totpCode(owner.totpUri, 5),
      ),
    );
    expect(badTotp.code).toBe(EXIT.failure);
    expect(badTotp.stderr).toMatch(/not authenticated/);
    const login = await cli(
      as(
        'admin',
        'login',
        ...connect(),
        '--tenant',
        'acme',
        '--email',
        'olivia@acme.example',
        '--password-file',
        files.password,
        '--totp',
        totpCode(owner.totpUri),
        '--json',
      ),
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(EXIT.ok);
    const me = JSON.parse(login.stdout) as AdminSessionJson;
    expect(me).toMatchObject({ tenant: 'acme', admin: owner.admin, role: 'owner' });
    const path = join(adminDir, 'session.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const stored = readFileSync(path, 'utf8');
    expect(JSON.parse(stored)).toMatchObject({
      format: 'cloister-admin/session/v1',
      tenant: 'acme',
      admin: owner.admin,
    });
    expect(stored).not.toContain(PASSWORD);
    const whoami = await cli(as('admin', 'whoami', '--json'));
    expect(whoami.code).toBe(EXIT.ok);
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      admin: owner.admin,
      role: 'owner',
      email: 'olivia@acme.example',
    });
    const wrongPassphrase = join(secrets, 'wrong-passphrase');
    writeFileSync(wrongPassphrase, 'not the passphrase at all\n');
    const refused = await cli([
      'admin',
      'whoami',
      '--admin-dir',
      adminDir,
      '--passphrase-file',
      wrongPassphrase,
    ]);
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toBe('error: the passphrase does not open the key store\n');
  });

  it('org init creates the root and the owner key (encrypted); org register and delegate publish them', async () => {
    const init = await cli(as('org', 'init', '--root-passphrase-file', files.root, '--json'));
    expect(init.stderr).toBe('');
    expect(init.code).toBe(EXIT.ok);
    const out = JSON.parse(init.stdout) as OrgInitJson;
    expect(out).toMatchObject({ tenant: 'acme', admin: owner.admin });
    expect(out.fingerprint).toMatch(/^cloister-root:v1:[A-Za-z0-9_-]{43}$/);
    fingerprint = out.fingerprint;
    for (const f of [out.rootKeyFile, out.signingKeyFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const again = await cli(as('org', 'init', '--root-passphrase-file', files.root));
    expect(again.code).toBe(EXIT.usage);
    const register = await cli(as('org', 'register', '--json'));
    expect(register.stderr).toBe('');
    expect(register.code).toBe(EXIT.ok);
    expect(JSON.parse(register.stdout)).toEqual({ fingerprint });
    const twice = await cli(as('org', 'register'));
    expect(twice.code).toBe(EXIT.failure);
    expect(twice.stderr).toMatch(/organisation-root/);
    const delegate = await cli(as('org', 'delegate', '--json'));
    expect(delegate.stderr).toBe('');
    expect(delegate.code).toBe(EXIT.ok);
    expect(JSON.parse(delegate.stdout)).toMatchObject({ sequence: 1 });
    const show = await cli(as('admin', 'tenant', 'show', '--json'));
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'acme', rootFingerprint: fingerprint });
  });

  it('invites alice with an enrolment code the admin checked; her device enrols with it and pins the root', async () => {
    const invite = await cli(as('admin', 'users', 'invite', 'alice', '--display-name', 'Alice', '--json'));
    expect(invite.code).toBe(EXIT.ok);
    const out = JSON.parse(invite.stdout) as UserInviteJson;
    expect(out).toMatchObject({ user: 'alice', rootFingerprint: fingerprint, rootVerified: true });
    expect(out.enrolmentCode).toHaveLength(87);
    expect(out.enrolmentCode?.endsWith(fingerprint.slice('cloister-root:v1:'.length))).toBe(true);
    const enrolled = await cli([
      'client',
      'enroll',
      '--data-dir',
      aliceDir,
      ...connect(),
      '--token',
      out.enrolmentCode as string,
      '--pin-file',
      files.pin,
      '--json',
    ]);
    expect(enrolled.stderr).toBe('');
    expect(enrolled.code).toBe(EXIT.ok);
    aliceDevice = (JSON.parse(enrolled.stdout) as { device: number }).device;
    const users = await cli(as('admin', 'users', 'list', '--json'));
    expect(JSON.parse(users.stdout).items.map((u: { id: string }) => u.id)).toEqual(['alice']);
    const devices = await cli(as('admin', 'devices', 'list', 'alice', '--json'));
    expect(JSON.parse(devices.stdout).items.map((d: { id: number }) => d.id)).toEqual([aliceDevice]);
    const activity = await cli(as('admin', 'users', 'activity', 'alice', '--json'));
    expect(JSON.parse(activity.stdout)).toMatchObject({ user: 'alice', deviceCount: 1 });
    const usage = await cli(as('admin', 'usage', '--json'));
    expect(usage.code).toBe(EXIT.ok);
    expect(JSON.parse(usage.stdout)).toMatchObject({
      blobs: { bytes: 0, count: 0 },
      archive: { bytes: 0, count: 0 },
      quotas: { tenantMaxBytes: 2 ** 40, blobMaxBytesPerDevice: 8 * 2 ** 30, blobMaxCountPerDevice: 1000 },
    });
    const usageText = await cli(as('admin', 'usage'));
    expect(usageText.stdout).toMatch(/^blobs: 0 \(0 bytes\); archive: 0 item\(s\) \(0 bytes\)$/m);
    expect(usageText.stdout).toMatch(/^tenant quota: 0 bytes of 1\.0 TiB \(blobs and archive\)$/m);
  });

  it('invites with --managed: the managed configuration as JSON, plist or Android XML, with the root', async () => {
    const json = await cli(as('admin', 'users', 'invite', 'mdm-max', '--managed'));
    expect(json.code).toBe(EXIT.ok);
    expect(json.stderr).toMatch(/single-use enrolment token/);
    const config = parseManagedConfig(JSON.parse(json.stdout));
    expect(config).toMatchObject({
      serverUrl: line.url,
      serverPin: line.pin,
      organisationRoot: fingerprint,
      tenant: 'acme',
      userHint: 'mdm-max',
    });
    const plist = await cli(as('admin', 'users', 'invite', 'mdm-max', '--managed', '--format', 'plist'));
    expect(plist.code).toBe(EXIT.ok);
    expect(plist.stdout).toMatch(/^<\?xml[\s\S]*<plist version="1.0">[\s\S]*<key>enrolmentToken<\/key>/);
    expect(plist.stdout).toContain(`<string>${fingerprint}</string>`);
    const android = await cli(
      as('admin', 'users', 'invite', 'mdm-max', '--managed', '--format', 'android-xml'),
    );
    expect(android.code).toBe(EXIT.ok);
    expect(android.stdout).toContain('android:key="enrolmentToken"');
    expect(android.stdout).toContain(`android:defaultValue="${fingerprint}"`);
    const bad = await cli(as('admin', 'users', 'invite', 'mdm-max', '--managed', '--format', 'yaml'));
    expect(bad.code).not.toBe(EXIT.ok);
    const unmanaged = await cli(as('admin', 'users', 'invite', 'mdm-max', '--format', 'plist'));
    expect(unmanaged.code).toBe(EXIT.usage);
    expect(unmanaged.stderr).toMatch(/--format needs --managed/);
    const tooLong = await cli(as('admin', 'users', 'invite', 'mdm-max', '--managed', '--ttl', '73h'));
    expect(tooLong.code).toBe(EXIT.failure);
  });

  it('blocks and unblocks, signs a policy layer, sends a broadcast and reads its counts', async () => {
    const block = await cli(as('admin', 'users', 'block', 'alice', '--json'));
    expect(JSON.parse(block.stdout)).toMatchObject({ id: 'alice', blocked: true });
    const unblock = await cli(as('admin', 'users', 'unblock', 'alice', '--json'));
    expect(JSON.parse(unblock.stdout)).toMatchObject({ id: 'alice', blocked: false });
    writeFileSync(files.policy, JSON.stringify({ files: { enabled: false, locked: true } }));
    const policy = await cli(
      as('admin', 'policy', 'set', '--layer', 'user:alice', '--file', files.policy, '--json'),
    );
    expect(policy.stderr).toBe('');
    expect(policy.code).toBe(EXIT.ok);
    expect(JSON.parse(policy.stdout)).toEqual({
      kind: 'policy-layer',
      sequence: 1,
      scope: 'policy-layer/user/alice',
    });
    const archive = join(secrets, 'archive.json');
    writeFileSync(
      archive,
      JSON.stringify({ archive: { enabled: true, locked: true, config: { publicKey: 'A'.repeat(43) } } }),
    );
    const refused = await cli(as('admin', 'policy', 'set', '--layer', 'user:alice', '--file', archive));
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toMatch(/forbidden/);
    const broadcast = await cli(as('admin', 'broadcast', 'send', '--text', 'Fire drill at 3 pm', '--json'));
    expect(broadcast.stderr).toBe('');
    expect(broadcast.code).toBe(EXIT.ok);
    const sent = JSON.parse(broadcast.stdout) as { broadcastId: string; queued: number };
    expect(sent).toMatchObject({ sequence: 1, duplicates: 0 });
    const status = await cli(as('admin', 'broadcast', 'status', sent.broadcastId, '--json'));
    expect(status.code).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({
      broadcastId: sent.broadcastId,
      devices: sent.queued,
      read: 0,
    });
    const text = await cli(as('admin', 'broadcast', 'status', sent.broadcastId));
    expect(text.stdout).toBe(`broadcast ${sent.broadcastId}: ${sent.queued} devices, 0 delivered, 0 read\n`);
  });

  it('pins the users’ device lists in the administrator directory between two broadcast runs', async () => {
    const path = join(adminDir, 'device-list-pins.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const provider = await getProvider();
    const written = await decodeDeviceListPins(provider, readFileSync(path, 'utf8'));
    expect(written.map((p) => [p.user, p.epoch, p.held])).toEqual([['alice', 1, undefined]]);
    const served = written[0]?.list as Uint8Array;
    // The file is what the next run holds the server's list against: pinned there, another chain
    // of Alice's makes the list the server serves a reset.
    const other = await generateDeviceIdentity(provider);
    const otherChain = await signDeviceList(
      provider,
      {
        tenant: tenantId('acme'),
        user: userId('alice'),
        epoch: 1,
        issuedAtMs: Date.now(),
        previous: new Uint8Array(32),
        root: new Uint8Array(32),
        signer: { kind: 'device', deviceId: deviceId(9) },
        devices: [{ deviceId: deviceId(9), identity: toPublicIdentity(other), addedAtMs: Date.now() }],
      },
      other.signingKeyPair.privateKey,
    );
    writeFileSync(path, encodeDeviceListPins([await deviceListPin(provider, 'alice', otherChain)]), {
      mode: 0o600,
    });
    const refused = await cli(as('admin', 'broadcast', 'send', '--text', 'Second drill', '--json'));
    expect(refused.stderr).toBe('');
    expect(JSON.parse(refused.stdout)).toMatchObject({
      queued: 0,
      refused: [{ user: 'alice', device: aliceDevice, reason: 'device-list-reset' }],
    });
    const held = await decodeDeviceListPins(provider, readFileSync(path, 'utf8'));
    expect(held.map((p) => [p.list, p.held])).toEqual([[otherChain, served]]);
    const text = await cli(as('admin', 'broadcast', 'send', '--text', 'Second drill'));
    expect(text.stdout).toMatch(/refused alice\/\d+: device-list-reset\n.*--accept-reset <user>\)\n$/);
    // The administrator accepts the list the server serves: it is pinned again and reached.
    const nothingHeld = await cli(as('admin', 'broadcast', 'send', '--text', 'x', '--accept-reset', 'bob'));
    expect(nothingHeld.code).toBe(EXIT.usage);
    const accepted = await cli(
      as('admin', 'broadcast', 'send', '--text', 'Second drill', '--accept-reset', 'alice', '--json'),
    );
    expect(accepted.stderr).toBe('');
    expect(JSON.parse(accepted.stdout)).toMatchObject({ queued: 1, refused: [] });
    const pinned = await decodeDeviceListPins(provider, readFileSync(path, 'utf8'));
    expect(pinned.map((p) => [p.list, p.held])).toEqual([[served, undefined]]);
  });

  it('a second administrator creates a key, an owner certifies it, and it signs', async () => {
    const carolDir = tempDir();
    const carol = (...argv: string[]) => [
      ...argv,
      '--admin-dir',
      carolDir,
      '--passphrase-file',
      files.passphrase,
    ];
    const invited = await cli(
      as(
        'admin',
        'admins',
        'invite',
        '--email',
        'carol@acme.example',
        '--name',
        'Carol',
        '--role',
        'admin',
        '--password-file',
        files.password,
        '--json',
      ),
    );
    expect(invited.code).toBe(EXIT.ok);
    const { admin, totpUri } = JSON.parse(invited.stdout) as { admin: { id: string }; totpUri: string };
    const login = await cli(
      carol(
        'admin',
        'login',
        ...connect(),
        '--tenant',
        'acme',
        '--email',
        'carol@acme.example',
        '--password-file',
        files.password,
        '--totp',
        totpCode(totpUri),
      ),
    );
    expect(login.code).toBe(EXIT.ok);
    // Without a signing key she cannot sign.
    const unsigned = await cli(carol('admin', 'broadcast', 'send', '--text', 'hello'));
    expect(unsigned.code).toBe(EXIT.usage);
    expect(unsigned.stderr).toMatch(/signing-key\.json does not exist/);
    const created = await cli(carol('admin', 'key', 'create', '--json'));
    expect(created.code).toBe(EXIT.ok);
    const { publicKey } = JSON.parse(created.stdout) as { publicKey: string };
    const certified = await cli(
      as(
        'org',
        'certify',
        '--admin',
        admin.id,
        '--role',
        'admin',
        '--public-key',
        publicKey,
        '--root-passphrase-file',
        files.root,
        '--json',
      ),
    );
    expect(certified.stderr).toBe('');
    expect(certified.code).toBe(EXIT.ok);
    const cert = JSON.parse(certified.stdout) as OrgCertifyJson;
    expect(cert).toMatchObject({ admin: admin.id, role: 'admin', rootFingerprint: fingerprint });
    const install = (fp: string) =>
      cli(
        carol(
          'admin',
          'key',
          'install',
          '--certificate',
          cert.certificate,
          '--root-public-key',
          cert.rootPublicKey,
          '--root-fingerprint',
          fp,
        ),
      );
    const wrongFp = await install(`cloister-root:v1:${'A'.repeat(43)}`);
    expect(wrongFp.code).toBe(EXIT.failure);
    expect(wrongFp.stderr).toMatch(/not the key of --root-fingerprint/);
    expect((await install(cert.rootFingerprint)).code).toBe(EXIT.ok);
    const signed = await cli(
      carol('admin', 'broadcast', 'send', '--text', 'From Carol', '--user', 'alice', '--json'),
    );
    expect(signed.stderr).toBe('');
    // After the owner's four broadcasts (one, then three while the pins were tried).
    expect(JSON.parse(signed.stdout)).toMatchObject({ sequence: 5 });
    const delegation = await cli(carol('org', 'delegate'));
    expect(delegation.code).toBe(EXIT.failure);
    expect(delegation.stderr).toMatch(/forbidden/);
  });

  it('wipes alice’s device with a signed command; the device wipes itself and the status is confirmed', async () => {
    const wiped = await cli(as('admin', 'devices', 'wipe', 'alice', String(aliceDevice), '--json'));
    expect(wiped.stderr).toBe('');
    expect(wiped.code).toBe(EXIT.ok);
    const issued = JSON.parse(wiped.stdout) as WipeJson;
    expect(issued).toMatchObject({ user: 'alice', device: aliceDevice, state: 'pending' });
    const listening = await cli([
      'client',
      'listen',
      '--data-dir',
      aliceDir,
      '--pin-file',
      files.pin,
      '--timeout',
      '20000',
    ]);
    expect(listening.code).toBe(EXIT.failure);
    expect(listening.stderr).toContain('this client was wiped');
    const status = await cli(as('admin', 'devices', 'wipe-status', 'alice', String(aliceDevice), '--json'));
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'confirmed', commandId: issued.commandId });
  });

  it('searches, verifies and exports the audit log; step-up and logout', async () => {
    const search = await cli(as('admin', 'audit', 'search', '--action', 'device.wipe', '--json'));
    expect(search.code).toBe(EXIT.ok);
    expect(JSON.parse(search.stdout).items.length).toBeGreaterThan(0);
    const verify = await cli(as('admin', 'audit', 'verify', '--json'));
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const exported = await cli(as('admin', 'audit', 'export'));
    expect(exported.code).toBe(EXIT.ok);
    const records = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string });
    expect(records.map((r) => r.action)).toContain('organisation.root');
    const stepUp = await cli(as('admin', 'step-up', '--totp', totpCode(owner.totpUri, 1), '--json'));
    expect(stepUp.stderr).toBe('');
    expect(stepUp.code).toBe(EXIT.ok);
    const logout = await cli(as('admin', 'logout'));
    expect(logout.code).toBe(EXIT.ok);
    const after = await cli(as('admin', 'whoami'));
    expect(after.code).toBe(EXIT.usage);
    expect(after.stderr).toMatch(/cloister admin login/);
  });
});
