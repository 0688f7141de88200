import { PassThrough } from 'node:stream';
import type { ClientEvent, CloisterClient } from '@cloister/client';
import { createNodeProvider } from '@cloister/crypto/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot } from '../examples/bot.js';
import { parseClientCliOptions, runChat } from '../examples/chat.js';
import { runArchiveDemo } from '../examples/demo-archive.js';
import { runControlsDemo } from '../examples/demo-controls.js';
import { runDirectoryDemo } from '../examples/demo-directory.js';
import { type LocalSystem, runSystemDemo, startLocalSystem } from '../examples/demo-system.js';
import { runV2Demo } from '../examples/demo-v2.js';
import { quickstart } from '../examples/quickstart.js';
import { storageExample } from '../examples/storage.js';

describe('examples', () => {
  it('the README quick start runs and round-trips', async () => {
    const { plaintext, dataKey, again } = await quickstart();
    expect(new TextDecoder().decode(plaintext)).toBe('hello');
    expect(Buffer.from(again).equals(Buffer.from(dataKey))).toBe(true);
  });

  it('the demo’s v2 session reports what it should', async () => {
    const lines: string[] = [];
    await runV2Demo(
      createNodeProvider(),
      (title, ...rest) => lines.push(title, ...rest),
      (b) => `${b.length} bytes`,
    );
    const text = lines.join('\n');
    expect(text).toContain('negotiated suite: v2');
    expect(text).toContain('Bob reads: "Ward 3 handover at 18:00."');
    expect(text).toContain('Bob reads "three", "one", "two"');
    expect(text).toContain('the same message again -> ERR_REPLAY');
    expect(text).toContain('a flipped bit -> ERR_DECRYPTION_FAILED');
  });

  it('the storage example keeps, reopens, expires and purges, and leaves no clear text on disk', async () => {
    const lines: string[] = [];
    const report = await storageExample((line) => lines.push(line));
    expect(report).toEqual({
      lifetimeDays: 30,
      decidedBy: 'tenant',
      readBack: 'Ward 3 handover: bed 12 needs a new line at 18:00',
      afterExpiry: 0,
      purged: report.purged,
      clearTextFound: false,
    });
    expect(report.purged).toBeGreaterThan(0);
    expect(lines).toHaveLength(5);
  });

  it('the controls demo moves a user between pools, bulk-blocks after a dry run and broadcasts to every device', async () => {
    const titles: string[] = [];
    const report = await runControlsDemo({ say: (title) => titles.push(title) });
    expect(titles).toHaveLength(4);
    expect(report).toEqual({
      pools: { 'ward-3': 2, pharmacy: 1, records: 9 },
      deliveredBefore: true,
      refusedStatus: 403,
      deliveredAfter: true,
      bulk: { dryRunWouldChange: 7, changedByDryRun: 0, blocked: 8, skipped: 1, failed: 0 },
      broadcast: { sealedTo: 4, shownBy: 4, delivered: 4, read: 2 },
    });
  }, 120_000);

  it('the directory demo goes from a SCIM joiner to working managed devices, then blocks every device and keeps it blocked', async () => {
    const titles: string[] = [];
    const report = await runDirectoryDemo({ say: (title) => titles.push(title) });
    expect(titles).toHaveLength(4);
    expect(report).toEqual({
      scimCreated: 201,
      source: 'scim',
      phoneRead: 'Welcome to ward 3, Dana.',
      admitted: 1,
      tabletRead: 'Your rota is on the tablet too.',
      afterDisable: { status: 'blocked', refusedDevices: 2, devices: 2, refusedWith: 403 },
      afterReenable: { status: 'blocked', reenableRequested: true },
    });
  }, 120_000);

  it('the archive demo shows the indicator, refuses one auditor and the owner, and lets two auditors search', async () => {
    const titles: string[] = [];
    const report = await runArchiveDemo({ say: (title) => titles.push(title) });
    expect(titles).toHaveLength(4);
    expect(report.fingerprint).toMatch(/^cloister-archive:v1:[A-Za-z0-9_-]{43}$/);
    expect(report).toEqual({
      fingerprint: report.fingerprint,
      indicators: {
        aliceToBob: { on: true, reason: 'self', keyFingerprint: report.fingerprint },
        carolToDave: { on: false },
      },
      refused: { oneAuditor: true, owner: true },
      opened: { valid: 2 },
      found: ['Bed 12 needs 20 ml of heparin tonight.', 'Heparin given at 21:40, bed 12.'],
    });
  }, 120_000);

  it('the system demo links a device, delivers, expires, verifies, holds a changed identity and wipes through the SDK', async () => {
    const lines: string[] = [];
    const progress: { label: string; phase: string; bytes: number; total: number }[] = [];
    const report = await runSystemDemo({
      say: (title, ...rest) => lines.push(title, ...rest),
      progress: (label, p) => progress.push({ label, ...p }),
      fileBytes: 2 * 1024 * 1024 + 17,
      disappearSeconds: 1,
    });
    const hello = 'Ward 3 handover at 18:00: bed 12 needs a new line.';
    expect(report.bobRead).toBe(hello);
    expect(report.aliceSecondDeviceCopy).toBe(hello);
    expect(report.aliceDevicesRead).toEqual(['Noted, I will take bed 12.', 'Noted, I will take bed 12.']);
    expect(report.carolRead).toBe('Carol, the night rota is attached to the board.');
    expect(report.aliceReadFromCarol).toBe('Thanks, seen it.');
    expect(report.groupRead).toEqual({
      bob: 'Team briefing moved to 07:45.',
      carol: 'Team briefing moved to 07:45.',
      'alice (device 2)': 'Team briefing moved to 07:45.',
    });
    expect(report.fileIntact).toBe(true);
    expect(report.fileBytes).toBe(2 * 1024 * 1024 + 17);
    expect(report.receipts).toEqual(expect.arrayContaining(['delivered', 'read']));
    expect(report.disappearing.before).toBe(true);
    expect(report.disappearing.purged).toBeGreaterThan(0);
    expect(report.disappearing.after).toBe(false);
    expect(report.safetyNumbersMatch).toBe(true);
    expect(report.safetyNumberVerified).toBe(true);
    expect(report.linking).toEqual({ before: false, after: true, epoch: 2 });
    // Set up through the admin API: the owner with TOTP, a root the server confirmed, a delegation.
    expect(report.admin.role).toBe('owner');
    expect(report.admin.recoveryCodes).toBe(10);
    expect(report.admin.rootFingerprint).toMatch(/^cloister-root:v1:[A-Za-z0-9_-]{43}$/);
    expect(report.admin.delegatedUntil).toBeGreaterThan(Date.now());
    expect(report.heldIdentity).toEqual({
      held: true,
      shownToBob: false,
      quarantined: 1,
      sendingRefused: 'not sent',
    });
    expect(report.wipe).toEqual({
      clientWiped: true,
      reported: true,
      serverState: 'confirmed',
      reopenedStatus: 'wiped',
      unlockRefused: true,
    });
    const uploads = progress.filter((p) => p.phase === 'upload');
    const downloads = progress.filter((p) => p.phase === 'download');
    expect(uploads.at(-1)?.bytes).toBe(uploads.at(-1)?.total);
    expect(downloads.at(-1)?.bytes).toBeGreaterThan(2 * 1024 * 1024);
    const text = lines.join('\n');
    expect(text).toContain("carol supports ['static-v1']");
    expect(text).toContain('lowest accepted cost');
    expect(text).toContain('server status: confirmed');
  }, 60_000);
});

