/**
 * The archive scope end to end (spec/organisation-client.md §5): real clients, the real server,
 * the archive store auditors export from. The organisation's signed tenant layer archives the pool
 * `trading` and the user `cleo`; `desk` and `trading` may reach each other. What is sealed (as a
 * version-3 seal the server files): a message from a sender in scope, to a recipient in scope by
 * user id, to a recipient in a scoped pool (as the certificate of a message from them named it);
 * what is not: a message between two users out of scope, and anything outside the window. Each
 * conversation's indicator says so. A recipient in scope that receives an unmarked message notes
 * an archive gap. An operator that changes the scope in the layer it serves is refused by the
 * signature.
 */
import { concatBytes, openArchived, peekArchiveSeal, utf8 } from '@cloister/crypto';
import {
  archiveKeyFingerprint,
  decodeContent,
  decodeOrganisationObject,
  ORGANISATION_OBJECT_LABELS,
  organisationObjectScope,
  organisationObjectSignedBytes,
  poolId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, CloisterClient } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;
let archive: { publicKey: Uint8Array; privateKey: Uint8Array };
let publicKey: string;
let fingerprint: string;
let genuineLayer: Uint8Array;
let tina: CloisterClient; // pool trading: in scope
let otto: CloisterClient; // pool desk: out of scope
let cleo: CloisterClient; // pool desk, listed by user id: in scope
let olga: CloisterClient; // pool desk: out of scope

const AUDITORS = { threshold: 2, holders: ['dpo', 'internal-audit', 'legal'] };
const KEY_SET = '00112233445566778899aabbccddeeff';

function scoped(scope: Record<string, unknown>) {
  return {
    archive: {
      enabled: true,
      locked: true,
      config: { publicKey, scope, auditors: AUDITORS, keySetId: KEY_SET },
    },
  } as never;
}

beforeAll(async () => {
  sys = await startSystem();
  const ctx = sys.server.context;
  for (const p of ['desk', 'trading']) await ctx.stores.pools.put(TENANT, poolId(p), { name: p });
  await sys.organisation!.publish({
    kind: 'pool-rules',
    payload: {
      rules: [
        { pool: poolId('desk'), mayContact: [poolId('trading')] },
        { pool: poolId('trading'), mayContact: [poolId('desk')] },
      ],
    },
  });
  archive = await ctx.provider.x25519.generateKeyPair();
  publicKey = Buffer.from(archive.publicKey).toString('base64url');
  fingerprint = await archiveKeyFingerprint(ctx.provider, archive.publicKey);
  genuineLayer = await sys.organisation!.policyLayer(
    'tenant',
    null,
    scoped({ users: ['cleo'], pools: ['trading'] }),
  );
  tina = await sys.client('tina', { code: await sys.token('tina', 'trading') });
  otto = await sys.client('otto', { code: await sys.token('otto', 'desk') });
  cleo = await sys.client('cleo', { code: await sys.token('cleo', 'desk') });
  olga = await sys.client('olga', { code: await sys.token('olga', 'desk') });
}, 90_000);

afterAll(async () => {
  await sys?.close();
});

const items = async () => (await sys.server.context.stores.archive.list(TENANT, { limit: 1000 })).items;

/** Sends `text` from `from` to `to` (user id `user`) and waits until `to` has it. */
async function exchange(from: CloisterClient, to: CloisterClient, user: string, text: string) {
  const got = nextEvent(to, 'message', (e) => e.message.content.body.type === 'text');
  const sent = await from.sendText({ user }, text);
  const received = (await got).message;
  await from.flush();
  return { sent, received };
}

