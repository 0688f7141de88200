/**
 * The auditors' tool benchmark (`spec/audit-tool.md` §6): opening archive items and writing them
 * in each export format, and whether memory stays flat as the archive grows.
 *
 *   tsx --conditions=@cloister/source benchmarks/src/archive-export.ts [--n N] [--dedupe-window W]
 *       [--server] [--out FILE]
 *
 * Makes N distinct version-3 seals (`sealArchived`, as today's clients seal: text messages from
 * 50 senders in 200 conversations) and 4N, held as the SDK's decoded items in memory, then for
 * each size and format (jsonl, eml, actiance) streams them through `openArchive` into the writer
 * (a sink that discards the bytes, so the disk is not measured). Reports messages per second and
 * the live heap growth during the export: the heap after a forced GC, sampled every N/10 records,
 * minus the heap before (the input itself is held before and not counted). With the memory bound
 * holding, 4N grows no more than N except for the duplicate index (at most 65 536 keys by
 * default). `--server` adds one case through a real server: the N items filed on an in-process
 * server (PGlite) and read back by an auditor over HTTPS through the streamed export route. Writes
 * `benchmarks/results/archive-export-<timestamp>.json`.
 */

import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AdminClient,
  type ArchiveItem,
  type ArchiveRecord,
  type EmlTarget,
  exportActiance,
  exportEml,
  exportJsonLines,
  openArchive,
} from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import {
  generateArchiveKey,
  getProvider,
  issueSenderCertificate,
  type SenderCertificate,
  sealArchived,
  toHex,
  utf8,
} from '@cloister/crypto';
import { encodeContent, tenantId } from '@cloister/protocol';
import { createServer } from '@cloister/server';
import { describeMachine, PACKAGE_DIR } from './machine.js';
import { timestamp, writeJson } from './report-files.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FORMATS = ['jsonl', 'eml', 'actiance'] as const;
const T0 = 1_796_000_000_000;

/** The current RFC 6238 code (SHA-1, 30 s, 6 digits) of an `otpauth://` URI. */
function totp(uri: string): string {
  const secret = new URL(uri).searchParams.get('secret') ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase())
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => Number.parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = (mac[19] ?? 0) & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  // `pnpm bench:archive -- --n 5000` passes the separator on; it is not an argument.
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args,
    options: {
      n: { type: 'string', default: '20000' },
      'dedupe-window': { type: 'string' },
      server: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: archive-export.ts [--n N (default 20000)] [--dedupe-window W] [--server] [--out FILE]',
    );
    return;
  }
  const n = Number(values.n);
  const dedupeWindow = values['dedupe-window'] === undefined ? undefined : Number(values['dedupe-window']);
  const provider = await getProvider();
  const archive = await generateArchiveKey(provider);
  const tenant = await provider.ed25519.generateKeyPair();
  const senders: { userId: string; signingKey: Uint8Array; certificate: SenderCertificate }[] = [];
  for (let i = 0; i < 50; i++) {
    const signing = await provider.ed25519.generateKeyPair();
    const dh = await provider.x25519.generateKeyPair();
    const userId = `user-${i}@acme.example`;
    const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
      userId,
      deviceId: 1,
      identitySigningKey: signing.publicKey,
      identityDhKey: dh.publicKey,
      tenantId: 'acme',
      pools: [`pool-${i % 5}`],
      expiresAt: T0 + 365 * 86_400_000,
    });
    senders.push({ userId, signingKey: signing.privateKey, certificate });
  }

  const items: ArchiveItem[] = [];
  const makeStarted = performance.now();
  for (let i = 0; i < 4 * n; i++) {
    const sender = senders[i % senders.length] as (typeof senders)[number];
    const messageId = new Uint8Array(16);
    new DataView(messageId.buffer).setUint32(12, i);
    const deliveryId = messageId.slice();
    deliveryId[0] = 0xde;
    const sentAt = T0 + i * 1000;
    const sealed = await sealArchived(provider, {
      archivePublicKey: archive.publicKey,
      messageId,
      conversationId: utf8(`conversation-${i % 200}`),
      sender: { userId: sender.userId, deviceId: 1 },
      sentAt,
      contentType: 'application/x-cloister-content',
      content: encodeContent({
        messageId,
        sentAtMs: sentAt,
        archived: true,
        body: { type: 'text', text: `Message ${i}: the quarterly figures, Grüße & <regards>` },
      }),
      deliveryId,
      certificate: sender.certificate,
      identitySigningKey: sender.signingKey,
    });
    items.push({
      id: toHex(messageId),
      seq: i + 1,
      receivedAt: sentAt + 50,
      deliveryId,
      size: sealed.length,
      sealed,
      expiresAt: null,
    });
  }
  const makeSeconds = (performance.now() - makeStarted) / 1000;
  console.log(`made ${items.length} seals in ${makeSeconds.toFixed(1)} s`);

  const nullSink = () =>
    new Writable({
      highWaterMark: 64 * 1024,
      write(_chunk, _enc, done) {
        done();
      },
    });
  const nullEml: EmlTarget = { async message() {}, async report() {}, async close() {} };

  const cases: Record<string, unknown>[] = [];
  for (const size of [n, 4 * n]) {
    for (const format of FORMATS) {
      const sampleEvery = Math.max(1, Math.floor(size / 10));
      let count = 0;
      let peak = 0;
      const before = liveHeap();
      const rssBefore = process.memoryUsage().rss;
      let invalid = 0;
      async function* source() {
        for (let i = 0; i < size; i++) yield items[i] as ArchiveItem;
      }
      const onRecord = (r: ArchiveRecord) => {
        count++;
        if (r.status !== 'valid') invalid++;
        if (count % sampleEvery === 0) peak = Math.max(peak, liveHeap() - before);
      };
      const records = openArchive({
        provider,
        archivePrivateKey: archive.privateKey,
        tenantPublicKey: tenant.publicKey,
        tenantId: 'acme',
        items: source(),
        ...(dedupeWindow === undefined ? {} : { dedupeWindow }),
      });
      const started = performance.now();
      if (format === 'jsonl') await exportJsonLines(records, nullSink(), onRecord);
      else if (format === 'eml') await exportEml(records, nullEml, onRecord);
      else await exportActiance(records, nullSink(), onRecord);
      const seconds = (performance.now() - started) / 1000;
      const result = {
        name: `archive-export/${format}/${size}`,
        format,
        messages: size,
        invalid,
        seconds,
        messagesPerSecond: size / seconds,
        liveHeapGrowthBytes: peak,
        rssGrowthBytes: process.memoryUsage().rss - rssBefore,
      };
      cases.push(result);
      console.log(
        `${result.name.padEnd(32)} ${result.messagesPerSecond.toFixed(0).padStart(8)} msg/s  heap +${(peak / 1024).toFixed(0)} KiB  rss +${(result.rssGrowthBytes / 1024).toFixed(0)} KiB`,
      );
    }
  }
  if (values.server) cases.push(await throughServer(items.slice(0, n), provider, archive, tenant.publicKey));
  const out = values.out ?? resolve(PACKAGE_DIR, 'results', `archive-export-${timestamp(new Date())}.json`);
  writeJson(out, {
    benchmark: 'archive-export',
    machine: describeMachine(),
    n,
    dedupeWindow: dedupeWindow ?? 'default (65536)',
    sealVersion: 3,
    sealsMadeInSeconds: makeSeconds,
    notes:
      'liveHeapGrowthBytes: the largest heap after a forced GC during the export minus the heap before it (the input items are held before and not counted); the duplicate index holds min(messages, 65536) keys',
    cases,
  });
  console.log(`wrote ${out}`);
}

