/**
 * The compliance-archive part of the demo: three auditors make the archive key on their own
 * machines and split it 2-of-3, the owner turns archiving on for the pool `ward-3` with the
 * organisation's signature, users see the indicator and the key's fingerprint, and two auditors
 * rebuild the key, fetch the archive, check every seal and search it on their side. The server
 * holds only sealed items and shares it cannot unwrap.
 *
 *   npx tsx --conditions=@cloister/source examples/demo-archive.ts
 */
import { pathToFileURL } from 'node:url';
import {
  AdminClient,
  type ArchiveRecord,
  combineWrappedShares,
  createArchiveKeySet,
  filterArchive,
  openArchive,
  releaseArchiveShare,
  signPolicyLayer,
} from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import type { CloisterClient } from '@cloister/client';
import { URI as OtpUri, TOTP } from 'otpauth';
import { nextEvent, type Say, startLocalSystem } from './demo-system.js';

/** What {@link runArchiveDemo} observed. */
export interface ArchiveDemoReport {
  /** The archive key's fingerprint, as the ceremony computed it and the server confirmed it. */
  readonly fingerprint: string;
  /** What Alice's app shows in her conversation with Bob (ward-3) and Carol's with Dave (pharmacy). */
  readonly indicators: {
    readonly aliceToBob: { readonly on: boolean; readonly reason?: string; readonly keyFingerprint?: string };
    readonly carolToDave: { readonly on: boolean };
  };
  /** Whether one auditor alone was refused, and whether the owner was refused the archive. */
  readonly refused: { readonly oneAuditor: boolean; readonly owner: boolean };
  /** Records the two auditors opened, by status. */
  readonly opened: Readonly<Record<string, number>>;
  /** The texts the auditors' search for "heparin" found. */
  readonly found: readonly string[];
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * Runs the archive demo and reports what it observed.
 *
 * @example
 * ```ts
 * const report = await runArchiveDemo({ say: (title, ...lines) => console.log(title, lines) });
 * ```
 */
export async function runArchiveDemo(options: { readonly say: Say }): Promise<ArchiveDemoReport> {
  const { say } = options;
  const system = await startLocalSystem();
  const owner = system.owner;
  const admin = owner.client;
  const provider = owner.provider;
  try {
    // Three auditors: accounts made by the owner, each signed in with password and TOTP, each
    // with an X25519 key pair made on their own machine (in practice `cloister audit keygen`).
    const password = 'auditor passphrase 2468';
    const auditors: {
      name: string;
      client: AdminClient;
      key: { publicKey: Uint8Array; privateKey: Uint8Array };
    }[] = [];
    for (const name of ['ada', 'ben', 'cem']) {
      const invited = await admin.inviteAdministrator({
        email: `${name}@acme.example`,
        name: `Auditor ${name}`,
        role: 'auditor',
        password,
      });
      const otp = OtpUri.parse((invited as { totpUri: string }).totpUri);
      if (!(otp instanceof TOTP)) throw new Error('expected a TOTP enrolment');
      const { client } = await AdminClient.login(
        { transport: pinnedTransport({ url: system.url, pin: system.server.pin }), provider },
        { tenant: 'acme', email: `${name}@acme.example`, password, totp: otp.generate() },
      );
      auditors.push({ name, client, key: await provider.x25519.generateKeyPair() });
    }
    const [ada, ben] = auditors as [(typeof auditors)[0], (typeof auditors)[0]];
    const made = await createArchiveKeySet(ada.client.archive, provider, {
      threshold: 2,
      holders: auditors.map((a) => ({ holder: a.name, recipient: { publicKey: a.key.publicKey } })),
      label: 'ward-3',
      scope: { pools: ['ward-3'] },
    });
    say(
      'The archive key, made by the auditors and split 2-of-3',
      `made on Ada's machine and wiped there; a share wrapped to each of ada, ben, cem (the server stores them, cannot open them)`,
      `fingerprint ${made.fingerprint} (confirmed by the server)`,
    );
    await signPolicyLayer(owner, { layer: 'tenant' }, { archive: made.policyFeature });
    say(
      'The owner turns archiving on for ward-3, with the organisation’s signature',
      'tenant policy layer: archive on, the auditors’ public key, scope { pools: [ward-3] }, 2 of 3 auditors',
    );

    await admin.pools.create('ward-3', 'Ward 3');
    await admin.pools.create('pharmacy', 'Pharmacy');
    const enrol = async (user: string, pool: string): Promise<CloisterClient> => {
      const invite = await admin.inviteUser({ user, pools: [pool] });
      if (invite.enrolmentCode === null) throw new Error('the tenant has an organisation root');
      return system.client(user, { token: invite.enrolmentCode });
    };
    const alice = await enrol('alice', 'ward-3');
    const bob = await enrol('bob', 'ward-3');
    const carol = await enrol('carol', 'pharmacy');
    const dave = await enrol('dave', 'pharmacy');
    const aliceToBob = await alice.conversationArchive('d:bob');
    const carolToDave = await carol.conversationArchive('d:dave');
    say(
      'What users see',
      aliceToBob.on
        ? `Alice, chat with Bob: "Archiving is on for this conversation · key ${aliceToBob.keyFingerprint}" (${aliceToBob.reason === 'self' ? 'she is in ward-3' : aliceToBob.reason})`
        : 'Alice, chat with Bob: not archived',
      carolToDave.on
        ? 'Carol, chat with Dave: archived'
        : 'Carol, chat with Dave: no archiving (neither is in ward-3)',
    );

    const texts = [
      [alice, bob, 'bob', 'Bed 12 needs 20 ml of heparin tonight.'],
      [bob, alice, 'alice', 'Heparin given at 21:40, bed 12.'],
      [carol, dave, 'dave', 'Stocktake of the pharmacy on Friday.'],
    ] as const;
    for (const [from, to, user, text] of texts) {
      const got = nextEvent(to, 'message', (e) => !e.message.outgoing);
      await from.sendText({ user }, text);
      await got;
    }

    // One auditor alone cannot open it; the owner is refused the archive altogether.
    const shares = (await ada.client.archive.keySets())[0]?.shares ?? [];
    const mine = shares.find((s) => s.holder === 'ada')?.share as Uint8Array;
    const oneAuditor = await combineWrappedShares(provider, [mine], { privateKey: ada.key.privateKey }).then(
      () => false,
      () => true,
    );
    const ownerRefused = await collect(admin.archive.export({})).then(
      () => false,
      () => true,
    );
    // Ben releases his share to Ada; Ada rebuilds the key on her machine and opens the archive.
    const bens = (await ben.client.archive.keySets())[0]?.shares?.find((s) => s.holder === 'ben')
      ?.share as Uint8Array;
    const released = await releaseArchiveShare(
      provider,
      bens,
      { privateKey: ben.key.privateKey },
      { publicKey: ada.key.publicKey },
    );
    const key = await combineWrappedShares(provider, [mine, released], { privateKey: ada.key.privateKey });
    const tenantKey = new Uint8Array(Buffer.from((await admin.getTenant()).serverSigningKey, 'base64url'));
    let records: ArchiveRecord[];
    try {
      const items = await collect(ada.client.archive.export({ purpose: 'demo: medication audit' }));
      records = await collect(
        openArchive({
          provider,
          archivePrivateKey: key.privateKey,
          tenantPublicKey: tenantKey,
          tenantId: 'acme',
          items: each(items),
        }),
      );
    } finally {
      key.privateKey.fill(0);
    }
    const opened: Record<string, number> = {};
    for (const r of records) opened[r.status] = (opened[r.status] ?? 0) + 1;
    const hits = await collect(filterArchive(each(records), { text: 'heparin' }));
    const found = hits.flatMap((r) =>
      r.status === 'valid' && r.message.text !== undefined ? [r.message.text] : [],
    );
    say(
      'Two auditors open the archive on their own machine and search it',
      `one auditor alone: ${oneAuditor ? 'refused (1 share of 2)' : 'OPENED'}; the owner: ${ownerRefused ? 'refused (auditors only)' : 'READ IT'}`,
      `Ben released his share to Ada; the key was rebuilt on her machine; ${records.length} items fetched (the access is in the audit log)`,
      `every seal checked: ${Object.entries(opened)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ')}`,
      `search "heparin": ${found.map((t) => `"${t}"`).join(', ')}`,
    );
    return {
      fingerprint: made.fingerprint,
      indicators: {
        aliceToBob: {
          on: aliceToBob.on,
          ...(aliceToBob.on ? { reason: aliceToBob.reason, keyFingerprint: aliceToBob.keyFingerprint } : {}),
        },
        carolToDave: { on: carolToDave.on },
      },
      refused: { oneAuditor, owner: ownerRefused },
      opened,
      found: [...found].sort(),
    };
  } finally {
    await system.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let step = 0;
  await runArchiveDemo({
    say: (title, ...lines) => {
      step += 1;
      console.log(`\n[${step}] ${title}`);
      for (const line of lines) console.log(`    ${line}`);
    },
  });
}