describe('the archive scope', () => {
  it('seals for a sender in scope, a recipient listed or in a scoped pool, and not between users out of scope; the indicators say so', async () => {
    expect(tina.archive()).toEqual({
      on: true,
      keyFingerprint: fingerprint,
      scope: { users: ['cleo'], pools: ['trading'] },
      auditors: { threshold: 2, total: 3 },
      keySetId: KEY_SET,
    });
    expect(await tina.conversationArchive('d:otto')).toEqual({
      on: true,
      keyFingerprint: fingerprint,
      reason: 'self',
      auditors: { threshold: 2, total: 3 },
    });
    const before = (await items()).length;

    // Sender in scope (pool trading).
    const a = await exchange(tina, otto, 'otto', 'trade confirmation 4411');
    expect(a.sent.content.archived).toBe(true);
    expect(a.received.content.archived).toBe(true);
    // Otto now knows tina's pools from her certificate: a message back is for a recipient in scope.
    expect(await otto.conversationArchive('d:tina')).toMatchObject({ on: true, reason: 'peer' });
    const b = await exchange(otto, tina, 'tina', 'confirmed');
    expect(b.sent.content.archived).toBe(true);
    // Recipient in scope by user id.
    expect(await otto.conversationArchive('d:cleo')).toMatchObject({ on: true, reason: 'peer' });
    const c = await exchange(otto, cleo, 'cleo', 'hello cleo');
    expect(c.sent.content.archived).toBe(true);
    // Otto has never heard from olga: the directory answer states her pools (`desk`), so the
    // indicator, which looks her up, says no, and the message is not sealed.
    expect(await otto.conversationArchive('d:olga')).toEqual({ on: false });
    const d = await exchange(otto, olga, 'olga', 'lunch?');
    expect(d.sent.content.archived).toBeUndefined();
    // Olga now knows otto is in `desk` only: nobody of her message is in scope, nothing is sealed.
    expect(await olga.conversationArchive('d:otto')).toEqual({ on: false });
    const e = await exchange(olga, otto, 'otto', 'sure');
    expect(e.sent.content.archived).toBeUndefined();
    expect(e.received.content.archived).toBeUndefined();

    // Three version-3 seals filed, each from its sender, with the message it archives.
    const filed = (await items()).slice(before);
    expect(filed.length).toBe(3);
    const opened = [];
    for (const item of filed) {
      expect(peekArchiveSeal(item.sealed).version).toBe(3);
      const o = await openArchived(sys.server.context.provider, {
        archivePrivateKey: archive.privateKey,
        tenantPublicKey: sys.signingPublicKey,
        tenantId: TENANT,
        ...(item.deliveryId === null ? {} : { deliveryId: item.deliveryId }),
        bytes: item.sealed,
      });
      const body = decodeContent(o.content).body;
      opened.push(`${o.bindings.sender.userId}:${body.type === 'text' ? body.text : body.type}`);
    }
    expect(opened.sort()).toEqual(
      ['otto:confirmed', 'otto:hello cleo', 'tina:trade confirmation 4411'].sort(),
    );
  }, 90_000);

  it('an operator that changes the scope of the layer it serves is refused by the signature', async () => {
    // The genuine layer, its scope narrowed to nobody, under a higher sequence, with the genuine
    // signature: what an operator without the organisation's key can serve.
    const o = decodeOrganisationObject(genuineLayer);
    const payload = o.payload as { layer: 'tenant'; target: null; document: Record<string, unknown> };
    const body = {
      kind: 'policy-layer' as const,
      tenant: o.tenant,
      issuedAtMs: o.issuedAtMs,
      sequence: o.sequence + 1,
      payload: { ...payload, document: scoped({ users: [] }) },
    };
    const certificate = sys.organisation!.certificate;
    const signed = organisationObjectSignedBytes(certificate, body);
    const label = utf8(ORGANISATION_OBJECT_LABELS['policy-layer']).length;
    const forged = concatBytes(signed.subarray(label), o.signature);
    await sys.server.context.stores.organisation.put(TENANT, {
      kind: 'policy-layer',
      scope: organisationObjectScope(body as never),
      sequence: body.sequence,
      issuedAtMs: body.issuedAtMs,
      admin: o.certificate.admin,
      bytes: forged,
    });
    const refused = nextEvent(tina, 'organisation-refused');
    await tina.refreshPolicy();
    expect(await refused).toMatchObject({ kind: 'policy-layer', reason: 'ERR_INVALID_KEY' });
    // The signed scope still applies: tina is in scope and still seals.
    expect(tina.archive()).toMatchObject({ on: true, scope: { users: ['cleo'], pools: ['trading'] } });
    const { sent } = await exchange(tina, otto, 'otto', 'still archived');
    expect(sent.content.archived).toBe(true);
    // The organisation publishes again (its next sequence is above the forgery's).
    genuineLayer = await sys.organisation!.policyLayer(
      'tenant',
      null,
      scoped({ users: ['cleo'], pools: ['trading'] }),
    );
  }, 60_000);

  it('outside the window nothing is sealed; a recipient in scope notes an unmarked message as an archive gap', async () => {
    // The window ends: every client that fetches the layer stops sealing.
    const ended = Date.now() - 1000;
    await sys.organisation!.policyLayer(
      'tenant',
      null,
      scoped({ users: ['cleo'], pools: ['trading'], from: ended - 86_400_000, until: ended }),
    );
    const changed = nextEvent(tina, 'archive');
    await tina.refreshPolicy();
    expect((await changed).archive).toMatchObject({ on: true, scope: { until: ended } });
    await otto.refreshPolicy();
    expect(await tina.conversationArchive('d:otto')).toEqual({ on: false });
    const outside = await exchange(tina, otto, 'otto', 'after the window');
    expect(outside.sent.content.archived).toBeUndefined();

    // The window opens again; otto has not fetched the layer yet and sends unmarked to tina, who
    // is in scope: a gap, counted.
    await sys.organisation!.policyLayer('tenant', null, scoped({ users: ['cleo'], pools: ['trading'] }));
    await tina.refreshPolicy();
    const gaps: ClientEvent[] = [];
    tina.on('archive-gap', (e) => gaps.push(e));
    const stale = await exchange(otto, tina, 'tina', 'from a stale policy');
    expect(stale.sent.content.archived).toBeUndefined();
    expect(gaps).toEqual([
      {
        type: 'archive-gap',
        conversationId: 'd:otto',
        messageId: stale.received.id,
        from: 'otto',
        count: 1,
      },
    ]);
    expect(await tina.archiveGaps()).toBe(1);
    // Once otto fetches the layer, his messages to tina are sealed again: no new gap.
    await otto.refreshPolicy();
    const fixed = await exchange(otto, tina, 'tina', 'fresh policy');
    expect(fixed.received.content.archived).toBe(true);
    expect(await tina.archiveGaps()).toBe(1);
  }, 60_000);
});
