/**
 * Restrictions through the SDK and the real server (spec/restrictions.md): the organisation signs
 * policy layers, a root-pinned client resolves them, and the SDK refuses what it enforces before
 * anything leaves the device — a media type the policy does not allow (no upload request is made),
 * a download when `files.download` is off (no blob request), a forward when `messages.forward` is
 * off, a disappearing timer outside the bounds — and reports the rest in the capability map (with
 * its event), and its compliance to the server.
 */
import { ForbiddenError } from '@cloister/crypto';
import { poolId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, ClientMessage, CloisterClient } from '../src/index.js';
import {
  blobRequests,
  nextEvent,
  recording,
  startSystem,
  TENANT,
  type TestSystem,
} from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

async function received(
  client: CloisterClient,
  match: (m: ClientMessage) => boolean,
): Promise<ClientMessage> {
  return (await nextEvent(client, 'message', (e) => match(e.message), 15_000)).message;
}

describe('restrictions enforced by the SDK', () => {
  it('refuses a media type the policy does not allow; nothing is uploaded; allowed types go', async () => {
    const log: string[] = [];
    const ann = await sys.client('ann', { transport: recording(log) });
    const bob = await sys.client('bob');
    await sys.organisation!.policyLayer('user', 'ann', {
      'media.send': { enabled: true, locked: false, config: { types: ['image/*'] } },
    });
    await ann.refreshPolicy();
    expect(ann.capabilities().map['media.send'].value).toEqual(['image/*']);
    log.length = 0;
    for (const mediaType of ['application/pdf', undefined, 'video/mp4']) {
      const file = { data: new Uint8Array(64).fill(7), name: 'x', ...(mediaType ? { mediaType } : {}) };
      await expect(ann.sendFile({ user: 'bob' }, file)).rejects.toBeInstanceOf(ForbiddenError);
    }
    expect(blobRequests(log)).toEqual([]);
    const arriving = received(bob, (m) => m.content.body.type === 'file');
    await ann.sendFile(
      { user: 'bob' },
      { data: new Uint8Array(64).fill(1), name: 'p.png', mediaType: 'image/png' },
    );
    expect(blobRequests(log).length).toBeGreaterThan(0);
    await arriving;
  }, 60_000);

  it('refuses a download when files.download is off, with no blob request; and a forward when messages.forward is off', async () => {
    const log: string[] = [];
    const cat = await sys.client('cat', { transport: recording(log) });
    const dan = await sys.client('dan');
    await sys.client('eve');
    const fileArrives = received(cat, (m) => m.content.body.type === 'file');
    await dan.sendFile(
      { user: 'cat' },
      { data: new Uint8Array(32).fill(3), name: 'a.txt', mediaType: 'text/plain' },
    );
    const fileMessage = await fileArrives;
    const textArrives = received(cat, (m) => m.content.body.type === 'text');
    await dan.sendText({ user: 'cat' }, 'forward me');
    const textMessage = await textArrives;
    const body = fileMessage.content.body;
    if (body.type !== 'file') throw new Error('a file message');
    // Allowed before the layer: the download works and forwarding works.
    expect(await cat.downloadFile(body.file)).toEqual(new Uint8Array(32).fill(3));
    await cat.forwardMessage(textMessage, { user: 'eve' });

    await sys.organisation!.policyLayer('user', 'cat', {
      'files.download': { enabled: false, locked: false },
      'messages.forward': { enabled: false, locked: false },
    });
    await cat.refreshPolicy();
    log.length = 0;
    await expect(cat.downloadFile(body.file)).rejects.toBeInstanceOf(ForbiddenError);
    expect(blobRequests(log)).toEqual([]);
    const sent = log.length;
    await expect(cat.forwardMessage(textMessage, { user: 'eve' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(cat.forwardMessage(fileMessage, { user: 'eve' })).rejects.toBeInstanceOf(ForbiddenError);
    expect(log.length).toBe(sent);
  }, 60_000);

  it('refuses a disappearing timer outside the bounds; no timer and timers within pass', async () => {
    const fay = await sys.client('fay');
    await sys.client('gus');
    await sys.organisation!.policyLayer('user', 'fay', {
      'disappearing.timer': { enabled: true, locked: false, config: { minMs: 60_000, maxMs: 86_400_000 } },
    });
    await fay.refreshPolicy();
    await expect(fay.sendText({ user: 'gus' }, 'x', { expireTimerSeconds: 10 })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(
      fay.sendText({ user: 'gus' }, 'x', { expireTimerSeconds: 2 * 86_400 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const ok = await fay.sendText({ user: 'gus' }, 'x', { expireTimerSeconds: 3600 });
    await expect(fay.setDisappearingTimer(ok.conversationId, 1000)).rejects.toBeInstanceOf(ForbiddenError);
    await fay.setDisappearingTimer(ok.conversationId, 3_600_000);
    await fay.setDisappearingTimer(ok.conversationId, null);
    await fay.sendText({ user: 'gus' }, 'no timer');
  }, 60_000);
});

describe('capability map and compliance report', () => {
  it('matches the resolved layers (locks, pools), says who enforces, and changes with an event', async () => {
    const org = sys.organisation!;
    const hal = await sys.client('hal');
    await org.policyLayer('tenant', null, {
      screenshots: { enabled: false, locked: true },
      'notifications.preview': { enabled: true, locked: false, config: { show: 'sender' } },
    });
    // The user layer tries to loosen the locked screenshots: the tenant's lock holds.
    await org.policyLayer('user', 'hal', { screenshots: { enabled: true, locked: false } });
    const events: ClientEvent[] = [];
    hal.on('capabilities', (e) => events.push(e));
    await hal.refreshPolicy();
    const caps = hal.capabilities();
    expect(caps.map.screenshots).toEqual({
      value: false,
      enforcedBy: 'app',
      appDeclared: false,
      restricted: true,
    });
    expect(caps.map['notifications.preview']).toMatchObject({ value: 'sender', enforcedBy: 'app' });
    expect(caps.map['files.download']).toEqual({
      value: true,
      enforcedBy: 'sdk',
      appDeclared: false,
      restricted: false,
    });
    expect(caps.map.archive.value).toBe(false);
    expect(caps.appMustEnforce).toEqual(['screenshots', 'notifications.preview']);
    expect(events).toHaveLength(1);

    await hal.declareCompliance({
      enforces: { screenshots: true, 'notifications.preview': true },
      appVersion: 'ward-app/2.4.1',
      platform: 'Android 15',
    });
    expect(hal.capabilities().appMustEnforce).toEqual([]);
    expect(events).toHaveLength(2);
    await expect(hal.declareCompliance({ enforces: { 'files.send': true } })).rejects.toThrow(
      /enforces\.files\.send/,
    );

    // The server holds the report: the revision it served, what the SDK and the app enforce.
    const stores = sys.server.context.stores;
    const report = await stores.compliance.get(TENANT, userId('hal'), hal.me.deviceId);
    expect(report?.appEnforced).toEqual(['notifications.preview', 'screenshots']);
    expect(report?.enforced).toEqual(
      expect.arrayContaining(['files.send', 'media.send', 'files.download', 'messages.forward']),
    );
    const device = await stores.devices.get(TENANT, userId('hal'), hal.me.deviceId);
    expect([device?.appVersion, device?.platform]).toEqual(['ward-app/2.4.1', 'Android 15']);
    // Remove the tenant layer's restrictions for the next tests.
    await org.policyLayer('tenant', null, {});
  }, 60_000);

  it('reads pool layers the most restrictive way (type intersection)', async () => {
    const org = sys.organisation!;
    const ivy = await sys.client('ivy');
    const stores = sys.server.context.stores;
    for (const pool of ['ward-1', 'ward-2']) await stores.pools.put(TENANT, poolId(pool), { name: pool });
    await stores.users.update(TENANT, userId('ivy'), { pools: [poolId('ward-1'), poolId('ward-2')] });
    await org.policyLayer('pool', 'ward-1', {
      'media.send': { enabled: true, locked: false, config: { types: ['image/*', 'application/pdf'] } },
    });
    await org.policyLayer('pool', 'ward-2', {
      'media.send': { enabled: true, locked: false, config: { types: ['image/png', 'video/*'] } },
    });
    await ivy.refreshPolicy();
    expect(ivy.capabilities().map['media.send'].value).toEqual(['image/png']);
  }, 60_000);
});
