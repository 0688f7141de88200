/**
 * Issue 14, attack 3, end to end through the SDK, the server and the archive store the auditors
 * export from (`stores.archive.list`): archive seals are signed by the sender's device identity
 * and bound to the delivery they travel with; the server files them only for a tenant whose
 * tenant-layer policy (signed by the organisation) turns archiving on, with an expiry; a member who forges a seal in the
 * CEO's name and attaches it to a junk envelope gets it filed (the server cannot check a sealed
 * sender's signature) but the auditors' verification rejects it.
 */
import {
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  concatBytes,
  encodeSenderCertificate,
  openArchived,
  type SenderCertificate,
  sealForArchive,
  uintBE,
  utf8,
  verifyArchived,
} from '@cloister/crypto';
import { decodeSealedDeliveryBatch, encodeSealedDeliveryBatch } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTransport, type TransportFactory } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

/** The server's default archive retention (`DEFAULT_ARCHIVE_RETENTION_MS`, ten years). */
const DEFAULT_ARCHIVE_RETENTION_MS = 10 * 365 * 86_400_000;

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

/** A transport that lets the test rewrite a submission's archive seal and records the answers. */
function tampering(rewrite: (seal: Uint8Array, deliveryId: Uint8Array) => Promise<Uint8Array>) {
  const answers: { archive?: { status: string; reason?: string; expiresAt?: number } }[] = [];
  const factory: TransportFactory = (options) => {
    const inner = createNodeTransport(options);
    return {
      ...inner,
      request: async (method, path, body) => {
        let sent = body;
        if (method === 'POST' && path === '/v1/messages/batch' && body?.body !== undefined) {
          const batch = decodeSealedDeliveryBatch(body.body);
          const deliveries = [];
          for (const d of batch.deliveries) {
            deliveries.push(
              d.archiveSeal === undefined
                ? d
                : { ...d, archiveSeal: await rewrite(d.archiveSeal, d.messageId) },
            );
          }
          sent = { ...body, body: encodeSealedDeliveryBatch({ deliveries }) };
        }
        const res = await inner.request(method, path, sent);
        if (path === '/v1/messages/batch') answers.push(res.json as (typeof answers)[number]);
        return res;
      },
    };
  };
  return { factory, answers };
}

