/**
 * The exports, checked structurally: JSON lines parse back to the records; every EML file parses
 * as an RFC 5322 message (CRLF only, unfolded headers, RFC 2047 words decode to the original,
 * the seal status), failures and gaps go to the report; the Actiance XML parses with a real
 * parser and carries each message's LoginName, DateTimeUTC in seconds and Content, and the
 * failures as comments. Writers wait for `drain`.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ArchiveRecord,
  emlMessage,
  encodeHeaderValue,
  exportActiance,
  exportEml,
  exportJsonLines,
  openArchive,
  rfc5322Date,
} from '../src/index.js';
import { EML_REPORT_FILE, emlDirectory } from '../src/node.js';
import { archiveFixture, collect, fromArray, T0 } from './archive-fixtures.js';

const f = await archiveFixture();
const ceo = await f.member('ceo@acme.example', 3, ['board']);
const zoe = await f.member('Zoë Ångström', 7, ['légal']);
const dup = f.nextId();
const items = [
  f.item(
    await f.seal({ sender: ceo, body: { type: 'text', text: 'Merger <closes> on Friday & "soon" -- ok' } }),
  ),
  f.item(
    await f.seal({
      sender: zoe,
      messageId: dup,
      body: { type: 'text', text: 'Grüße aus Zürich\nzweite Zeile' },
    }),
  ),
  f.item(
    await f.seal({
      sender: zoe,
      messageId: dup,
      body: { type: 'text', text: 'Grüße aus Zürich\nzweite Zeile' },
    }),
  ),
  f.item(
    await f.seal({
      sender: ceo,
      conversationId: new Uint8Array([1, 2]),
      body: { type: 'text', text: 'other room' },
    }),
    { seq: 7 },
  ),
  f.item(
    await f.forge({ sender: ceo, body: { type: 'text', text: 'forged' } }, zoe.certificate, zoe.signingKey),
  ),
];
const records: ArchiveRecord[] = await collect(
  openArchive({
    provider: f.provider,
    archivePrivateKey: f.archive.privateKey,
    tenantPublicKey: f.tenant.publicKey,
    items: fromArray(items),
  }),
);
const dir = mkdtempSync(join(tmpdir(), 'cloister-archive-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class MemorySink extends EventEmitter {
  chunks: string[] = [];
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  text(): string {
    return this.chunks.join('');
  }
}

function parseEml(text: string): { headers: Map<string, string>; body: string } {
  const [head, ...rest] = text.split('\r\n\r\n');
  const unfolded = (head ?? '').replace(/\r\n[ \t]/g, ' ');
  const headers = new Map<string, string>();
  for (const line of unfolded.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: rest.join('\r\n\r\n') };
}

function decodeWords(value: string): string {
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    out += Buffer.from(bytes).toString('utf8');
    bytes.length = 0;
  };
  for (const part of value.split(/(=\?UTF-8\?B\?[^?]*\?=)/)) {
    const m = /^=\?UTF-8\?B\?([^?]*)\?=$/.exec(part);
    if (m) bytes.push(...Buffer.from(m[1] ?? '', 'base64'));
    else if (part.trim() !== '' || bytes.length === 0) {
      flush();
      out += part;
    }
  }
  flush();
  return out;
}

describe('archive exports', () => {
  it('the records under test have every kind: valid, duplicate, gap, forged', () => {
    expect(records.map((r) => r.status)).toEqual(['valid', 'valid', 'duplicate', 'gap', 'valid', 'forged']);
  });

  it('JSON lines: one record per line, in order, failures and gaps included', async () => {
    const sink = new MemorySink();
    const summary = await exportJsonLines(fromArray(records), sink);
    const lines = sink.text().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(records);
    expect(summary.counts).toEqual({ valid: 3, moved: 0, duplicate: 1, forged: 1, undecryptable: 0, gap: 1 });
    expect(summary.firstReceivedAt).toBe(records[0]?.receivedAt);
  });

  it('EML: one RFC 5322 file per message in export order, report.jsonl for the rest', async () => {
    const out = join(dir, 'eml');
    const summary = await exportEml(fromArray(records), emlDirectory(out));
    expect(summary.counts.valid).toBe(3);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(5);
    expect(files.at(-1)).toBe(EML_REPORT_FILE);
    const report = readFileSync(join(out, EML_REPORT_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(report.map((r) => r.status)).toEqual(['gap', 'forged']);
    const emls = files.filter((n) => n.endsWith('.eml'));
    expect(emls.map((n) => n.slice(9, -4))).toEqual(
      records.filter((r) => 'message' in r).map((r) => (r as { id: string }).id),
    );
    for (const name of emls) {
      const text = readFileSync(join(out, name), 'utf8');
      expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
      for (const line of text.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    }
    const first = parseEml(readFileSync(join(out, emls[0] ?? ''), 'utf8'));
    expect(first.headers.get('from')).toBe('"ceo@acme.example" <ceo@acme.example>');
    expect(first.headers.get('to')).toBe('undisclosed-recipients:;');
    expect(Date.parse(first.headers.get('date') ?? '')).toBe(Math.floor(T0 / 1000) * 1000);
    expect(first.headers.get('message-id')).toMatch(/^<[0-9a-f]{32}@acme\.cloister\.invalid>$/);
    expect(first.headers.get('x-cloister-seal-status')).toBe('valid');
    expect(first.headers.get('x-cloister-sender-device')).toBe('3');
    expect(first.headers.get('content-transfer-encoding')).toBe('7bit');
    expect(first.body).toBe('Merger <closes> on Friday & "soon" -- ok\r\n');
    const second = parseEml(readFileSync(join(out, emls[1] ?? ''), 'utf8'));
    expect(decodeWords(second.headers.get('subject') ?? '')).toBe('Grüße aus Zürich');
    expect(decodeWords(second.headers.get('x-cloister-sender') ?? '')).toBe('Zoë Ångström');
    expect(second.headers.get('from')).toMatch(/<Zo___ngstr_m@acme\.cloister\.invalid>$/);
    expect(second.headers.get('content-transfer-encoding')).toBe('base64');
    expect(Buffer.from(second.body.replace(/\r\n/g, ''), 'base64').toString('utf8')).toBe(
      'Grüße aus Zürich\r\nzweite Zeile',
    );
    const third = parseEml(readFileSync(join(out, emls[2] ?? ''), 'utf8'));
    expect(third.headers.get('x-cloister-seal-status')).toBe(
      `duplicate; of=${(records[1] as { id: string }).id}`,
    );
    expect(() => emlDirectory(out)).toThrow(/empty directory/);
  });

  it('EML: a sender id or text cannot add a header; a hostile item id cannot leave the directory', async () => {
    const valid = records[0] as Extract<ArchiveRecord, { status: 'valid' }>;
    const hostile: ArchiveRecord = {
      ...valid,
      id: '../../etc/x',
      message: {
        ...valid.message,
        sender: { userId: 'eve\r\nBcc: everyone@example.org', deviceId: 1 },
        senderPools: ['a\r\nX-Injected: 1'],
        tenantId: 'acme\r\nX-Injected: 2',
        text: 'subject line\r\nX-Injected: 3\r\n\r\nbody',
      },
    };
    const text = emlMessage(hostile);
    const { headers } = parseEml(text);
    expect(headers.has('bcc')).toBe(false);
    expect(headers.has('x-injected')).toBe(false);
    expect(decodeWords(headers.get('x-cloister-sender') ?? '')).toBe('eve\r\nBcc: everyone@example.org');
    const out = join(dir, 'hostile');
    await exportEml(fromArray([hostile]), emlDirectory(out));
    expect(readdirSync(out).sort()).toEqual(['00000001-______etc_x.eml', EML_REPORT_FILE]);
  });

  it('RFC 2047 words stay within 75 characters and decode to the original', () => {
    const long = 'Ünïcödé '.repeat(30);
    const encoded = encodeHeaderValue(long);
    for (const word of encoded.split('\r\n ')) expect(word.length).toBeLessThanOrEqual(75);
    expect(decodeWords(encoded.replace(/\r\n /g, ' '))).toBe(long);
    expect(rfc5322Date(0)).toBe('Thu, 01 Jan 1970 00:00:00 +0000');
  });

  it('Actiance XML: parses; conversations, participants, messages (LoginName, DateTimeUTC in seconds, Content), failures as comments', async () => {
    const sink = new MemorySink();
    await exportActiance(fromArray(records), sink);
    const xml = sink.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({
      isArray: (name) => ['Conversation', 'Message', 'ParticipantEntered'].includes(name),
      parseTagValue: false,
    }).parse(xml);
    const conversations = doc.FileDump.Conversation;
    expect(conversations).toHaveLength(2);
    const [room1, room2] = conversations;
    expect(room1.RoomID).toBe((records[0] as { message: { conversationId: string } }).message.conversationId);
    expect(room1.StartTimeUTC).toBe(String(Math.floor(T0 / 1000)));
    expect(room1.ParticipantEntered.map((p: { LoginName: string }) => p.LoginName)).toEqual([
      'ceo@acme.example',
      'Zoë Ångström',
    ]);
    expect(room1.Message.map((m: { Content: string }) => m.Content)).toEqual([
      'Merger <closes> on Friday & "soon" -- ok',
      'Grüße aus Zürich\nzweite Zeile',
      'Grüße aus Zürich\nzweite Zeile',
    ]);
    expect(room1.Message[0].DateTimeUTC).toBe(String(Math.floor(T0 / 1000)));
    expect(room2.RoomID).toBe('0102');
    expect(room2.Message).toHaveLength(1);
    const comments = [...xml.matchAll(/<!--([\s\S]*?)-->/g)].map((m) => m[1] ?? '');
    for (const c of comments) expect(c).not.toMatch(/--/);
    expect(comments.some((c) => c.includes('duplicate'))).toBe(true);
    expect(comments.some((c) => c.includes('gap: items'))).toBe(true);
    expect(comments.some((c) => c.includes('forged seal'))).toBe(true);
    expect(comments.at(-1)).toContain('summary valid=3 moved=0 duplicate=1 forged=1 undecryptable=0 gap=1');
  });

  it('writers wait for drain when the sink is full', async () => {
    const sink = new MemorySink();
    let pendingDrain = 0;
    sink.write = function (chunk: string) {
      this.chunks.push(chunk);
      pendingDrain++;
      setTimeout(() => this.emit('drain'), 1);
      return false;
    };
    let maxOutstanding = 0;
    sink.on('drain', () => {
      maxOutstanding = Math.max(maxOutstanding, pendingDrain);
      pendingDrain--;
    });
    await exportJsonLines(fromArray(records), sink);
    expect(sink.chunks).toHaveLength(records.length);
    expect(maxOutstanding).toBe(1);
  });
});
