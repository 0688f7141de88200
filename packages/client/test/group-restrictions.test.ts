/**
 * Restrictions per conversation group (R27 "group", spec/restrictions.md §1.2), through the SDK
 * and the real server: the organisation signs a group layer naming a group by its id, the server
 * serves every group layer of the tenant to every device, and a root-pinned client applies a group
 * layer only in that group's conversation — a file to that group is refused with nothing uploaded
 * while the same user still sends files 1:1 and to another group; downloads, forwards out of and
 * into the group and timers follow the group's layer. The operator (the test holds the server's
 * stores) can neither add a group layer under a key that is not the organisation root, nor roll
 * one back to an older version, nor drop one a device holds.
 */
import { ForbiddenError, fromHex } from '@cloister/crypto';
import {
  decodeOrganisationObject,
  groupLayerTarget,
  type OrganisationObjectBody,
  organisationObjectScope,
  type PolicyLayerPayload,
  tenantId,
} from '@cloister/protocol';
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
}, 120_000);

afterAll(async () => {
  await sys?.close();
});

/** Every event of `types` a client emits from now on. */
function record(client: CloisterClient, ...types: ClientEvent['type'][]): ClientEvent[] {
  const seen: ClientEvent[] = [];
  for (const type of types) client.on(type, (e) => seen.push(e as ClientEvent));
  return seen;
}

/** The organisation restricts the group `groupId` (hex, as the SDK gives it). */
function groupLayer(groupId: string, document: PolicyLayerPayload['document']): Promise<Uint8Array> {
  return sys.organisation!.policyLayer('group', groupLayerTarget(fromHex(groupId)), document);
}

/** The operator serves `bytes` as a stored organisation object (no verification on the way). */
async function serve(bytes: Uint8Array): Promise<void> {
  const o = decodeOrganisationObject(bytes);
  await sys.server.context.stores.organisation.put(TENANT, {
    kind: o.kind,
    scope: organisationObjectScope(o),
    sequence: o.sequence,
    issuedAtMs: o.issuedAtMs,
    admin: o.certificate.admin,
    bytes,
  });
}

async function received(
  client: CloisterClient,
  match: (m: ClientMessage) => boolean,
): Promise<ClientMessage> {
  return (await nextEvent(client, 'message', (e) => match(e.message), 30_000)).message;
}

const file = (fill: number) => ({
  data: new Uint8Array(48).fill(fill),
  name: 'f.txt',
  mediaType: 'text/plain',
});

