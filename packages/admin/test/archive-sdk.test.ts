/**
 * `admin.archive` speaks the archive contract (`/work` brief archive-api; `spec/audit-tool.md`
 * §2): paths, methods, query parameters and JSON bodies as the server expects them, bytes as
 * unpadded base64url; the export is read line by line as it streams (a line split across chunks,
 * a character split across chunks); error answers become typed errors. Auditor key files round
 * trip and refuse a wrong passphrase or an altered file.
 */
import { PIN_SCRYPT_FLOOR, WrongPin } from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  AdminClient,
  type AdminRequest,
  type AdminResponse,
  AUDITOR_KEY_FORMATS,
  generateAuditorKey,
  ndjsonValues,
  openAuditorKey,
  readAuditorPublicKey,
} from '../src/index.js';
import { archiveFixture, collect, fromArray } from './archive-fixtures.js';

const f = await archiveFixture();

function recorder(answer: (request: AdminRequest) => { status: number; chunks: string[] }) {
  const requests: AdminRequest[] = [];
  const transport = async (request: AdminRequest): Promise<AdminResponse> => {
    requests.push(request);
    const { status, chunks } = answer(request);
    return {
      status,
      headers: { 'content-type': 'application/json' },
      body: fromArray(chunks.map((c) => new TextEncoder().encode(c))),
    };
  };
  const admin = new AdminClient({ transport, credential: { kind: 'session', token: 't'.repeat(43) } });
  return { admin, requests };
}

const json = (r: AdminRequest) => JSON.parse(new TextDecoder().decode(r.body));

describe('admin.archive', () => {
  it('createKeySet posts the public key and the wrapped shares as base64url', async () => {
    const { admin, requests } = recorder(() => ({
      status: 201,
      chunks: [
        JSON.stringify({
          id: 'ab'.repeat(8),
          fingerprint: 'cloister-archive:v1:x',
          createdAt: 1,
          createdBy: 'adm_1',
        }),
      ],
    }));
    const made = await admin.archive.createKeySet({
      setId: 'ab'.repeat(8),
      publicKey: new Uint8Array(32).fill(0xfb),
      threshold: 2,
      holders: [
        { holder: 'a1', share: new Uint8Array([1, 2, 3]) },
        { holder: 'a2', share: new Uint8Array([0xff]) },
      ],
      label: '2027',
    });
    expect(made.fingerprint).toBe('cloister-archive:v1:x');
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/admin/v1/archive/key-sets' });
    expect(json(requests[0] as AdminRequest)).toEqual({
      setId: 'ab'.repeat(8),
      publicKey: '-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s',
      threshold: 2,
      holders: [
        { holder: 'a1', share: 'AQID' },
        { holder: 'a2', share: '_w' },
      ],
      label: '2027',
    });
  });

  it('items and keySets send the query and answer the page; holds create, list and lift', async () => {
    const { admin, requests } = recorder((r) => {
      if (r.method === 'DELETE') return { status: 204, chunks: [] };
      if (r.path === '/admin/v1/legal-holds' && r.method === 'POST') {
        return {
          status: 201,
          chunks: [JSON.stringify({ id: 'h1', ...json(r), createdAt: 1, createdBy: 'adm_1' })],
        };
      }
      return {
        status: 200,
        chunks: [JSON.stringify({ items: [], range: { firstSeq: null, lastSeq: null } })],
      };
    });
    await admin.archive.items({ from: 10, to: 20, after: 'ff', limit: 5, purpose: 'case 7' });
    expect(requests[0]).toMatchObject({
      method: 'GET',
      path: '/admin/v1/archive/items',
      query: { from: '10', to: '20', after: 'ff', limit: '5', purpose: 'case 7' },
    });
    expect(await admin.archive.keySets()).toEqual([]);
    expect(requests[1]).toMatchObject({ method: 'GET', path: '/admin/v1/archive/key-sets' });
    const hold = await admin.archive.holds.create({ users: ['u1'], reason: 'case 7' });
    expect(hold).toMatchObject({ id: 'h1', users: ['u1'], reason: 'case 7' });
    expect(await admin.archive.holds.list()).toEqual([]);
    await admin.archive.holds.lift('h/1');
    expect(requests.slice(2).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /admin/v1/legal-holds',
      'GET /admin/v1/legal-holds',
      'DELETE /admin/v1/legal-holds/h%2F1',
    ]);
  });

  it('export streams JSON lines split anywhere across chunks', async () => {
    const lines = [1, 2, 3].map((n) =>
      JSON.stringify({
        id: `0${n}`,
        seq: n,
        receivedAt: n,
        deliveryId: null,
        size: 1,
        sealed: 'AA',
        expiresAt: null,
        note: 'Zürich',
      }),
    );
    const text = `${lines.join('\n')}\n`;
    const bytes = new TextEncoder().encode(text);
    const cut = text.indexOf('ü') + 1; // inside the two bytes of ü
    const { admin, requests } = recorder(() => ({ status: 200, chunks: [] }));
    void admin;
    const items = await collect(
      ndjsonValues<{ id: string; note: string }>(
        fromArray([bytes.slice(0, cut), bytes.slice(cut, cut + 40), bytes.slice(cut + 40)]),
      ),
    );
    expect(items.map((i) => i.id)).toEqual(['01', '02', '03']);
    expect(items[0]?.note).toBe('Zürich');
    const streamed = recorder(() => ({ status: 200, chunks: [text.slice(0, 7), text.slice(7)] }));
    const got = await collect(streamed.admin.archive.export({ from: 1, purpose: 'p' }));
    expect(got.map((i) => i.seq)).toEqual([1, 2, 3]);
    expect(got[0]?.sealed).toEqual(new Uint8Array([0]));
    expect(streamed.requests[0]).toMatchObject({
      method: 'GET',
      path: '/admin/v1/archive/export',
      query: { from: '1', purpose: 'p' },
    });
    expect(requests).toHaveLength(0);
  });

  it('a refusal is a typed error', async () => {
    const { admin } = recorder(() => ({
      status: 403,
      chunks: [JSON.stringify({ error: { code: 'ERR_FORBIDDEN', message: 'archive.audit needed' } })],
    }));
    await expect(collect(admin.archive.export())).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  });
});

