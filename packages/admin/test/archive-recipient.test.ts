/**
 * The recipient of a 1:1 message in the auditor's tool (issue 19): a version-3 seal names it
 * (signed with the rest of its record), the opened record carries it, a search for a user finds
 * what the user sent and what the user received in 1:1 conversations, the EML export addresses
 * the message `To:` the recipient (a group message or a version-2 seal stays
 * `undisclosed-recipients`) and the Actiance export lists the recipient as a participant. A
 * recipient id cannot add a header.
 */
import { sealArchived } from '@cloister/crypto';
import { encodeContent } from '@cloister/protocol';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVED_MESSAGE_CONTENT_TYPE,
  type ArchiveRecord,
  emlMessage,
  exportActiance,
  filterArchive,
  openArchive,
} from '../src/index.js';
import { archiveFixture, collect, fromArray, type Member, T0 } from './archive-fixtures.js';

const f = await archiveFixture();
const ceo = await f.member('ceo@acme.example', 3, ['board']);
const zoe = await f.member('Zoë Ångström', 7, ['légal']);
const group = new Uint8Array(32).fill(0x47);

/** A version-3 seal as the client makes it, with `recipient` for a 1:1 message. */
async function sealTo(sender: Member, text: string, recipient?: string, conversationId = f.conversation) {
  const messageId = f.nextId();
  const deliveryId = f.nextId();
  const bytes = await sealArchived(f.provider, {
    archivePublicKey: f.archive.publicKey,
    messageId,
    conversationId,
    sender: { userId: sender.userId, deviceId: sender.deviceId },
    sentAt: T0,
    ...(recipient === undefined ? {} : { recipient }),
    contentType: ARCHIVED_MESSAGE_CONTENT_TYPE,
    content: encodeContent({ messageId, sentAtMs: T0, archived: true, body: { type: 'text', text } }),
    deliveryId,
    certificate: sender.certificate,
    identitySigningKey: sender.signingKey,
  });
  return { bytes, deliveryId };
}

const items = [
  f.item(await sealTo(ceo, 'numbers for the CFO', 'cfo@acme.example')),
  f.item(await sealTo(ceo, 'to the board', undefined, group)),
  f.item(await sealTo(zoe, 'a question for the CEO', 'ceo@acme.example')),
  f.item(await f.seal({ sender: zoe, body: { type: 'text', text: 'version 2, no recipient' } })),
];
const records: ArchiveRecord[] = await collect(
  openArchive({
    provider: f.provider,
    archivePrivateKey: f.archive.privateKey,
    tenantPublicKey: f.tenant.publicKey,
    items: fromArray(items),
  }),
);
const texts = (rs: readonly ArchiveRecord[]) => rs.map((r) => ('message' in r ? r.message.text : r.status));

