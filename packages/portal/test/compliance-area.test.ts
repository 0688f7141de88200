/**
 * The compliance area's logic without a browser: the audit verification (a checkpoint signed by
 * the log key verifies in the page; one signed by another key, a changed one, a broken chain and
 * a refusing server do not), the archive policy as devices read it, the scope change that keeps
 * the rest of the tenant document, the indicator preview against the devices' rule, the
 * directory summary, and the messages in both languages.
 */
import type { AuditRecordView, ScimTokenView, UserView } from '@cloister/admin';
import { ConflictError } from '@cloister/admin';
import { concatBytes, getProvider, ValidationError } from '@cloister/crypto';
import type { SignedPolicyFeature } from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import {
  draftOf,
  indicatorFor,
  inScope,
  readArchivePolicy,
  scopeOf,
  withArchiveScope,
} from '../src/areas/compliance/archive-model.js';
import { type AuditSource, checkAuditLog } from '../src/areas/compliance/audit-check.js';
import { checkpointSize, summariseDirectory } from '../src/areas/compliance/directory-model.js';
import { complianceMessages } from '../src/areas/compliance/messages.js';

const enc = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/** A log key: its verifier key text and a signer of checkpoint notes. */
async function logKey(name: string) {
  const p = await getProvider();
  const pair = await p.ed25519.generateKeyPair();
  const keyId = (
    await p.sha256(concatBytes(enc.encode(name), Uint8Array.of(0x0a, 0x01), pair.publicKey))
  ).slice(0, 4);
  const verifierKey = `${name}+${hex(keyId)}+${b64(concatBytes(Uint8Array.of(1), pair.publicKey))}`;
  const sign = async (origin: string, size: number) => {
    const text = `${origin}\n${size}\n${b64(new Uint8Array(32).fill(7))}\n`;
    const sig = await p.ed25519.sign(pair.privateKey, enc.encode(text));
    return `${text}\n\u2014 ${name} ${b64(concatBytes(keyId, sig))}\n`;
  };
  return { verifierKey, keyId: hex(keyId), sign };
}

function source(parts: {
  verify?: AuditSource['verifyAudit'];
  checkpoint: () => Promise<string>;
  verifierKey: string;
}): AuditSource {
  return {
    verifyAudit: parts.verify ?? (async () => ({ ok: true, count: 7, head: 'h' })),
    audit: {
      checkpoint: parts.checkpoint,
      logKey: async () => ({ origin: 'o', verifierKey: parts.verifierKey }),
    },
  };
}

describe('audit verification in the page', () => {
  const origin = 'cloister/audit/acme/0123456789abcdef';

  it('a checkpoint signed by the log key verifies: size, signer and key id', async () => {
    const key = await logKey(origin);
    const check = await checkAuditLog(
      source({ checkpoint: () => key.sign(origin, 7), verifierKey: key.verifierKey }),
    );
    expect(check.verified).toBe(true);
    expect(check.chain).toEqual({ kind: 'ok', count: 7, head: 'h' });
    expect(check.checkpoint).toEqual({ kind: 'ok', size: 7, signer: origin, keyId: key.keyId });
    expect(check.verifierKey).toBe(key.verifierKey);
  });

  it('a server that signs with another key under the same name is caught', async () => {
    const real = await logKey(origin);
    const forger = await logKey(origin);
    const check = await checkAuditLog(
      source({ checkpoint: () => forger.sign(origin, 7), verifierKey: real.verifierKey }),
    );
    expect(check.verified).toBe(false);
    expect(check.checkpoint).toEqual({ kind: 'bad', reason: 'signature' });
  });

  it('a checkpoint whose size was changed after signing is caught', async () => {
    const key = await logKey(origin);
    const note = (await key.sign(origin, 7)).replace(`${origin}\n7\n`, `${origin}\n9\n`);
    const check = await checkAuditLog(source({ checkpoint: async () => note, verifierKey: key.verifierKey }));
    expect(check.checkpoint).toEqual({ kind: 'bad', reason: 'signature' });
  });

  it('a malformed note, a broken chain and a refusing server are reported, not thrown', async () => {
    const key = await logKey(origin);
    const malformed = await checkAuditLog(
      source({ checkpoint: async () => 'nonsense', verifierKey: key.verifierKey }),
    );
    expect(malformed.checkpoint).toEqual({ kind: 'bad', reason: 'format' });
    const broken = await checkAuditLog(
      source({
        verify: async () => ({ ok: false, firstBadSeq: 4 }),
        checkpoint: () => key.sign(origin, 7),
        verifierKey: key.verifierKey,
      }),
    );
    expect(broken.chain).toEqual({ kind: 'broken', firstBadSeq: 4 });
    expect(broken.verified).toBe(false);
    const refused = await checkAuditLog(
      source({
        checkpoint: async () => {
          throw new ConflictError('audit.checkpoint');
        },
        verifierKey: key.verifierKey,
      }),
    );
    expect(refused.checkpoint).toEqual({ kind: 'conflict' });
    expect(refused.verified).toBe(false);
  });
});

