/**
 * A client's local store end to end: a PIN-wrapped data key opens an encrypted store on embedded
 * PGlite in a directory; a message is stored with the lifetime the retention policy gives it; the
 * store is closed and reopened with the PIN; the message expires and the purge removes it; a scan
 * of the database files finds none of what was stored.
 *
 *   npx tsx --conditions=@cloister/source examples/storage.ts
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ORDERED_TABLES, type ClientStores, createClientStores } from '@cloister/client';
import { type CryptoProvider, deviceId, getProvider, utf8, wrapDataKey } from '@cloister/crypto';
import { conversationId, expiresAt, messageId, resolveRetention, userId } from '@cloister/protocol';
import { openClientDataKey, openEncryptedAdapter, type StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter } from '@cloister/storage/sql';

const DAY = 86_400_000;

/** What {@link storageExample} reports. */
export interface StorageExampleReport {
  readonly lifetimeDays: number | null;
  readonly decidedBy: string;
  readonly readBack: string;
  readonly afterExpiry: number;
  readonly purged: number;
  readonly clearTextFound: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function open(
  provider: CryptoProvider,
  dir: string,
  wrapped: Awaited<ReturnType<typeof wrapDataKey>>['record'],
  pin: string,
  now: () => number,
): Promise<{ db: StorageAdapter; stores: ClientStores }> {
  const inner = await createPGliteAdapter({ dataDir: dir, now });
  const dataKey = await openClientDataKey({ provider, wrapped, pin });
  const db = await openEncryptedAdapter(inner, { dataKey, provider, orderedTables: CLIENT_ORDERED_TABLES });
  dataKey.fill(0);
  return { db, stores: createClientStores(db) };
}

/** Runs the example in a fresh temporary directory; `say` receives one line per step. */
export async function storageExample(
  say: (line: string) => void = console.log,
): Promise<StorageExampleReport> {
  const provider = await getProvider();
  const dir = mkdtempSync(join(tmpdir(), 'cloister-storage-example-'));
  let clock = Date.now();
  const now = () => clock;
  try {
    const pin = '482913';
    const { record } = await wrapDataKey(provider, { pin });
    const secret = 'Ward 3 handover: bed 12 needs a new line at 18:00';

    // The tenant keeps messages on devices for at most 30 days, locked; the user asked for 90.
    const retention = resolveRetention(
      {
        layers: [
          { layer: 'tenant', rules: { 'message.device': { maxLifetimeMs: 30 * DAY, locked: true } } },
          { layer: 'user', rules: { 'message.device': { maxLifetimeMs: 90 * DAY } } },
        ],
      },
      'message.device',
    );
    const lifetimeDays = retention.lifetimeMs === null ? null : retention.lifetimeMs / DAY;
    say(
      `retention: messages live ${lifetimeDays} days on this device (decided by the ${retention.decidedBy})`,
    );

    let { db, stores } = await open(provider, dir, record, pin, now);
    const conversation = conversationId('c_ward3');
    await stores.transaction(async (s) => {
      await s.conversations.create({ id: conversation, kind: 'direct', peer: userId('bob') });
      await s.messages.addIfAbsent({
        id: messageId('m_0001'),
        conversationId: conversation,
        sender: { userId: userId('alice'), deviceId: deviceId(1) },
        sentAt: clock,
        body: utf8(secret),
        expiresAt: expiresAt(clock, retention),
      });
    });
    await db.close();
    say('stored one message in an encrypted PGlite database and closed it');

    ({ db, stores } = await open(provider, dir, record, pin, now));
    const page = await stores.messages.history(conversation);
    const readBack = new TextDecoder().decode(page.items[0]?.body ?? new Uint8Array());
    say(`reopened with the PIN: "${readBack}"`);

    clock += 31 * DAY;
    const afterExpiry = (await stores.messages.history(conversation)).items.length;
    const { deleted } = await db.purgeExpired({ batchSize: 100 });
    say(`31 days later: ${afterExpiry} message(s) visible; the purge removed ${deleted} row(s)`);
    await db.close();

    const needles = [secret, 'alice', 'c_ward3', 'm_0001'].map((s) => Buffer.from(s, 'utf8'));
    const clearTextFound = filesUnder(dir).some((file) => {
      const bytes = readFileSync(file);
      return needles.some((n) => bytes.includes(n));
    });
    say(
      `scan of every database file for the text, names and ids: ${clearTextFound ? 'FOUND' : 'nothing found'}`,
    );
    return {
      lifetimeDays,
      decidedBy: retention.decidedBy,
      readBack,
      afterExpiry,
      purged: deleted,
      clearTextFound,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await storageExample();
}