function headersOf(text: string): Map<string, string> {
  const head = (text.split('\r\n\r\n')[0] ?? '').replace(/\r\n[ \t]/g, ' ');
  const out = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    out.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

function decodeWords(value: string): string {
  return value
    .split(/\s+/)
    .map((w) => /^=\?UTF-8\?B\?([^?]*)\?=$/.exec(w)?.[1])
    .map((b) => Buffer.from(b ?? '', 'base64'))
    .reduce((acc, b) => Buffer.concat([acc, b]), Buffer.alloc(0))
    .toString('utf8');
}

describe('the recipient of a 1:1 message in the archive', () => {
  it('opened records carry the signed recipient; a group message and a version-2 seal have none', () => {
    expect(records.map((r) => r.status)).toEqual(['valid', 'valid', 'valid', 'valid']);
    const messages = records.map((r) => (r as Extract<ArchiveRecord, { status: 'valid' }>).message);
    expect(messages.map((m) => m.recipient)).toEqual([
      'cfo@acme.example',
      undefined,
      'ceo@acme.example',
      undefined,
    ]);
    expect(messages.map((m) => 'recipient' in m)).toEqual([true, false, true, false]);
    expect(messages.map((m) => m.sealVersion)).toEqual([3, 3, 3, 2]);
  });

  it('a search for a user finds what the user sent and what the user received 1:1', async () => {
    const search = async (users: string[]) =>
      texts(await collect(filterArchive(fromArray(records), { users })));
    // The CFO sent nothing: before the recipient was recorded, this search found nothing.
    expect(await search(['cfo@acme.example'])).toEqual(['numbers for the CFO']);
    expect(await search(['ceo@acme.example'])).toEqual([
      'numbers for the CFO',
      'to the board',
      'a question for the CEO',
    ]);
    expect(await search(['Zoë Ångström'])).toEqual(['a question for the CEO', 'version 2, no recipient']);
    expect(await search(['nobody@acme.example'])).toEqual([]);
    // The other members still narrow: a recipient match is still limited by pool and time.
    const scoped = await collect(
      filterArchive(fromArray(records), { users: ['ceo@acme.example'], pools: ['légal'] }),
    );
    expect(texts(scoped)).toEqual(['a question for the CEO']);
  });

  it('EML: To: the recipient of a 1:1 message, undisclosed for a group or version 2; the conversation stays an X- header', () => {
    const [oneToOne, toGroup, fromZoe, v2] = records.map((r) => headersOf(emlMessage(r)));
    expect(oneToOne?.get('to')).toBe('"cfo@acme.example" <cfo@acme.example>');
    expect(oneToOne?.get('x-cloister-recipient')).toBe('cfo@acme.example');
    expect(oneToOne?.get('x-cloister-conversation')).toBeDefined();
    expect(fromZoe?.get('to')).toBe('"ceo@acme.example" <ceo@acme.example>');
    for (const h of [toGroup, v2]) {
      expect(h?.get('to')).toBe('undisclosed-recipients:;');
      expect(h?.has('x-cloister-recipient')).toBe(false);
    }
    expect(toGroup?.get('x-cloister-conversation')).toBe('47'.repeat(32));
  });

  it('EML: a recipient id cannot add a header; one that is not an address gets a stand-in under the tenant', () => {
    const valid = records[0] as Extract<ArchiveRecord, { status: 'valid' }>;
    const hostile: ArchiveRecord = {
      ...valid,
      message: { ...valid.message, recipient: 'eve\r\nBcc: everyone@example.org' },
    };
    const headers = headersOf(emlMessage(hostile));
    expect(headers.has('bcc')).toBe(false);
    expect(decodeWords(headers.get('x-cloister-recipient') ?? '')).toBe('eve\r\nBcc: everyone@example.org');
    expect(headers.get('to')).toMatch(
      /^=\?UTF-8\?B\?\S+ <eve__Bcc__everyone_example_org@acme\.cloister\.invalid>$/,
    );
    const named = headersOf(emlMessage({ ...valid, message: { ...valid.message, recipient: 'Jürgen' } }));
    expect(named.get('to')).toBe('=?UTF-8?B?SsO8cmdlbg==?= <J_rgen@acme.cloister.invalid>');
  });

  it('Actiance XML: the recipient enters the conversation as a participant with the sender', async () => {
    const chunks: string[] = [];
    await exportActiance(fromArray(records), {
      write: (c: string) => {
        chunks.push(c);
        return true;
      },
      once: () => undefined,
    });
    const xml = chunks.join('');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({
      isArray: (name) => ['Conversation', 'Message', 'ParticipantEntered'].includes(name),
      parseTagValue: false,
    }).parse(xml);
    const logins = (c: { ParticipantEntered: { LoginName: string }[] }) =>
      c.ParticipantEntered.map((p) => p.LoginName);
    const [first, board, last] = doc.FileDump.Conversation;
    expect(logins(first)).toEqual(['ceo@acme.example', 'cfo@acme.example']);
    expect(logins(board)).toEqual(['ceo@acme.example']);
    expect(logins(last)).toEqual(['Zoë Ångström', 'ceo@acme.example']);
    // The recipient is a participant, never the author of a message.
    expect(first.Message.map((m: { LoginName: string }) => m.LoginName)).toEqual(['ceo@acme.example']);
  });
});