describe('a group layer applies in its group’s conversation only', () => {
  it('refuses a file to the restricted group (nothing uploaded) while 1:1 and another group still send', async () => {
    const log: string[] = [];
    const ann = await sys.client('ann', { transport: recording(log) });
    const bob = await sys.client('bob');
    const cy = await sys.client('cy');
    const ward = await ann.createGroup('Ward', ['bob']);
    const lab = await ann.createGroup('Lab', ['bob']);
    const seen = record(ann, 'capabilities');

    await groupLayer(ward.groupId, { 'files.send': { enabled: false, locked: true } });
    await ann.refreshPolicy();
    expect(ann.capabilities(ward.conversationId).map['files.send'].value).toBe(false);
    expect(ann.capabilities(ward.conversationId).conversationId).toBe(ward.conversationId);
    expect(ann.capabilities().map['files.send'].value).toBe(true);
    expect(ann.capabilities(lab.conversationId).map['files.send'].value).toBe(true);
    expect(ann.capabilities().groups).toEqual([ward.conversationId]);
    // The group layer changed what applies in a group: a capabilities event.
    expect(seen.length).toBeGreaterThanOrEqual(1);

    log.length = 0;
    await expect(ann.sendFile({ group: ward.groupId }, file(1))).rejects.toBeInstanceOf(ForbiddenError);
    expect(blobRequests(log)).toEqual([]);

    const oneToOne = received(bob, (m) => m.content.body.type === 'file' && m.conversationId === 'd:ann');
    await ann.sendFile({ user: 'bob' }, file(2));
    await oneToOne;
    const inLab = received(
      bob,
      (m) => m.content.body.type === 'file' && m.conversationId === lab.conversationId,
    );
    await ann.sendFile({ group: lab.groupId }, file(3));
    await inLab;
    expect(blobRequests(log).length).toBeGreaterThan(0);

    // Another member's device applies the same layer in the same group.
    await bob.refreshPolicy();
    await expect(bob.sendFile({ group: ward.groupId }, file(4))).rejects.toBeInstanceOf(ForbiddenError);
    // A device not in the group holds the layer, and nothing changes for it.
    await cy.refreshPolicy();
    expect(cy.capabilities().map['files.send'].value).toBe(true);
    const toCy = received(cy, (m) => m.content.body.type === 'file');
    await cy.sendFile({ user: 'ann' }, file(5));
    await ann.sendFile({ user: 'cy' }, file(6));
    await toCy;
  }, 120_000);

  it('follows the group’s layer for downloads, forwards out of and into the group, and timers', async () => {
    const dee = await sys.client('dee');
    const eli = await sys.client('eli');
    const group = await dee.createGroup('Theatre', ['eli']);
    const direct = received(eli, (m) => m.content.body.type === 'text' && m.conversationId === 'd:dee');
    await dee.sendText({ user: 'eli' }, 'direct words');
    const directText = await direct;
    const fileArrives = received(
      eli,
      (m) => m.content.body.type === 'file' && m.conversationId === group.conversationId,
    );
    await dee.sendFile({ group: group.groupId }, file(7));
    const groupFile = await fileArrives;
    const textArrives = received(
      eli,
      (m) => m.content.body.type === 'text' && m.conversationId === group.conversationId,
    );
    await dee.sendText({ group: group.groupId }, 'group words');
    const groupText = await textArrives;
    // Before the layer: the group's file downloads.
    expect(await eli.downloadFile(groupFile)).toEqual(file(7).data);

    await groupLayer(group.groupId, {
      'files.download': { enabled: false, locked: false },
      'messages.forward': { enabled: false, locked: false },
      'disappearing.timer': { enabled: true, locked: false, config: { minMs: 60_000, maxMs: 86_400_000 } },
    });
    await eli.refreshPolicy();
    const body = groupFile.content.body;
    if (body.type !== 'file') throw new Error('a file message');
    await expect(eli.downloadFile(groupFile)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      eli.downloadFile(body.file, { conversationId: group.conversationId }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    // Out of the group, and into it.
    await expect(eli.forwardMessage(groupText, { user: 'dee' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(eli.forwardMessage(directText, { group: group.groupId })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    // Timers in the group follow its bounds; 1:1 has none.
    await expect(eli.setDisappearingTimer(group.conversationId, 1000)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      eli.sendText({ group: group.groupId }, 'x', { expireTimerSeconds: 10 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await eli.setDisappearingTimer(group.conversationId, 3_600_000);
    await eli.setDisappearingTimer(directText.conversationId, 1000);
    // Outside the group, the user-wide policy: forwarding 1:1 still works.
    await eli.forwardMessage(directText, { user: 'dee' });
  }, 120_000);
});

describe('the operator cannot change a group’s restrictions', () => {
  it('refuses a group layer under another key than the organisation root: not applied', async () => {
    const fox = await sys.client('fox');
    await sys.client('gil');
    const group = await fox.createGroup('Board', ['gil']);
    const seen = record(fox, 'organisation-refused');
    const operator = await sys.operatorSigner();
    const body: OrganisationObjectBody = {
      kind: 'policy-layer',
      tenant: tenantId(TENANT),
      issuedAtMs: Date.now(),
      sequence: 1_000_000,
      payload: {
        layer: 'group',
        target: groupLayerTarget(fromHex(group.groupId)),
        document: { 'files.send': { enabled: false, locked: true } },
      },
    };
    await serve(await operator.sign(body));
    await fox.refreshPolicy();
    expect(seen).toContainEqual({
      type: 'organisation-refused',
      kind: 'policy-layer',
      reason: 'ERR_INVALID_KEY',
    });
    expect(fox.capabilities(group.conversationId).map['files.send'].value).toBe(true);
    expect(fox.capabilities().groups).not.toContain(group.conversationId);
    // The organisation's own layer for the group takes the scope back.
    await groupLayer(group.groupId, {});
  }, 120_000);

  it('keeps the newest group layer when the operator serves an older one or drops it', async () => {
    const hat = await sys.client('hat');
    await sys.client('ida');
    const group = await hat.createGroup('Ops', ['ida']);
    const target = groupLayerTarget(fromHex(group.groupId));
    const older = await groupLayer(group.groupId, { 'files.send': { enabled: true, locked: false } });
    await hat.refreshPolicy();
    await groupLayer(group.groupId, { 'files.send': { enabled: false, locked: true } });
    await hat.refreshPolicy();
    expect(hat.capabilities(group.conversationId).map['files.send'].value).toBe(false);
    const seen = record(hat, 'organisation-refused');

    // Rollback: the older genuine layer served again.
    await serve(older);
    await hat.refreshPolicy();
    expect(seen).toContainEqual({
      type: 'organisation-refused',
      kind: 'policy-layer',
      reason: 'ERR_INVALID_KEY',
    });
    expect(hat.capabilities(group.conversationId).map['files.send'].value).toBe(false);
    await expect(hat.sendFile({ group: group.groupId }, file(8))).rejects.toBeInstanceOf(ForbiddenError);

    // Dropped: the server serves no layer for the group at all.
    await sys.server.context.stores.organisation.remove(
      TENANT,
      'policy-layer',
      `policy-layer/group/${target}`,
    );
    await hat.refreshPolicy();
    expect(hat.capabilities(group.conversationId).map['files.send'].value).toBe(false);
    await expect(hat.sendFile({ group: group.groupId }, file(9))).rejects.toBeInstanceOf(ForbiddenError);
  }, 120_000);
});
