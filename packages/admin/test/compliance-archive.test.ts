/**
 * The compliance archive end to end (issue 19's "done when"), on a real server and real clients
 * sharing one clock that runs through a week:
 *
 * - three auditors make the archive key on their side and split it 2-of-3; the owner signs the
 *   tenant policy that turns archiving on for the pool `ward-3` only;
 * - users see the indicator and the key's fingerprint; a week of messages flows inside and across
 *   the pool (and between two users outside it, which must not be archived);
 * - two auditors rebuild the key (one releases its share to the other), fetch the archive, verify
 *   every seal, search it and export it as JSON lines, EML and Actiance XML;
 * - one auditor alone, the owner and the operator (the database, the wrapped shares and every key
 *   the server holds) each fail to open it;
 * - a seal the operator moves to another delivery and a seal forged in a member's name are
 *   reported as such in the export.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type ClientEvent, type CloisterClient, createClient } from '@cloister/client';
import {
  type CryptoProvider,
  DecryptionFailed,
  ForbiddenError,
  fromHex,
  getProvider,
  inspectArchived,
  openHpke,
  PIN_SCRYPT_FLOOR,
  peekArchiveSeal,
  sealHpke,
  ValidationError,
} from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { type CloisterServer, createServer } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  type ArchiveItem,
  type ArchiveRecord,
  combineWrappedShares,
  createArchiveKeySet,
  exportActiance,
  exportEml,
  exportJsonLines,
  filterArchive,
  generateOrganisation,
  type OrganisationSigner,
  openArchive,
  releaseArchiveShare,
  signDelegation,
  signPolicyLayer,
  signPoolRules,
} from '../src/index.js';
import { emlDirectory, pinnedTransport } from '../src/node.js';
import { totpCode } from './totp.js';

const DAY = 86_400_000;
const TENANT = tenantId('acme');
const PASSWORD = 'correct horse battery staple';
const PIN = '2468-1357';

/** A Writable that keeps what is written, as text. */
function collector(): Writable & { text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text(): string };
  w.text = () => chunks.join('');
  return w;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

function nextEvent<E extends ClientEvent['type']>(
  client: CloisterClient,
  type: E,
  match: (e: Extract<ClientEvent, { type: E }>) => boolean = () => true,
  ms = 20_000,
): Promise<Extract<ClientEvent, { type: E }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