const KEY = Buffer.from(new Uint8Array(32).fill(9)).toString('base64url');

describe('archive policy and scope', () => {
  const document: Record<string, SignedPolicyFeature> = {
    'files.send': { enabled: false, locked: true },
    archive: {
      enabled: true,
      locked: true,
      config: {
        publicKey: KEY,
        retentionMs: 1000,
        auditors: { threshold: 2, holders: ['dpo', 'legal', 'audit'] },
        scope: { users: ['ceo'] },
      },
    },
  };

  it('reads the feature as devices do: on only when enabled with a 32-byte key', () => {
    const on = readArchivePolicy(document);
    expect(on.on).toBe(true);
    if (on.on) expect(on.scope).toEqual({ users: ['ceo'] });
    expect(readArchivePolicy({}).on).toBe(false);
    expect(
      readArchivePolicy({ archive: { enabled: false, locked: true, config: { publicKey: KEY } } }).on,
    ).toBe(false);
    expect(
      readArchivePolicy({ archive: { enabled: true, locked: true, config: { publicKey: 'AAAA' } } }).on,
    ).toBe(false);
    // A malformed scope makes devices refuse the layer: the portal does not show it as on.
    expect(
      readArchivePolicy({
        archive: { enabled: true, locked: true, config: { publicKey: KEY, scope: { from: 5, until: 5 } } },
      }).on,
    ).toBe(false);
  });

  it('a new scope keeps every other feature and the rest of the archive config', () => {
    const next = withArchiveScope(document, { pools: ['trading'], from: 10, until: 20 });
    expect(next['files.send']).toEqual(document['files.send']);
    expect(next.archive?.config).toEqual({
      publicKey: KEY,
      retentionMs: 1000,
      auditors: { threshold: 2, holders: ['dpo', 'legal', 'audit'] },
      scope: { pools: ['trading'], from: 10, until: 20 },
    });
    const everyone = withArchiveScope(document, undefined);
    expect(everyone.archive?.config).not.toHaveProperty('scope');
    expect(() => withArchiveScope({}, undefined)).toThrow(ValidationError);
  });

  it('the form refuses a window that ends before it starts and a scope that names nobody', () => {
    expect(() => scopeOf({ everyone: true, users: [], pools: [], from: 5, until: 5 })).toThrow(
      ValidationError,
    );
    expect(() => scopeOf({ everyone: false, users: [], pools: [] })).toThrow(ValidationError);
    expect(scopeOf({ everyone: true, users: ['x'], pools: [] })).toBeUndefined();
    expect(scopeOf({ everyone: false, users: ['a'], pools: [], until: 9 })).toEqual({
      users: ['a'],
      until: 9,
    });
    expect(draftOf({ pools: ['p'] })).toEqual({ everyone: false, users: [], pools: ['p'] });
  });

  it('the indicator follows the devices’ rule: self, peer, all, the window, the auditors', async () => {
    const policy = readArchivePolicy(document);
    const saved = policy.on ? policy.scope : undefined;
    const fp = 'cloister-archive:v1:test';
    const ceo = { userId: 'ceo', pools: [] };
    const bob = { userId: 'bob', pools: ['ward'] };
    const carol = { userId: 'carol', pools: [] };
    const auditors = { threshold: 2, total: 3 };
    expect(indicatorFor(policy, fp, ceo, bob, 1, saved)).toEqual({
      on: true,
      keyFingerprint: fp,
      reason: 'self',
      auditors,
    });
    expect(indicatorFor(policy, fp, bob, ceo, 1, saved)).toEqual({
      on: true,
      keyFingerprint: fp,
      reason: 'peer',
      auditors,
    });
    expect(indicatorFor(policy, fp, bob, carol, 1, saved)).toEqual({ on: false });
    expect(indicatorFor(policy, fp, bob, carol, 1, undefined)).toMatchObject({ on: true, reason: 'all' });
    expect(indicatorFor(policy, fp, ceo, bob, 30, { users: ['ceo'], until: 20 })).toEqual({ on: false });
    expect(indicatorFor(policy, fp, bob, carol, 10, { pools: ['ward'], until: 20 })).toMatchObject({
      reason: 'self',
      until: 20,
    });
    expect(indicatorFor({ on: false, present: false }, fp, ceo, bob, 1, undefined)).toEqual({ on: false });
    expect(inScope({ users: ['ceo'] }, bob)).toBe(false);
    expect(inScope(undefined, bob)).toBe(true);
  });
});