function nextEvent<E extends ClientEvent['type']>(
  client: CloisterClient,
  type: E,
  match: (e: Extract<ClientEvent, { type: E }>) => boolean,
): Promise<Extract<ClientEvent, { type: E }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event`));
    }, 15_000);
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

describe('chat and bot examples', () => {
  let system: LocalSystem;

  beforeAll(async () => {
    system = await startLocalSystem();
  }, 30_000);

  afterAll(async () => {
    await system?.close();
  });

  it('the chat reads its options from flags first, then the environment', () => {
    const env = {
      CLOISTER_SERVER: 'https://env.example:8443',
      CLOISTER_SERVER_PIN: 'sha256/env',
      CLOISTER_PIN: '1234',
    };
    expect(parseClientCliOptions(['--server', 'https://flag.example'], env, './d')).toEqual({
      serverUrl: 'https://flag.example',
      serverPin: 'sha256/env',
      dataDir: './d',
      pin: '1234',
    });
    expect(() => parseClientCliOptions([], {}, './d')).toThrow(/--server/);
    expect(() =>
      parseClientCliOptions(['--server', 'http://plain.example'], { CLOISTER_SERVER_PIN: 'sha256/x' }, './d'),
    ).toThrow(/--server/);
  });

  it('the echo bot answers texts and sends read receipts', async () => {
    const botClient = await system.client('echo-bot');
    const dana = await system.client('dana');
    const bot = startBot(botClient);
    const answer = nextEvent(dana, 'message', (e) => !e.message.outgoing);
    const sent = await dana.sendText({ user: 'echo-bot' }, 'ping 1');
    const read = nextEvent(dana, 'receipt', (e) => e.kind === 'read' && e.messageIds.includes(sent.id));
    const got = (await answer).message;
    expect(got.from.userId).toBe('echo-bot');
    expect(got.content.body).toEqual({ type: 'text', text: 'echo: ping 1' });
    await read;
    expect(bot.answered).toBe(1);
    await bot.stop();
    // Stopped: the next text is not answered.
    const quiet = nextEvent(botClient, 'message', (e) => !e.message.outgoing);
    await dana.sendText({ user: 'echo-bot' }, 'ping 2');
    await quiet;
    await botClient.idle();
    expect(bot.answered).toBe(1);
  }, 30_000);

  it('the chat sends lines to the picked user and prints what arrives', async () => {
    const erin = await system.client('erin');
    const frank = await system.client('frank');
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    const done = runChat(erin, { input, output });
    const atFrank = nextEvent(frank, 'message', (e) => !e.message.outgoing);
    input.write('hello before a recipient\n/to frank\nhello frank\n');
    const got = (await atFrank).message;
    expect(got.content.body).toEqual({ type: 'text', text: 'hello frank' });
    expect(got.from.userId).toBe('erin');
    const atErin = nextEvent(erin, 'message', (e) => !e.message.outgoing);
    await frank.sendText({ user: 'erin' }, 'hi erin');
    await atErin;
    input.end('/quit\n');
    await done;
    expect(printed).toContain('pick a recipient first');
    expect(printed).toContain('-> now writing to frank');
    expect(printed).toContain('[frank] hi erin');
  }, 30_000);
});