/**
 * The same items filed on a real server (PGlite, in this process, over HTTPS on loopback), read by
 * an auditor through the streamed export route, opened and written as JSON lines.
 */
async function throughServer(
  items: readonly ArchiveItem[],
  provider: Awaited<ReturnType<typeof getProvider>>,
  archive: { privateKey: Uint8Array },
  tenantPublicKey: Uint8Array,
): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-bench-archive-'));
  const operatorToken = randomBytes(32).toString('base64url');
  const server = await createServer({
    dataDir,
    logLevel: 'silent',
    operatorToken,
    rateLimitPerMinute: 10_000_000,
  });
  try {
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    const transport = () => pinnedTransport({ url, pin: server.pin });
    const operator = new AdminClient({
      transport: transport(),
      provider,
      credential: { kind: 'operator', token: operatorToken },
    });
    const password = 'bench password 1234';
    const created = await operator.createTenant({
      id: 'acme',
      name: 'ACME',
      owner: { email: 'olivia@acme.example', name: 'Olivia', password },
    });
    const { client: owner } = await AdminClient.login(
      { transport: transport(), provider },
      { tenant: 'acme', email: 'olivia@acme.example', password, totp: totp(created.owner.totpUri) },
    );
    const invited = await owner.inviteAdministrator({
      email: 'ada@acme.example',
      name: 'Ada',
      role: 'auditor',
      password,
    });
    const { client: auditor } = await AdminClient.login(
      { transport: transport(), provider },
      {
        tenant: 'acme',
        email: 'ada@acme.example',
        password,
        totp: totp((invited as { totpUri: string }).totpUri),
      },
    );
    const filing = performance.now();
    for (const item of items) {
      await server.context.stores.archive.append(tenantId('acme'), {
        sealed: item.sealed,
        expiresAt: null,
        ...(item.deliveryId === null ? {} : { deliveryId: item.deliveryId }),
      });
    }
    const filedSeconds = (performance.now() - filing) / 1000;
    const before = liveHeap();
    const rssBefore = process.memoryUsage().rss;
    let count = 0;
    let peak = 0;
    const sampleEvery = Math.max(1, Math.floor(items.length / 10));
    const started = performance.now();
    const summary = await exportJsonLines(
      openArchive({
        provider,
        archivePrivateKey: archive.privateKey,
        tenantPublicKey,
        tenantId: 'acme',
        items: auditor.archive.export({ from: 0, purpose: 'benchmark' }),
      }),
      new Writable({ write: (_c, _e, done) => done() }),
      () => {
        count++;
        if (count % sampleEvery === 0) peak = Math.max(peak, liveHeap() - before);
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const result = {
      name: `archive-export/server/jsonl/${items.length}`,
      format: 'jsonl',
      messages: items.length,
      invalid: items.length - summary.counts.valid,
      seconds,
      messagesPerSecond: items.length / seconds,
      liveHeapGrowthBytes: peak,
      rssGrowthBytes: process.memoryUsage().rss - rssBefore,
      filedPerSecond: items.length / filedSeconds,
      note: 'filed with stores.archive.append (the filing path without a delivery), read over HTTPS by an auditor (GET /admin/v1/archive/export, PGlite)',
    };
    console.log(
      `${result.name.padEnd(32)} ${result.messagesPerSecond.toFixed(0).padStart(8)} msg/s  heap +${(peak / 1024).toFixed(0)} KiB  (filed ${result.filedPerSecond.toFixed(0)}/s)`,
    );
    return result;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
