/**
 * The audit log for outsiders, end to end: a real server's checkpoint, log key and proofs are
 * checked by an independent checker written only from the C2SP and RFC 9162 texts
 * (helpers/c2sp-checker.ts, which imports no project code), and by the SDK's own helpers; a
 * tampered note (root, signature, key name, an extra line) is refused by both; the checker also
 * verifies the signed-note spec's example. The SDK export yields CEF and OCSF lines and gap records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLeafHash,
  ConflictError,
  parseVerifierKey,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import {
  CheckerError,
  leafHash,
  parseCheckpoint,
  parseNote,
  treeHash,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyNote,
} from './helpers/c2sp-checker.js';
import { type StartedTenant, startTenant } from './helpers/tenant.js';

const b = (s: string) => Buffer.from(s, 'base64');

describe('the independent C2SP checker on the spec examples', () => {
  it('verifies the signed-note example with its verifier key and refuses it altered', () => {
    const vkey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
    const note =
      'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    expect(verifyNote(note, [vkey])).toBe('This is an example message.\n');
    expect(() => verifyNote(note.replace('example message', 'example massage'), [vkey])).toThrow(
      CheckerError,
    );
    // The SDK's verifier accepts the key format too (the note is no checkpoint: refused as such).
    expect(parseVerifierKey(vkey).name).toBe('example.com/foo');
  });

  it('parses the checkpoint and poem examples (their keys are not published: parse only)', () => {
    const checkpoint =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';
    const parsed = parseNote(checkpoint);
    expect(parsed.signatures).toHaveLength(1);
    expect(parseCheckpoint(parsed.text)).toMatchObject({
      origin: 'example.com/behind-the-sofa',
      size: 20852163n,
    });
    const poem =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    // The text may hold empty lines: the last blank line separates it from the signatures.
    expect(parseNote(poem).text).toBe(
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
    );
  });

  it('refuses every malformed note the signed-note text lists', () => {
    const ok = 'text\n\n\u2014 a.example/k AAAAAAAA\n';
    expect(() => parseNote(ok)).not.toThrow();
    const bad = [
      'text\n\n\u2014 a.example/k AAAAAAAA', // no final newline
      'text\n\u2014 a.example/k AAAAAAAA\n', // no blank line
      'text\n\n', // no signature line
      'te\u0007xt\n\n\u2014 a.example/k AAAAAAAA\n', // control character
      'text\r\n\n\u2014 a.example/k AAAAAAAA\n', // carriage return
      'text\n\n- a.example/k AAAAAAAA\n', // not an em dash
      'text\n\n\u2014 a.example/k+x AAAAAAAA\n', // plus in key name
      'text\n\n\u2014 a.example/k\u00a0x AAAAAAAA\n', // Unicode space in key name
      'text\n\n\u2014  AAAAAAAA\n', // empty key name
      'text\n\n\u2014 a.example/k AAA*\n', // not base64
      'text\n\n\u2014 a.example/k AAAA\n', // shorter than a key ID
      'text\n\n\u2014 a.example/k AAAAAAAA\n\n', // empty signature line
    ];
    for (const note of bad) expect(() => parseNote(note), JSON.stringify(note)).toThrow(CheckerError);
    expect(() => parseNote(new Uint8Array([0x74, 0xff, 0x0a, 0x0a]))).toThrow(CheckerError);
    expect(() => parseCheckpoint('o\n01\nAAAA\n')).toThrow(CheckerError);
    expect(() => parseCheckpoint('o\n1\n')).toThrow(CheckerError);
    expect(() => parseCheckpoint('o\n1\nAAAA\n')).toThrow(CheckerError);
  });
});

describe('the SDK verifiers and the independent checker agree on every proof of small trees', () => {
  // RFC 9162 §2.1.3.1 and §2.1.4.1, written from the definitions.
  const path = (m: number, d: Buffer[]): Buffer[] => {
    if (d.length <= 1) return [];
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return m < k
      ? [...path(m, d.slice(0, k)), treeHash(d.slice(k))]
      : [...path(m - k, d.slice(k)), treeHash(d.slice(0, k))];
  };
  const subproof = (m: number, d: Buffer[], b: boolean): Buffer[] => {
    if (m === d.length) return b ? [] : [treeHash(d)];
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return m <= k
      ? [...subproof(m, d.slice(0, k), b), treeHash(d.slice(k))]
      : [...subproof(m - k, d.slice(k), false), treeHash(d.slice(0, k))];
  };
  const flip = (proof: Buffer[], i: number) =>
    proof.map((h, j) => (j === i ? Buffer.from(h.map((x, q) => (q === 0 ? x ^ 1 : x))) : h));

  it('accepts each valid proof and refuses each with a flipped hash, a dropped or an extra hash', async () => {
    const leaves = Array.from({ length: 17 }, (_v, i) => Buffer.alloc(32, i + 1));
    for (let n = 1; n <= leaves.length; n++) {
      const d = leaves.slice(0, n);
      const root = treeHash(d);
      for (let i = 0; i < n; i++) {
        const proof = path(i, d);
        const leaf = leafHash(d[i] as Buffer);
        expect(verifyInclusionProof(BigInt(i), BigInt(n), leaf, proof, root)).toBe(true);
        expect(await verifyInclusion(leaf, i, n, proof, root)).toBe(true);
        for (const bad of [
          ...proof.map((_h, j) => flip(proof, j)),
          ...(proof.length > 0 ? [proof.slice(1)] : []),
          [...proof, root],
        ]) {
          expect(verifyInclusionProof(BigInt(i), BigInt(n), leaf, bad, root)).toBe(false);
          expect(await verifyInclusion(leaf, i, n, bad, root)).toBe(false);
        }
      }
      for (let m = 1; m < n; m++) {
        const proof = subproof(m, d, true);
        const old = treeHash(d.slice(0, m));
        expect(verifyConsistencyProof(BigInt(m), BigInt(n), old, root, proof), `${m}/${n}`).toBe(true);
        expect(await verifyConsistency(m, n, proof, old, root), `${m}/${n}`).toBe(true);
        for (const bad of [...proof.map((_h, j) => flip(proof, j)), proof.slice(1), [...proof, root]]) {
          expect(verifyConsistencyProof(BigInt(m), BigInt(n), old, root, bad)).toBe(false);
          expect(await verifyConsistency(m, n, bad, old, root)).toBe(false);
        }
        const otherOld = treeHash([Buffer.alloc(32, 99), ...d.slice(1, m)]);
        expect(verifyConsistencyProof(BigInt(m), BigInt(n), otherOld, root, proof)).toBe(false);
        expect(await verifyConsistency(m, n, proof, otherOld, root)).toBe(false);
      }
    }
  });
});

describe('a real server\u2019s checkpoints and proofs, checked from the outside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-audit-log-'));
  let t: StartedTenant;

  beforeAll(async () => {
    t = await startTenant(dir);
  }, 60_000);
  afterAll(async () => {
    await t?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function appendSome(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await t.server.context.stores.audit.append(tenantId('acme'), {
        actor: 'system',
        action: 'user.block',
        target: `user-${i}`,
        outcome: 'success',
      });
    }
  }

  it('verifies the checkpoint, every inclusion proof and the consistency proofs with the independent checker', async () => {
    await appendSome(6);
    const { verifierKey, origin } = await t.admin.audit.logKey();
    expect(verifierKey.startsWith(`${origin}+`)).toBe(true);
    const older = await t.admin.audit.checkpoint();
    const olderBody = parseCheckpoint(verifyNote(older, [verifierKey]));
    expect(olderBody.origin).toBe(origin);
    await appendSome(5);
    const note = await t.admin.audit.checkpoint();
    const body = parseCheckpoint(verifyNote(note, [verifierKey]));
    const size = Number(body.size);
    expect(size).toBeGreaterThan(Number(olderBody.size));

    // The records as an auditor exports them; the leaf data is each record's chain hash.
    const records: { seq: number; hash: string }[] = [];
    for await (const r of t.admin.exportAudit()) if ('seq' in r) records.push(r);
    const leaves = records.slice(0, size).map((r) => Buffer.from(r.hash, 'base64url'));
    expect(treeHash(leaves).equals(body.root)).toBe(true);
    for (let i = 0; i < size; i++) {
      const { hashes } = await t.admin.audit.inclusionProof(i, size);
      expect(
        verifyInclusionProof(BigInt(i), body.size, leafHash(leaves[i] as Buffer), hashes.map(b), body.root),
      ).toBe(true);
      if (i === 3) {
        // The wrong leaf, the wrong index, an altered path: refused.
        expect(
          verifyInclusionProof(3n, body.size, leafHash(leaves[4] as Buffer), hashes.map(b), body.root),
        ).toBe(false);
        expect(
          verifyInclusionProof(2n, body.size, leafHash(leaves[3] as Buffer), hashes.map(b), body.root),
        ).toBe(false);
        const altered = hashes.map(b);
        const first = altered[0] as Buffer;
        first[0] = (first[0] as number) ^ 1;
        expect(verifyInclusionProof(3n, body.size, leafHash(leaves[3] as Buffer), altered, body.root)).toBe(
          false,
        );
      }
    }
    for (let m = 1; m <= size; m++) {
      const { hashes } = await t.admin.audit.consistencyProof(m, size);
      const oldRoot = treeHash(leaves.slice(0, m));
      expect(verifyConsistencyProof(BigInt(m), body.size, oldRoot, body.root, hashes.map(b)), `m=${m}`).toBe(
        true,
      );
    }
    const { hashes } = await t.admin.audit.consistencyProof(Number(olderBody.size), size);
    expect(verifyConsistencyProof(olderBody.size, body.size, olderBody.root, body.root, hashes.map(b))).toBe(
      true,
    );
    const forged = Buffer.from(olderBody.root);
    forged[5] = (forged[5] as number) ^ 1;
    expect(verifyConsistencyProof(olderBody.size, body.size, forged, body.root, hashes.map(b))).toBe(false);

    // The SDK's own helpers agree.
    const checked = await verifyCheckpoint(note, verifierKey, t.provider);
    expect(Buffer.from(checked.root).equals(body.root)).toBe(true);
    const old = await verifyCheckpoint(older, verifierKey, t.provider);
    expect(await verifyConsistency(old.size, checked.size, hashes, old.root, checked.root, t.provider)).toBe(
      true,
    );
    expect(await verifyConsistency(old.size, checked.size, hashes, forged, checked.root, t.provider)).toBe(
      false,
    );
    const inc = await t.admin.audit.inclusionProof(2, size);
    const leaf = await auditLeafHash(records[2]?.hash as string, t.provider);
    expect(await verifyInclusion(leaf, 2, size, inc.hashes, checked.root, t.provider)).toBe(true);
    expect(await verifyInclusion(leaf, 3, size, inc.hashes, checked.root, t.provider)).toBe(false);
  });

  it('refuses a tampered checkpoint: altered root, altered signature, wrong key name, an extra line', async () => {
    const { verifierKey, origin } = await t.admin.audit.logKey();
    const note = await t.admin.audit.checkpoint();
    const [text, sigPart] = note.split('\n\n') as [string, string];
    const lines = text.split('\n');
    const root = b(lines[2] as string);
    root[0] = (root[0] as number) ^ 1;
    const alteredRoot = `${[lines[0], lines[1], root.toString('base64')].join('\n')}\n\n${sigPart}`;
    const sig = b(sigPart.trimEnd().split(' ')[2] as string);
    sig[10] = (sig[10] as number) ^ 1;
    const alteredSig = `${text}\n\n\u2014 ${origin} ${sig.toString('base64')}\n`;
    const wrongName = note.replace(`\u2014 ${origin} `, `\u2014 ${origin}x `);
    const extraLine = `${text}\nextension\n\n${sigPart}`;
    const otherKey = verifierKey.replace(/^[^+]+/, 'someone.example/log');
    const cases: [string, string, string][] = [
      ['altered root', alteredRoot, verifierKey],
      ['altered signature', alteredSig, verifierKey],
      ['wrong key name', wrongName, verifierKey],
      ['extra line', extraLine, verifierKey],
    ];
    for (const [what, n, key] of cases) {
      expect(() => verifyNote(n, [key]), what).toThrow(CheckerError);
      await expect(verifyCheckpoint(n, key, t.provider), what).rejects.toThrow();
    }
    // A key under another name is not the log's key (its ID cannot match either).
    expect(() => verifyNote(note, [otherKey])).toThrow(CheckerError);
    await expect(verifyCheckpoint(note, otherKey, t.provider)).rejects.toThrow();
    // The untouched note passes both.
    expect(parseCheckpoint(verifyNote(note, [verifierKey])).origin).toBe(origin);
    await expect(verifyCheckpoint(note, verifierKey, t.provider)).resolves.toMatchObject({ origin });
    // Another key's signature line is ignored, as the spec requires.
    const cosigned = `${note}\u2014 witness.example/w ${Buffer.alloc(68, 7).toString('base64')}\n`;
    expect(() => verifyNote(cosigned, [verifierKey])).not.toThrow();
    await expect(verifyCheckpoint(cosigned, verifierKey, t.provider)).resolves.toMatchObject({ origin });
    // So are lines sharing the name but not the ID, or the ID but not the name; and at least 16
    // signature lines are accepted.
    const id = b(sigPart.trimEnd().split(' ')[2] as string).subarray(0, 4);
    const otherId = Buffer.from(id);
    otherId[0] = (otherId[0] as number) ^ 0xff;
    const sameName = `\u2014 ${origin} ${Buffer.concat([otherId, Buffer.alloc(64, 1)]).toString('base64')}\n`;
    const sameId = `\u2014 witness.example/w ${Buffer.concat([id, Buffer.alloc(64, 1)]).toString('base64')}\n`;
    const crowded = `${note}${sameName}${sameId}${Array.from({ length: 14 }, (_v, i) => `\u2014 w${i}.example/w ${Buffer.alloc(68, i).toString('base64')}\n`).join('')}`;
    expect(parseNote(crowded).signatures).toHaveLength(17);
    expect(() => verifyNote(crowded, [verifierKey])).not.toThrow();
    await expect(verifyCheckpoint(crowded, verifierKey, t.provider)).resolves.toMatchObject({ origin });
    // A second line of the log's own key (name and ID) that does not verify rejects the note.
    const bogusOwn = `${note}\u2014 ${origin} ${Buffer.concat([id, Buffer.alloc(64, 1)]).toString('base64')}\n`;
    expect(() => verifyNote(bogusOwn, [verifierKey])).toThrow(CheckerError);
    await expect(verifyCheckpoint(bogusOwn, verifierKey, t.provider)).rejects.toThrow();
  });

  it('exports CEF and OCSF lines through the SDK, and gap records where a row is gone', async () => {
    const cef: string[] = [];
    for await (const line of t.admin.audit.export({ format: 'cef' })) cef.push(line);
    expect(cef.every((l) => l.startsWith('CEF:0|Cloister|Cloister Server|1|'))).toBe(true);
    const ocsf: { class_uid: number }[] = [];
    for await (const line of t.admin.audit.export({ format: 'ocsf' })) ocsf.push(JSON.parse(line));
    expect(ocsf.every((r) => r.class_uid === 6003)).toBe(true);
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, 4n);
    await t.server.context.adapter.transaction((tx) =>
      tx.delete('s_audit', new TextEncoder().encode('acme'), key),
    );
    const all: unknown[] = [];
    for await (const r of t.admin.exportAudit()) all.push(r);
    expect(all[3]).toEqual({ type: 'gap', from: 4, to: 4 });
    await expect(t.admin.audit.checkpoint()).rejects.toBeInstanceOf(ConflictError);
  });
});
