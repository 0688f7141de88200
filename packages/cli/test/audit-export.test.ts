/**
 * `cloister audit search|export` on a server holding archive items: two auditors logged in with
 * the CLI, the ceremony run with the CLI, items filed on the server (sealed to the ceremony's key
 * by members whose certificates the test's tenant key issued; one filed on another delivery, one
 * sealed by a member in another's name), then searched and exported in every format. The records
 * that are not valid are in the output and the exit code is 5.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import {
  getProvider,
  issueSenderCertificate,
  type SenderCertificate,
  sealArchived,
  utf8,
} from '@cloister/crypto';
import { encodeContent, tenantId } from '@cloister/protocol';
import { type CloisterServer, createServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FINDINGS_EXIT } from '../src/commands/audit.js';
import { EXIT } from '../src/index.js';
import { cli, tempDir } from './helpers.js';
import { totpCode } from './totp.js';

describe('cloister audit search and export with items', () => {
  const work = tempDir('cloister-cli-audit-export-');
  let server: CloisterServer;
  let url: string;
  const write = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, `${text}\n`, { mode: 0o600 });
    return path;
  };
  const people: Record<string, (...argv: string[]) => ReturnType<typeof cli>> = {};
  const auditorPass = () => join(work, 'auditor-pass');

  beforeAll(async () => {
    const operatorToken = randomBytes(32).toString('base64url');
    server = await createServer({
      dataDir: join(work, 'server'),
      logLevel: 'silent',
      operatorToken,
      rateLimitPerMinute: 1_000_000,
    });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
    const provider = await getProvider();
    const transport = () => pinnedTransport({ url, pin: server.pin });
    const operator = new AdminClient({
      transport: transport(),
      provider,
      credential: { kind: 'operator', token: operatorToken },
    });
    const password = 'owner password 1234';
    const created = await operator.createTenant({
      id: 'acme',
      name: 'ACME',
      owner: { email: 'olivia@acme.example', name: 'Olivia', password },
    });
    const { client: owner } = await AdminClient.login(
      { transport: transport(), provider },
      { tenant: 'acme', email: 'olivia@acme.example', password, totp: totpCode(created.owner.totpUri) },
    );
    write('auditor-pass', 'auditor passphrase 1234');
    for (const name of ['ada', 'bea']) {
      const pw = write(`${name}-password`, `${name} password 1234`);
      const invited = await owner.inviteAdministrator({
        email: `${name}@acme.example`,
        name,
        role: 'auditor',
        password: `${name} password 1234`,
      });
      const adminPass = write(`${name}-admin-pass`, `${name} admin passphrase 1234`);
      const dir = join(work, `${name}-admin`);
      const run = (...argv: string[]) => cli([...argv, '--admin-dir', dir, '--passphrase-file', adminPass]);
      const login = await run(
        'admin',
        'login',
        '--server',
        url,
        '--server-pin',
        server.pin,
        '--tenant',
        'acme',
        '--email',
        `${name}@acme.example`,
        '--password-file',
        pw,
        '--totp',
        totpCode((invited as { totpUri: string }).totpUri),
      );
      expect(login.code, login.stderr).toBe(EXIT.ok);
      expect(
        (
          await cli([
            'audit',
            'keygen',
            '--holder',
            name,
            '--out',
            join(work, name),
            '--auditor-passphrase-file',
            auditorPass(),
          ])
        ).code,
      ).toBe(EXIT.ok);
      people[name] = run;
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('reports what is not valid in every format and exits 5', async () => {
    const ada = people.ada!;
    const bea = people.bea!;
    const made = await ada(
      'audit',
      'key-set',
      'create',
      '--threshold',
      '2',
      '--auditor',
      `ada=${join(work, 'ada.pub.json')}`,
      '--auditor',
      `bea=${join(work, 'bea.pub.json')}`,
      '--json',
    );
    expect(made.code, made.stderr).toBe(EXIT.ok);
    const listed = await bea('audit', 'key-set', 'list', '--json');
    const archivePublicKey = new Uint8Array(
      Buffer.from(JSON.parse(listed.stdout).items[0].publicKey, 'base64url'),
    );

    // Members with certificates from the test's tenant key; their seals filed on the server.
    const provider = await getProvider();
    const tenant = await provider.ed25519.generateKeyPair();
    const member = async (userId: string) => {
      const signing = await provider.ed25519.generateKeyPair();
      const dh = await provider.x25519.generateKeyPair();
      const certificate: SenderCertificate = await issueSenderCertificate(provider, tenant.privateKey, {
        userId,
        deviceId: 1,
        identitySigningKey: signing.publicKey,
        identityDhKey: dh.publicKey,
        tenantId: 'acme',
        pools: ['legal'],
        expiresAt: Date.now() + 86_400_000,
      });
      return { userId, signingKey: signing.privateKey, certificate };
    };
    const alice = await member('alice');
    const mallory = await member('mallory');
    const seal = async (m: Awaited<ReturnType<typeof member>>, text: string, signer = m) => {
      const messageId = randomBytes(16);
      const deliveryId = new Uint8Array(randomBytes(16));
      const sentAt = Date.now() - 60_000;
      const bytes = await sealArchived(provider, {
        archivePublicKey,
        messageId,
        conversationId: utf8('c-1'),
        sender: { userId: m.userId, deviceId: 1 },
        sentAt,
        contentType: 'application/x-cloister-content',
        content: encodeContent({ messageId, sentAtMs: sentAt, archived: true, body: { type: 'text', text } }),
        deliveryId,
        certificate: signer.certificate,
        identitySigningKey: signer.signingKey,
      });
      return { bytes, deliveryId };
    };
    const file = (s: { bytes: Uint8Array; deliveryId: Uint8Array }, deliveryId = s.deliveryId) =>
      server.context.stores.archive.append(tenantId('acme'), {
        sealed: s.bytes,
        expiresAt: null,
        deliveryId,
      });
    await file(await seal(alice, 'the merger closes Friday'));
    await file(await seal(alice, 'lunch?'), new Uint8Array(randomBytes(16)));
    // Mallory cannot make a valid seal in Alice's name: sealArchived refuses another member's certificate.
    await expect(seal(alice, 'wire the money', mallory)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    // A seal under a certificate from another tenant key is forged.
    const other = await provider.ed25519.generateKeyPair();
    const impostor = {
      ...alice,
      certificate: await issueSenderCertificate(provider, other.privateKey, { ...alice.certificate }),
    };
    await file(await seal(impostor, 'wire the money'));

    const released = join(work, 'bea-to-ada.json');
    expect(
      (
        await bea(
          'audit',
          'share',
          'release',
          '--key',
          join(work, 'bea.key.json'),
          '--auditor-passphrase-file',
          auditorPass(),
          '--to',
          join(work, 'ada.pub.json'),
          '--out',
          released,
        )
      ).code,
    ).toBe(EXIT.ok);
    const common = [
      '--key',
      join(work, 'ada.key.json'),
      '--auditor-passphrase-file',
      auditorPass(),
      '--share',
      released,
      '--from',
      '0',
      '--to',
      String(Date.now() + 60_000),
      '--tenant-key',
      Buffer.from(tenant.publicKey).toString('base64url'),
      '--purpose',
      'cli export test',
    ];

    const search = await ada('audit', 'search', ...common, '--text', 'MERGER');
    expect(search.code, search.stderr).toBe(AUDIT_FINDINGS_EXIT);
    expect(search.stdout).toMatch(/alice\/1\t[0-9a-f]+\tthe merger closes Friday\n/);
    expect(search.stdout).toMatch(/forged \(certificate\)/);
    expect(search.stdout).not.toContain('lunch?');
    expect(search.stderr).toMatch(/records that are not valid: 1 forged/);

    const jsonl = join(work, 'out.jsonl');
    const e1 = await ada('audit', 'export', '--format', 'jsonl', '--out', jsonl, ...common, '--json');
    expect(e1.code, e1.stderr).toBe(AUDIT_FINDINGS_EXIT);
    expect(JSON.parse(e1.stdout).counts).toMatchObject({ valid: 1, moved: 1, forged: 1 });
    const lines = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.status)).toEqual(['valid', 'moved', 'forged']);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);

    const emlDir = join(work, 'eml');
    expect((await ada('audit', 'export', '--format', 'eml', '--out', emlDir, ...common)).code).toBe(
      AUDIT_FINDINGS_EXIT,
    );
    expect(readdirSync(emlDir).filter((n) => n.endsWith('.eml'))).toHaveLength(2);
    expect(readFileSync(join(emlDir, 'report.jsonl'), 'utf8')).toContain('"forged"');

    const xml = join(work, 'out.xml');
    expect((await ada('audit', 'export', '--format', 'actiance', '--out', xml, ...common)).code).toBe(
      AUDIT_FINDINGS_EXIT,
    );
    const doc = readFileSync(xml, 'utf8');
    expect(doc).toContain('<Content>the merger closes Friday</Content>');
    expect(doc).toMatch(/<!-- cloister: forged seal \(certificate\)/);
    expect((await ada('audit', 'export', '--format', 'jsonl', '--out', jsonl, ...common)).code).toBe(
      EXIT.usage,
    );
  }, 180_000);
});
