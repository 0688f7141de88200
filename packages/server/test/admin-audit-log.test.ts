/**
 * The audit log for outsiders, through HTTP on a running server: the export in JSON lines, CEF
 * (escaping of `|`, `\`, `=` and line breaks) and OCSF; a row deleted straight from the database
 * becomes an explicit gap record in every format; the Merkle proofs equal the RFC 9162 definitions
 * computed naively; the checkpoint is a signed note whose signature verifies under the log key; the
 * server refuses to sign a checkpoint over a tampered chain or a rewritten history.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { type CryptoProvider, concatBytes, getProvider, utf8 } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { decodeRecord, encodeRecord } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCefLine, cefHeaderEscape, cefValueEscape } from '../src/store/audit-export.js';
import {
  type LeafSource,
  leafRangeHasher,
  MerkleStack,
  merkleConsistencyProof,
  merkleInclusionProof,
  merkleLeafHash,
} from '../src/store/audit-tree.js';
import { auditChainHash, SERVER_TABLES } from '../src/store/index.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;
const seqKey = (n: number) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

// RFC 9162 §2.1.1, 2.1.3.1, 2.1.4.1, written straight from the definitions over arrays.
async function mth(p: CryptoProvider, d: Uint8Array[]): Promise<Uint8Array> {
  if (d.length === 0) return p.sha256(new Uint8Array(0));
  if (d.length === 1) return p.sha256(concatBytes(Uint8Array.of(0), d[0] as Uint8Array));
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return p.sha256(concatBytes(Uint8Array.of(1), await mth(p, d.slice(0, k)), await mth(p, d.slice(k))));
}
async function path(p: CryptoProvider, m: number, d: Uint8Array[]): Promise<Uint8Array[]> {
  if (d.length === 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k
    ? [...(await path(p, m, d.slice(0, k))), await mth(p, d.slice(k))]
    : [...(await path(p, m - k, d.slice(k))), await mth(p, d.slice(0, k))];
}
async function subproof(p: CryptoProvider, m: number, d: Uint8Array[], b: boolean): Promise<Uint8Array[]> {
  if (m === d.length) return b ? [] : [await mth(p, d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m <= k
    ? [...(await subproof(p, m, d.slice(0, k), b)), await mth(p, d.slice(k))]
    : [...(await subproof(p, m - k, d.slice(k), false)), await mth(p, d.slice(0, k))];
}

describe('Merkle tree of the audit log (RFC 9162)', () => {
  let p: CryptoProvider;
  const leaves = Array.from({ length: 21 }, (_v, i) => new Uint8Array(32).fill(i + 1));
  const source: LeafSource = (start, end) =>
    (async function* () {
      for (let i = start; i < end; i++) yield leaves[i] as Uint8Array;
    })();
  beforeAll(async () => {
    p = await getProvider();
  });

  it('computes roots, inclusion and consistency proofs exactly as the definitions for every size', async () => {
    for (let n = 0; n <= leaves.length; n++) {
      const tree = new MerkleStack(p);
      for (const l of leaves.slice(0, n)) await tree.push(await merkleLeafHash(p, l));
      expect(Buffer.from(await tree.root())).toEqual(Buffer.from(await mth(p, leaves.slice(0, n))));
      for (let i = 0; i < n; i++) {
        const got = await merkleInclusionProof(leafRangeHasher(p, source), i, n);
        expect(got.map((h) => Buffer.from(h))).toEqual(
          (await path(p, i, leaves.slice(0, n))).map((h) => Buffer.from(h)),
        );
      }
      for (let m = 1; m < n; m++) {
        const got = await merkleConsistencyProof(leafRangeHasher(p, source), m, n);
        expect(got.map((h) => Buffer.from(h))).toEqual(
          (await subproof(p, m, leaves.slice(0, n), true)).map((h) => Buffer.from(h)),
        );
      }
    }
    expect(await merkleConsistencyProof(leafRangeHasher(p, source), 5, 5)).toEqual([]);
    await expect(merkleInclusionProof(leafRangeHasher(p, source), 3, 3)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
  });

  it('escapes CEF header and extension values as the CEF specification says', () => {
    expect(cefHeaderEscape('a|b\\c\nd')).toBe('a\\|b\\\\c d');
    expect(cefValueEscape('x=y\\z|w\r\nv')).toBe('x\\=y\\\\z|w\\r\\nv');
  });
});

describe('audit log export, checkpoint and proofs over HTTP', () => {
  let t: AdminTestServer;
  let owner: { session: string };
  const acme = tenantId('acme');

  beforeAll(async () => {
    t = await startAdminServer(T0, { postgresSchema: `adm_auditlog_${randomBytes(4).toString('hex')}` });
    const created = await createTenantAsOperator(t, 'acme');
    owner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
    await t.server.context.stores.audit.append(acme, {
      actor: 'system',
      action: 'user.block',
      target: 'we|ird=tar\\get',
      outcome: 'denied',
      details: { reason: 'a=b\nline2' },
    });
  }, 60_000);
  afterAll(async () => t?.close());

  const text = (r: { body: Buffer }) => r.body.toString('utf8');

  it('exports JSON lines, CEF and OCSF with the fields mapped and the export audited with its format', async () => {
    const cef = await t.as(owner, 'GET', '/admin/v1/audit/export?format=cef');
    expect(cef.status).toBe(200);
    expect(cef.headers['content-type']).toMatch(/^text\/plain/);
    const lines = text(cef).trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^CEF:0\|Cloister\|Cloister Server\|1\|[a-z.:_-]+\|/);
    const weird = lines.find((l) => l.includes('user.block|user.block denied|8|'));
    expect(weird).toBeDefined();
    expect(weird).toContain(
      'suser=system act=user.block outcome=denied cs1=we|ird\\=tar\\\\get cs1Label=target',
    );
    expect(weird).toContain('cs3={"reason":"a\\=b\\\\nline2"} cs3Label=details');
    expect(lines.at(-1)).toMatch(/\|audit\.export\|audit\.export success\|3\|.* cs3=\{"format":"cef"\}/);

    const ocsf = await t.as(owner, 'GET', '/admin/v1/audit/export?format=ocsf');
    const records = text(ocsf)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const block = records.find((r) => r.api.operation === 'user.block');
    expect(block).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 3,
      type_uid: 600303,
      status_id: 2,
      status_detail: 'denied',
      actor: { user: { uid: 'system' } },
      resources: [{ uid: 'we|ird=tar\\get' }],
      metadata: { product: { name: 'Cloister Server', vendor_name: 'Cloister' }, tenant_uid: 'acme' },
    });
    const stored = await t.server.context.stores.audit.list(acme, {
      fromSeq: block.metadata.sequence,
      limit: 1,
    });
    expect(block.unmapped.cloister.hash).toBe(
      Buffer.from(stored[0]?.hash as Uint8Array).toString('base64url'),
    );
    expect(records.map((r) => r.metadata.sequence)).toEqual(records.map((_r, i) => i + 1));

    const bad = await t.as(owner, 'GET', '/admin/v1/audit/export?format=syslog');
    expect(bad.status).toBe(400);
  });

  it('serves a checkpoint whose signature verifies under the log key, and proofs that match it', async () => {
    const key = await t.as(owner, 'GET', '/admin/v1/audit/log-key');
    expect(key.status).toBe(200);
    const [, name, hexId, material] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(key.json.verifierKey) ?? [];
    expect(name).toBe(key.json.origin);
    expect(name).toMatch(/^cloister\/audit\/acme\/[0-9a-f]{16}$/);
    const raw = Buffer.from(material as string, 'base64');
    expect(raw[0]).toBe(1);
    const res = await t.as(owner, 'GET', '/admin/v1/audit/checkpoint');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const note = text(res);
    const [body, sigs] = note.split('\n\n');
    const [origin, size, root] = (body as string).split('\n');
    expect(origin).toBe(name);
    const head = await t.server.context.stores.audit.head(acme);
    expect(Number(size)).toBe(head?.seq);
    const sigLine = (sigs as string).trimEnd();
    expect(sigLine.startsWith(`\u2014 ${name} `)).toBe(true);
    const sig = Buffer.from(sigLine.split(' ')[2] as string, 'base64');
    expect(sig.subarray(0, 4).toString('hex')).toBe(hexId);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(`${body}\n`), pub, sig.subarray(4))).toBe(true);
    expect(verify(null, Buffer.from(`${body}x\n`), pub, sig.subarray(4))).toBe(false);

    const p = await getProvider();
    const all = await t.server.context.stores.audit.list(acme, { limit: 1000 });
    const leaves = all.slice(0, Number(size)).map((r) => r.hash);
    expect(Buffer.from(await mth(p, leaves)).toString('base64')).toBe(root);
    const inc = await t.as(owner, 'GET', `/admin/v1/audit/proof/inclusion?index=1&size=${size}`);
    expect(inc.json.hashes).toEqual((await path(p, 1, leaves)).map((h) => Buffer.from(h).toString('base64')));
    const con = await t.as(owner, 'GET', `/admin/v1/audit/proof/consistency?from=2&to=${size}`);
    expect(con.json.hashes).toEqual(
      (await subproof(p, 2, leaves, true)).map((h) => Buffer.from(h).toString('base64')),
    );
    const beyond = await t.as(
      owner,
      'GET',
      `/admin/v1/audit/proof/inclusion?index=0&size=${Number(size) + 50}`,
    );
    expect(beyond.status).toBe(400);
    const backwards = await t.as(owner, 'GET', '/admin/v1/audit/proof/consistency?from=3&to=2');
    expect(backwards.status).toBe(400);
    const again = await t.as(owner, 'GET', '/admin/v1/audit/log-key');
    expect(again.json).toEqual(key.json);
  });

  it('refuses to sign a checkpoint over a record altered since the last one', async () => {
    const db = t.server.context.adapter;
    const first = await t.as(owner, 'GET', '/admin/v1/audit/checkpoint');
    expect(first.status).toBe(200);
    for (const target of ['x1', 'x2'])
      await t.server.context.stores.audit.append(acme, {
        actor: 'system',
        action: 'user.block',
        target,
        outcome: 'success',
      });
    const seq = ((await t.server.context.stores.audit.head(acme))?.seq ?? 0) - 1;
    // Alter the first new record's target (its stored hash left as it was): the chain no longer verifies.
    const original = await db.transaction((tx) => tx.get(SERVER_TABLES.audit, utf8('acme'), seqKey(seq)));
    const { v, d } = decodeRecord(original?.value as Uint8Array, SERVER_TABLES.audit);
    await db.transaction((tx) =>
      tx.put(SERVER_TABLES.audit, {
        partition: utf8('acme'),
        sort: seqKey(seq),
        value: encodeRecord(v, { ...(d as object), target: 'someone else' }),
      }),
    );
    const altered = await t.as(owner, 'GET', '/admin/v1/audit/checkpoint');
    expect(altered.status).toBe(409);
    expect(altered.json.error.message).toBe('conflict: audit.chain');
    await db.transaction((tx) =>
      tx.put(SERVER_TABLES.audit, {
        partition: utf8('acme'),
        sort: seqKey(seq),
        value: original?.value as Uint8Array,
      }),
    );
    expect((await t.as(owner, 'GET', '/admin/v1/audit/checkpoint')).status).toBe(200);
  });

  it('refuses to sign when the operator rewrote history with a fresh, valid chain after a checkpoint', async () => {
    const db = t.server.context.adapter;
    const p = await getProvider();
    expect((await t.as(owner, 'GET', '/admin/v1/audit/checkpoint')).status).toBe(200);
    const saved = await t.server.context.stores.audit.list(acme, { limit: 1000 });
    const rows = await db.transaction((tx) => tx.list(SERVER_TABLES.audit, utf8('acme'), { limit: 1000 }));
    const headRow = await db.transaction((tx) =>
      tx.get(SERVER_TABLES.auditHead, utf8('acme'), new Uint8Array(0)),
    );
    // Rewrite record 2 and re-chain every record after it, head included: the chain verifies.
    let prev = saved[0]?.hash as Uint8Array;
    for (const r of saved.slice(1)) {
      const { prevHash: _p, hash: _h, ...body } = r;
      const changed = r.seq === 2 ? { ...body, target: 'rewritten' } : body;
      const hash = await auditChainHash(p, prev, changed);
      const { v, d } = decodeRecord(rows[r.seq - 1]?.value as Uint8Array, SERVER_TABLES.audit);
      await db.transaction((tx) =>
        tx.put(SERVER_TABLES.audit, {
          partition: utf8('acme'),
          sort: seqKey(r.seq),
          value: encodeRecord(v, { ...(d as object), target: changed.target, prevHash: prev, hash }),
        }),
      );
      prev = hash;
    }
    const { v: hv } = decodeRecord(headRow?.value as Uint8Array, SERVER_TABLES.auditHead);
    await db.transaction((tx) =>
      tx.put(SERVER_TABLES.auditHead, {
        partition: utf8('acme'),
        sort: new Uint8Array(0),
        value: encodeRecord(hv, { seq: saved.length, hash: prev }),
      }),
    );
    expect(await t.server.context.stores.audit.verifyChain(acme)).toMatchObject({ ok: true });
    const refused = await t.as(owner, 'GET', '/admin/v1/audit/checkpoint');
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toBe('conflict: audit.checkpoint');
    await db.transaction(async (tx) => {
      for (const row of rows)
        await tx.put(SERVER_TABLES.audit, { partition: utf8('acme'), sort: row.sort, value: row.value });
      await tx.put(SERVER_TABLES.auditHead, {
        partition: utf8('acme'),
        sort: new Uint8Array(0),
        value: headRow?.value as Uint8Array,
      });
    });
    expect((await t.as(owner, 'GET', '/admin/v1/audit/checkpoint')).status).toBe(200);
  });

  it('marks a row deleted from the database as an explicit gap in every format, and refuses proofs across it', async () => {
    const db = t.server.context.adapter;
    await db.transaction((tx) => tx.delete(SERVER_TABLES.audit, utf8('acme'), seqKey(3)));
    const jsonl = await t.as(owner, 'GET', '/admin/v1/audit/export');
    const lines = text(jsonl)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[2]).toEqual({ type: 'gap', from: 3, to: 3 });
    expect(lines[1].seq).toBe(2);
    expect(lines[3].seq).toBe(4);
    const cef = text(await t.as(owner, 'GET', '/admin/v1/audit/export?format=cef')).split('\n');
    expect(cef[2]).toMatch(
      /^CEF:0\|Cloister\|Cloister Server\|1\|gap\|Audit records missing\|10\|.*cn1=3 cn1Label=gapFrom cn2=3 cn2Label=gapTo/,
    );
    const ocsf = text(await t.as(owner, 'GET', '/admin/v1/audit/export?format=ocsf')).split('\n');
    expect(JSON.parse(ocsf[2] as string)).toMatchObject({
      class_uid: 6003,
      activity_id: 99,
      severity_id: 5,
      unmapped: { cloister: { type: 'gap', from: 3, to: 3 } },
    });
    // A time filter does not hide the gap.
    const filtered = text(await t.as(owner, 'GET', `/admin/v1/audit/export?from=${T0 + 10 ** 9}`));
    expect(
      filtered
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ type: 'gap', from: 3, to: 3 }]);

    expect((await t.as(owner, 'GET', '/admin/v1/audit/checkpoint')).status).toBe(409);
    expect((await t.as(owner, 'GET', '/admin/v1/audit/proof/inclusion?index=0&size=5')).status).toBe(409);
  });

  it('writes CEF lines that a line-based collector cannot split or forge fields in', () => {
    const line = auditCefLine({
      tenant: tenantId('acme'),
      seq: 9,
      at: 1,
      actor: 'x suser=forged',
      action: 'user.block',
      target: 'a\nCEF:0|Evil|x',
      outcome: 'success',
      details: {},
      prevHash: new Uint8Array(32),
      hash: new Uint8Array(32),
    });
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toContain('suser=x suser\\=forged ');
    expect(line).toContain('cs1=a\\nCEF:0|Evil|x ');
  });
});