describe('directory summary', () => {
  const record = (
    seq: number,
    actor: string,
    action: string,
    extra: Partial<AuditRecordView> = {},
  ): AuditRecordView => ({
    seq,
    at: seq * 1000,
    actor,
    action,
    target: 't',
    outcome: 'success',
    details: {},
    prevHash: '',
    hash: '',
    ...extra,
  });
  const user = (id: string, directory?: UserView['directory']): UserView => ({
    id,
    displayName: id,
    pools: [],
    blocked: false,
    email: null,
    createdAt: 0,
    ...(directory === undefined ? {} : { directory }),
  });

  it('sums up tokens, changes, refusals (a revoked token mapped through its creation) and users per source', () => {
    const tokens: ScimTokenView[] = [
      { id: 'stk_a', name: 'Entra', source: 'scim', createdAt: 0, expiresAt: null, lastUsedAt: 5000 },
      { id: 'stk_b', name: 'AD', source: 'ldap:corp', createdAt: 0, expiresAt: null, lastUsedAt: null },
    ];
    const records = [
      record(1, 'adm_x', 'scim.token.create', { target: 'stk_old', details: { source: 'ldap:corp' } }),
      record(2, 'directory:scim', 'directory.user.create'),
      record(3, 'directory:scim', 'user.block', { details: { reason: 'directory-disabled' } }),
      record(4, 'directory:ldap:corp', 'directory.group.update'),
      record(5, 'scim:stk_old', 'scim.token.refused', { outcome: 'denied', details: { reason: 'revoked' } }),
      record(6, 'adm_x', 'user.block'),
    ];
    const users = [
      user('a', { source: 'scim', externalId: null, state: 'active', since: 0, reenableRequested: false }),
      user('b', { source: 'scim', externalId: null, state: 'left', since: 0, reenableRequested: true }),
      user('c'),
    ];
    const [ldap, scim] = summariseDirectory({ tokens, records, users });
    expect(scim).toMatchObject({
      source: 'scim',
      tokens: { count: 1, lastUsedAt: 5000 },
      lastChange: { at: 3000, action: 'user.block' },
      changes: { created: 1, updated: 0, blocked: 1, reenable: 0, groups: 0 },
      errors: { count: 0 },
      users: { active: 1, disabled: 0, left: 1, reenableRequested: 1 },
    });
    expect(ldap).toMatchObject({
      source: 'ldap:corp',
      tokens: { count: 1, lastUsedAt: null },
      changes: { groups: 1 },
      errors: { count: 1, last: { at: 5000, reason: 'revoked' } },
      users: { active: 0, disabled: 0, left: 0, reenableRequested: 0 },
    });
  });

  it('what the role cannot read stays unknown, and the checkpoint size is read from its second line', () => {
    const [only] = summariseDirectory({ records: [record(1, 'directory:scim', 'directory.user.update')] });
    expect(only?.tokens).toBeUndefined();
    expect(only?.users).toBeUndefined();
    expect(summariseDirectory({})).toEqual([]);
    expect(checkpointSize('origin\n42\nroot\n\n— sig\n')).toBe(42);
    expect(checkpointSize('origin\n042\n')).toBeUndefined();
  });
});

describe('messages', () => {
  const placeholders = (s: string) => [...s.matchAll(/%\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('English and German have the same keys, all under portal.compliance, none empty, same placeholders', () => {
    const en = complianceMessages.en as Record<string, string>;
    const de = complianceMessages.de as Record<string, string>;
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      expect(key.startsWith('portal.compliance.')).toBe(true);
      expect(text.trim()).not.toBe('');
      expect(de[key]?.trim()).not.toBe('');
      expect(placeholders(de[key] as string), key).toEqual(placeholders(text));
    }
  });
});