describe('compliance archive: 3 auditors (k = 2), a week of one pool', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloister-archive-e2e-'));
  const dataDir = join(root, 'server');
  let offset = 0;
  const now = () => Date.now() + offset;
  let provider: CryptoProvider;
  const operatorToken = randomBytes(32).toString('base64url');
  let server: CloisterServer;
  let url: string;
  let owner: OrganisationSigner;
  const clients: CloisterClient[] = [];
  const users: Record<string, CloisterClient> = {};
  const auditors: {
    name: string;
    totpUri: string;
    client: AdminClient;
    key: { publicKey: Uint8Array; privateKey: Uint8Array };
  }[] = [];
  let fingerprint: string;
  let ownerTotp: string;
  let tenantKey: Uint8Array;
  let weekStart: number;
  /** What was sent: text → [sender, archived expected]. */
  const sent: { text: string; from: string; to: string; archived: boolean }[] = [];
  let records: ArchiveRecord[] = [];
  let items: ArchiveItem[] = [];

  const transport = () => pinnedTransport({ url, pin: server.pin });

  const login = async (email: string, totpUri: string) =>
    (
      await AdminClient.login(
        { transport: transport(), provider },
        { tenant: TENANT, email, password: PASSWORD, totp: totpCode(totpUri, 0, now()) },
      )
    ).client;

  beforeAll(async () => {
    provider = await getProvider();
    server = await createServer({
      dataDir,
      logLevel: 'silent',
      operatorToken,
      now,
      rateLimitPerMinute: 1_000_000,
    });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
    const operator = new AdminClient({
      transport: transport(),
      provider,
      credential: { kind: 'operator', token: operatorToken },
    });
    const created = await operator.createTenant({
      id: TENANT,
      name: 'ACME Hospital',
      domains: ['acme.example'],
      owner: { email: 'olivia@acme.example', name: 'Olivia', password: PASSWORD },
    });
    const { client: session, session: signedIn } = await AdminClient.login(
      { transport: transport(), provider },
      {
        tenant: TENANT,
        email: 'olivia@acme.example',
        password: PASSWORD,
        totp: totpCode(created.owner.totpUri, 0, now()),
      },
    );
    ownerTotp = created.owner.totpUri;
    const org = await generateOrganisation(provider, { tenant: TENANT, admin: signedIn.admin });
    await session.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    const admin = new AdminClient({
      transport: transport(),
      provider,
      organisationRoot: org.root.publicKey,
      credential: { kind: 'session', token: signedIn.token },
    });
    owner = { provider, key: org.owner, client: admin };
    await signDelegation(owner);
    org.root.privateKey.fill(0);
    tenantKey = new Uint8Array(Buffer.from((await admin.getTenant()).serverSigningKey, 'base64url'));

    // Three auditors, each with a key pair made on their own machine.
    for (const name of ['ada', 'bea', 'cem']) {
      const invited = await admin.inviteAdministrator({
        email: `${name}@acme.example`,
        name: `Auditor ${name}`,
        role: 'auditor',
        password: PASSWORD,
      });
      const totpUri = (invited as { totpUri: string }).totpUri;
      const client = await login(`${name}@acme.example`, totpUri);
      auditors.push({ name, totpUri, client, key: await provider.x25519.generateKeyPair() });
    }
    const [ada] = auditors;
    if (ada === undefined) throw new Error('no auditor');
    // The ceremony on Ada's machine: key made, split 2-of-3, shares wrapped to each auditor's key,
    // registered; the private key never leaves the function.
    const made = await createArchiveKeySet(ada.client.archive, provider, {
      threshold: 2,
      holders: auditors.map((a) => ({ holder: a.name, recipient: { publicKey: a.key.publicKey } })),
      label: 'ward-3 archive',
      scope: { pools: ['ward-3'] },
    });
    fingerprint = made.fingerprint;
    // The owner turns archiving on with the organisation's signature.
    await signPolicyLayer(owner, { layer: 'tenant' }, { archive: made.policyFeature });

    await admin.pools.create('ward-3', 'Ward 3');
    await admin.pools.create('pharmacy', 'Pharmacy');
    await signPoolRules(owner, { 'ward-3': ['pharmacy'], pharmacy: ['ward-3'] });
    for (const [user, pool] of [
      ['alice', 'ward-3'],
      ['bob', 'ward-3'],
      ['carol', 'pharmacy'],
      ['dave', 'pharmacy'],
    ] as const) {
      const invite = await admin.inviteUser({ user, pools: [pool] });
      if (invite.enrolmentCode === null) throw new Error('expected an enrolment code');
      const client = await createClient({
        server: { url, pin: server.pin },
        storage: createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        now,
      });
      clients.push(client);
      await client.enroll(invite.enrolmentCode, { pin: PIN });
      await client.start();
      users[user] = client;
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The auditors sign in again (a week later their sessions have expired), with a fresh factor. */
  const signInAuditors = async () => {
    for (const a of auditors) a.client = await login(`${a.name}@acme.example`, a.totpUri);
  };

  const send = async (from: string, to: string, text: string, archived: boolean) => {
    const sender = users[from] as CloisterClient;
    const receiver = users[to] as CloisterClient;
    const got = nextEvent(
      receiver,
      'message',
      (e) =>
        !e.message.outgoing && e.message.content.body.type === 'text' && e.message.content.body.text === text,
    );
    await sender.sendText({ user: to }, text);
    await got;
    sent.push({ text, from, to, archived });
  };

  it('shows users in the pool, and their peers, that archiving is on, with the key fingerprint', async () => {
    const alice = users.alice as CloisterClient;
    const carol = users.carol as CloisterClient;
    const dave = users.dave as CloisterClient;
    // Everyone's client holds the organisation's signed policy.
    for (const c of [alice, carol, dave]) await c.refreshPolicy();
    const mine = await alice.conversationArchive('d:bob');
    expect(mine).toMatchObject({ on: true, keyFingerprint: fingerprint, reason: 'self' });
    const outside = await dave.conversationArchive('d:carol');
    expect(outside.on).toBe(false);
  });

  it('archives a week of messages of ward-3, inside and across the pool, and nothing else', async () => {
    weekStart = now();
    for (let day = 0; day < 7; day++) {
      await send('alice', 'bob', `day ${day}: alice to bob, ward round at 9`, true);
      await send('bob', 'alice', `day ${day}: bob to alice, bed ${day + 10} is free`, true);
      await send('alice', 'carol', `day ${day}: alice orders heparin from the pharmacy`, true);
      await send('carol', 'alice', `day ${day}: carol confirms the heparin order`, true);
      await send('carol', 'dave', `day ${day}: carol to dave, pharmacy only`, false);
      offset += DAY;
    }
    // The peer of a ward-3 user sees the indicator too (reason: a peer in scope).
    const carolsView = await (users.carol as CloisterClient).conversationArchive('d:alice');
    expect(carolsView).toMatchObject({ on: true, keyFingerprint: fingerprint, reason: 'peer' });
  }, 300_000);

  it('one auditor alone, the owner and the operator cannot open the archive', async () => {
    await signInAuditors();
    // The owner signs in again too, with a fresh factor: all of the owner's powers, none of the auditors'.
    const ownerSession = await login('olivia@acme.example', ownerTotp);
    const [ada, bea] = auditors;
    if (ada === undefined || bea === undefined) throw new Error('auditors');
    const sets = await ada.client.archive.keySets();
    const set = sets[0];
    const adaShare = set?.shares?.find((s) => s.holder === 'ada')?.share;
    expect(adaShare).toBeInstanceOf(Uint8Array);
    // One auditor: one share is below the threshold.
    await expect(
      combineWrappedShares(provider, [adaShare as Uint8Array], { privateKey: ada.key.privateKey }),
    ).rejects.toBeInstanceOf(ValidationError);
    // Bea's share is wrapped to Bea: Ada cannot unwrap it with her own key.
    const beaShare = set?.shares?.find((s) => s.holder === 'bea')?.share as Uint8Array;
    await expect(
      combineWrappedShares(provider, [adaShare as Uint8Array, beaShare], { privateKey: ada.key.privateKey }),
    ).rejects.toBeInstanceOf(DecryptionFailed);
    // The owner (every permission but the auditors') is refused the archive and the shares.
    await expect(collect(ownerSession.archive.export({ from: weekStart }))).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    const ownerView = await ownerSession.archive.keySets();
    expect(ownerView[0]?.shares).toBeUndefined();
    // The operator has the database: every item and every wrapped share. No key it holds opens
    // a share, and a seal opened with any other key is undecryptable.
    const stored = await server.context.stores.archive.list(TENANT, { limit: 1000 });
    expect(stored.items.length).toBeGreaterThan(0);
    const operatorKey = await provider.x25519.generateKeyPair();
    for (const share of set?.shares ?? []) {
      await expect(
        combineWrappedShares(provider, [share.share], { privateKey: operatorKey.privateKey }),
      ).rejects.toThrow();
    }
    const first = stored.items[0];
    const verdict = await inspectArchived(provider, {
      bytes: first?.sealed as Uint8Array,
      archivePrivateKey: operatorKey.privateKey,
      tenantPublicKey: tenantKey,
    });
    expect(verdict.status).toBe('undecryptable');
    // Nor can it read who sent what: a version-3 seal shows no sender and no conversation.
    const peeked = peekArchiveSeal(first?.sealed as Uint8Array);
    expect(peeked.version).toBe(3);
    expect(peeked.bindings).toBeUndefined();
  });

  it('two auditors rebuild the key, verify every seal and find the week of ward-3, nothing else', async () => {
    const [ada, bea] = auditors;
    if (ada === undefined || bea === undefined) throw new Error('auditors');
    // The auditors sign in a week later (their sessions are new).
    // Bea releases her share to Ada; Ada combines it with her own.
    const beaSets = await bea.client.archive.keySets();
    const beaShare = beaSets[0]?.shares?.find((s) => s.holder === 'bea')?.share as Uint8Array;
    const released = await releaseArchiveShare(
      provider,
      beaShare,
      { privateKey: bea.key.privateKey },
      { publicKey: ada.key.publicKey },
    );
    const adaShare = (await ada.client.archive.keySets())[0]?.shares?.find((s) => s.holder === 'ada')
      ?.share as Uint8Array;
    const key = await combineWrappedShares(provider, [adaShare, released], {
      privateKey: ada.key.privateKey,
    });
    try {
      items = await collect(
        ada.client.archive.export({ from: weekStart - DAY, to: now() + DAY, purpose: 'issue 19 test' }),
      );
      records = await collect(
        openArchive({
          provider,
          archivePrivateKey: key.privateKey,
          tenantPublicKey: tenantKey,
          tenantId: TENANT,
          items: from(items),
        }),
      );
    } finally {
      // The archive private key is never on the server's disk, in any encoding.
      const forms = [
        Buffer.from(key.privateKey),
        Buffer.from(Buffer.from(key.privateKey).toString('base64url')),
        Buffer.from(Buffer.from(key.privateKey).toString('hex')),
      ];
      for (const file of filesUnder(dataDir)) {
        const bytes = readFileSync(file);
        for (const form of forms) expect(bytes.includes(form)).toBe(false);
      }
      key.privateKey.fill(0);
    }
    const valid = records.filter((r) => r.status === 'valid');
    const texts = valid.map((r) => (r.status === 'valid' ? r.message.text : undefined));
    const expected = sent.filter((s) => s.archived).map((s) => s.text);
    expect(new Set(texts)).toEqual(new Set(expected));
    expect(valid.length).toBe(expected.length); // 28 = 4 a day for 7 days
    expect(records.filter((r) => r.status !== 'valid')).toEqual([]);
    // Ordered by (time, id).
    const keys = records.map((r) => `${String(r.receivedAt).padStart(15, '0')}:${'id' in r ? r.id : ''}`);
    expect([...keys].sort()).toEqual(keys);
    // Every message sent over the week is inside its days.
    for (const r of valid)
      if (r.status === 'valid') expect(r.message.sentAt).toBeGreaterThanOrEqual(weekStart);
  });

  it('searches by text, user, pool, conversation and time on the auditor’s machine', async () => {
    const search = async (scope: Parameters<typeof filterArchive>[1]) =>
      (await collect(filterArchive(from(records), scope))).filter((r) => r.status === 'valid');
    expect(await search({ text: 'heparin' })).toHaveLength(14);
    expect(await search({ text: 'HEPARIN order', match: 'tokens' })).toHaveLength(7);
    // A user: what Carol sent (7) and what she received in 1:1 conversations (7), the recipient
    // being inside the signed record.
    const carols = await search({ users: ['carol'] });
    expect(carols).toHaveLength(14);
    for (const r of carols) {
      if (r.status !== 'valid') continue;
      expect([r.message.sender.userId, r.message.recipient]).toContain('carol');
    }
    expect(await search({ pools: ['ward-3'] })).toHaveLength(21);
    const one = records.find((r) => r.status === 'valid' && r.message.sender.userId === 'bob');
    const conversation = one?.status === 'valid' ? one.message.conversationId : '';
    expect(await search({ conversations: [conversation] })).toHaveLength(14); // alice <-> bob
    const day3 = await search({ from: weekStart + 3 * DAY, to: weekStart + 4 * DAY - 1 });
    expect(day3).toHaveLength(4);
    for (const r of day3) if (r.status === 'valid') expect(r.message.text?.startsWith('day 3:')).toBe(true);
  });

  it('exports JSON lines, EML and Actiance XML with the same messages', async () => {
    const jsonl = collector();
    const s1 = await exportJsonLines(from(records), jsonl);
    expect(s1.counts.valid).toBe(28);
    const lines = jsonl
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchiveRecord);
    expect(lines).toHaveLength(records.length);

    const emlDir = join(root, 'eml');
    const s2 = await exportEml(from(records), emlDirectory(emlDir));
    expect(s2.counts.valid).toBe(28);
    const emls = readdirSync(emlDir).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(28);
    const sample = readFileSync(join(emlDir, emls[0] as string), 'utf8');
    expect(sample).toMatch(/^From: /m);
    expect(sample).toMatch(/^To: /m);
    expect(sample).toMatch(/^Date: /m);
    expect(sample).toMatch(/^Message-ID: </m);
    expect(sample).toContain('\r\n\r\n');

    const xml = collector();
    const s3 = await exportActiance(from(records), xml);
    expect(s3.counts.valid).toBe(28);
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(xml.text()) as Record<string, unknown>;
    const text = JSON.stringify(parsed);
    for (const s of sent.filter((x) => x.archived)) expect(text).toContain(s.text);
    expect(text).not.toContain('pharmacy only');
  });

  it('reports a seal the operator moved to another delivery, and one forged in a member’s name', async () => {
    const [ada, bea] = auditors;
    if (ada === undefined || bea === undefined) throw new Error('auditors');
    const stores = server.context.stores;
    // The operator files a genuine seal a second time, under a delivery it did not travel with.
    const victim = items[0] as ArchiveItem;
    await stores.archive.append(TENANT, {
      sealed: victim.sealed,
      expiresAt: null,
      deliveryId: randomBytes(16),
    });
    // A forgery: a record in Alice's name (her certificate is public), re-encrypted to the
    // archive's public key, whose signature Alice never made. Anyone with the public key can make
    // the ciphertext; only the signature tells.
    const beaSets = await bea.client.archive.keySets();
    const beaShare = beaSets[0]?.shares?.find((s) => s.holder === 'bea')?.share as Uint8Array;
    const released = await releaseArchiveShare(
      provider,
      beaShare,
      { privateKey: bea.key.privateKey },
      { publicKey: ada.key.publicKey },
    );
    const adaShare = beaSets[0]?.shares?.find((s) => s.holder === 'ada')?.share as Uint8Array;
    const key = await combineWrappedShares(provider, [adaShare, released], {
      privateKey: ada.key.privateKey,
    });
    try {
      // (The test needs a well-formed record to alter; it takes one from a genuine seal.)
      const genuine = victim.sealed;
      const header = genuine.subarray(0, 25);
      const enc = genuine.subarray(25, 57);
      const info = new TextEncoder().encode('cloister/v3/compliance/archive-seal');
      const aad = new Uint8Array([
        ...new TextEncoder().encode('cloister/v3/compliance/archive-outer'),
        ...header,
      ]);
      const inner = await openHpke(provider, {
        aead: 'aes-256-gcm',
        recipientPrivateKey: key.privateKey,
        enc,
        ciphertext: genuine.subarray(57),
        info,
        aad,
      });
      const text = new TextEncoder().encode('day 0');
      const at = Buffer.from(inner).indexOf(Buffer.from(text));
      expect(at).toBeGreaterThan(0);
      inner[at + 4] = '9'.charCodeAt(0); // "day 0" → "day 9": Alice never said it
      const resealed = await sealHpke(provider, {
        aead: 'aes-256-gcm',
        recipientPublicKey: key.publicKey,
        plaintext: inner,
        info,
        aad,
      });
      const forged = new Uint8Array([...header, ...resealed.enc, ...resealed.ciphertext]);
      const deliveryId = header.subarray(9, 25);
      await stores.archive.append(TENANT, { sealed: forged, expiresAt: null, deliveryId });

      const all = await collect(ada.client.archive.export({ from: weekStart - DAY, purpose: 'seal check' }));
      const checked = await collect(
        openArchive({
          provider,
          archivePrivateKey: key.privateKey,
          tenantPublicKey: tenantKey,
          tenantId: TENANT,
          items: from(all),
        }),
      );
      const jsonl = collector();
      const summary = await exportJsonLines(from(checked), jsonl);
      expect(summary.counts.forged).toBe(1);
      expect(summary.counts.moved + summary.counts.duplicate).toBe(1);
      const out = jsonl
        .text()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ArchiveRecord);
      const forgedRecord = out.find((r) => r.status === 'forged');
      expect(forgedRecord).toMatchObject({ status: 'forged', reason: 'signature' });
      const moved = out.find((r) => r.status === 'moved');
      expect(moved).toMatchObject({ status: 'moved', reason: 'delivery' });
      expect(fromHex((moved as { recordedDeliveryId: string }).recordedDeliveryId)).toHaveLength(16);
      // Nothing is silently dropped: every item fetched has a record.
      expect(out.filter((r) => r.status !== 'gap')).toHaveLength(all.length);
    } finally {
      key.privateKey.fill(0);
    }
  });
});