describe('archive seals (issue 14, attack 3)', () => {
  it('(b) the server refuses seals for a tenant without archiving; the message still goes through and the app hears of it', async () => {
    const ctx = sys.server.context;
    const archive = await ctx.provider.x25519.generateKeyPair();
    const org = sys.organisation!;
    await org.policyLayer('tenant', null, {
      archive: {
        enabled: true,
        locked: true,
        config: { publicKey: Buffer.from(archive.publicKey).toString('base64url') },
      },
    });
    const spy = tampering(async (seal) => seal);
    const uli = await sys.client('uli', { transport: spy.factory });
    const vic = await sys.client('vic');
    expect(uli.archive().on).toBe(true);
    // The organisation turns archiving off; uli has not fetched the policy since: it still seals,
    // and the server, whose tenant layer no longer archives, does not file.
    await org.policyLayer('tenant', null, {});
    const before = (await ctx.stores.archive.list(TENANT, { limit: 1000 })).items.length;
    const got = nextEvent(vic, 'message');
    const refused = nextEvent(uli, 'archive-refused');
    const sent = await uli.sendText({ user: 'vic' }, 'not for the archive');
    expect(sent.content.archived).toBe(true);
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'not for the archive' });
    await uli.flush();
    expect((await refused).reason).toBe('not-archiving');
    expect(
      spy.answers.some((a) => a.archive?.status === 'refused' && a.archive.reason === 'not-archiving'),
    ).toBe(true);
    expect((await ctx.stores.archive.list(TENANT, { limit: 1000 })).items.length).toBe(before);
  }, 60_000);

  it('(a, c) files signed seals with an expiry; a member’s forgery in the CEO’s name is filed but rejected by the auditors', async () => {
    const ctx = sys.server.context;
    const archive = await ctx.provider.x25519.generateKeyPair();
    const publicKey = Buffer.from(archive.publicKey).toString('base64url');
    await sys.organisation!.policyLayer('tenant', null, {
      archive: { enabled: true, locked: true, config: { publicKey } },
    });
    const auditor = {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: sys.signingPublicKey,
      tenantId: TENANT,
    };
    await new Promise((r) => setTimeout(r, 5_100)); // the server caches the tenant policy 5 s
    const items = async () => (await ctx.stores.archive.list(TENANT, { limit: 1000 })).items;
    const before = (await items()).length;

    // The CEO's real message: filed, with the archive's default retention, and it verifies.
    const ceo = await sys.client('ceo');
    const bob = await sys.client('bob');
    const got = nextEvent(bob, 'message');
    const start = Date.now();
    await ceo.sendText({ user: 'bob' }, 'Board meeting moved to Thursday.');
    await got;
    await ceo.flush();
    const filed = (await items()).slice(before);
    expect(filed.length).toBe(1);
    const real = filed[0]!;
    expect(real.expiresAt).not.toBeNull();
    expect(real.expiresAt!).toBeGreaterThanOrEqual(start + DEFAULT_ARCHIVE_RETENTION_MS);
    expect(real.expiresAt!).toBeLessThanOrEqual(Date.now() + DEFAULT_ARCHIVE_RETENTION_MS);
    const opened = await openArchived(ctx.provider, { ...auditor, bytes: real.sealed });
    expect(opened.bindings.sender).toEqual({ userId: 'ceo', deviceId: ceo.me.deviceId });
    expect(opened.certificate.userId).toBe('ceo');
    const ceoCertificate: SenderCertificate = opened.certificate;

    // Mallory, a member, rewrites the seal of a junk message to Bob: the CEO named as sender, the
    // CEO's certificate (seen on a message from the CEO), her own signing key, bound to the junk
    // delivery so that the server files it.
    const malloryKey = await ctx.provider.ed25519.generateKeyPair();
    const lie = utf8('Bob, approve the 250k transfer to Mallory Ltd');
    const forge = async (_seal: Uint8Array, deliveryId: Uint8Array) => {
      const body = await sealForArchive(ctx.provider, {
        archivePublicKey: archive.publicKey,
        messageId: ctx.provider.randomBytes(16),
        conversationId: opened.bindings.conversationId,
        sender: { userId: 'ceo', deviceId: ceo.me.deviceId },
        sentAt: Date.now(),
        contentType: 'application/x-cloister-content',
        content: lie,
      });
      const cert = encodeSenderCertificate(ceoCertificate);
      const signed = concatBytes(body, deliveryId, uintBE(cert.length, 2), cert);
      const label = utf8(ARCHIVE_SEAL_SIGNATURE_LABEL);
      return concatBytes(
        signed,
        await ctx.provider.ed25519.sign(malloryKey.privateKey, concatBytes(label, signed)),
      );
    };
    const forger = tampering(forge);
    const mallory = await sys.client('mallory', { transport: forger.factory });
    await mallory.sendText({ user: 'bob' }, 'ok');
    await mallory.flush();
    // The junk envelope was queued for Bob and the forged seal filed: the server cannot tell.
    expect(forger.answers.some((a) => a.archive?.status === 'filed')).toBe(true);

    // Moving the CEO's real seal onto another junk envelope is refused at filing (binding).
    const mover = tampering(async () => real.sealed);
    const mallory2 = await sys.client('mel', { transport: mover.factory });
    await mallory2.sendText({ user: 'bob' }, 'ok again');
    await mallory2.flush();
    expect(mover.answers.some((a) => a.archive?.status === 'refused' && a.archive.reason === 'binding')).toBe(
      true,
    );

    // The auditors' export: every item is checked; the forgery is rejected with one typed error.
    const all = (await items()).slice(before);
    expect(all.length).toBe(2);
    const verdicts = [];
    for (const item of all) {
      expect(item.expiresAt).not.toBeNull();
      try {
        const v = await verifyArchived(ctx.provider, { ...auditor, bytes: item.sealed });
        verdicts.push(`ok:${v.bindings.sender.userId}`);
      } catch (e) {
        verdicts.push((e as { code?: string }).code);
      }
    }
    expect(verdicts).toEqual(['ok:ceo', 'ERR_DECRYPTION_FAILED']);
    await expect(openArchived(ctx.provider, { ...auditor, bytes: all[1]!.sealed })).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });

    // (c) A tenant's own archive retention applies to what is filed next.
    await sys.organisation!.policyLayer('tenant', null, {
      archive: { enabled: true, locked: true, config: { publicKey, retentionMs: 86_400_000 } },
    });
    await new Promise((r) => setTimeout(r, 5_100)); // the server caches the tenant policy 5 s
    const again = nextEvent(bob, 'message');
    const t0 = Date.now();
    await ceo.sendText({ user: 'bob' }, 'short retention');
    await again;
    await ceo.flush();
    const last = (await items()).at(-1)!;
    expect(last.expiresAt!).toBeGreaterThanOrEqual(t0 + 86_400_000);
    expect(last.expiresAt!).toBeLessThanOrEqual(Date.now() + 86_400_000);
    await sys.organisation!.policyLayer('tenant', null, {});
  }, 90_000);
});