describe('auditor key files', () => {
  const passphrase = 'correct horse battery staple';
  const fast = { scrypt: PIN_SCRYPT_FLOOR };

  it('round-trip; the public file holds no secret; a wrong passphrase and an altered file are refused', async () => {
    const made = await generateAuditorKey(f.provider, { holder: 'auditor-1', passphrase }, fast);
    expect(JSON.parse(made.publicText)).toEqual({
      format: AUDITOR_KEY_FORMATS.public,
      holder: 'auditor-1',
      publicKey: Buffer.from(made.publicKey).toString('base64url'),
    });
    expect(readAuditorPublicKey(made.privateText)).toEqual({
      holder: 'auditor-1',
      publicKey: made.publicKey,
    });
    const key = await openAuditorKey(f.provider, made.privateText, passphrase);
    expect(key.holder).toBe('auditor-1');
    expect(await f.provider.x25519.publicKey(key.privateKey)).toEqual(made.publicKey);
    await expect(openAuditorKey(f.provider, made.privateText, 'wrong passphrase!!')).rejects.toBeInstanceOf(
      WrongPin,
    );
    const other = await generateAuditorKey(f.provider, { holder: 'auditor-2', passphrase }, fast);
    const swapped = { ...JSON.parse(made.privateText), publicKey: JSON.parse(other.publicText).publicKey };
    await expect(openAuditorKey(f.provider, JSON.stringify(swapped), passphrase)).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    await expect(
      generateAuditorKey(f.provider, { holder: 'a', passphrase: 'short' }, fast),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(generateAuditorKey(f.provider, { holder: 'a\nb', passphrase }, fast)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    expect(() => readAuditorPublicKey('{"format":"other"}')).toThrow();
  });
});
