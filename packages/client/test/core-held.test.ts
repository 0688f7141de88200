/**
 * Late group members (issue 13, attack 9), on the sans-IO core alone. Content a non-member sends
 * to a group is held, because deliveries are not ordered; it is shown once the sender is admitted
 * only if it was sent after the change that admitted it, and at most a fixed number of contents
 * is held per sender and group.
 */
import { type GroupChange, toHex } from '@cloister/crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { HELD_CLOCK_SKEW_MS, MAX_HELD_PER_SENDER, makeGroupChange } from '../src/core/index.js';
import {
  type CorePeers,
  content,
  createCorePeers,
  encode,
  inTx,
  NOW,
  type Peer,
  texts,
} from './helpers/core-peers.js';

const HOUR = 3_600_000;
let peers: CorePeers;
let alice: Peer;
let mallory: Peer;
let groupId: Uint8Array;

/** A group change made by alice (the admin), encoded, at `at`. */
async function change(c: Omit<GroupChange, 'groupId'>, at: number): Promise<Uint8Array> {
  const made = await inTx(alice.db, (t) => makeGroupChange(alice.self, t, { groupId, ...c }, 'Ward 3', at));
  return encode(made.content);
}

const groupText = (t: string, sentAtMs: number) =>
  encode(content({ type: 'text', text: t }, { groupId, sentAtMs }));

beforeEach(async () => {
  peers = await createCorePeers();
  alice = await peers.sender('alice');
  mallory = await peers.sender('mallory');
  groupId = new Uint8Array(32).fill(9);
  const create = await change(
    {
      version: 1,
      action: 'create',
      members: [
        { userId: 'alice', deviceIds: [] },
        { userId: 'bob', deviceIds: [] },
      ],
    },
    NOW,
  );
  expect((await peers.receive(await peers.seal(alice, create, true))).map((e) => e.type)).toEqual(['group']);
}, 60_000);

describe('late group members', () => {
  it('never shows what a sender wrote to the group before it was admitted', async () => {
    const early = await peers.seal(mallory, groupText('written while not a member', NOW + HOUR), true);
    expect(await peers.receive(early)).toEqual([]);
    const add = await change(
      { version: 2, action: 'add', members: [{ userId: 'mallory', deviceIds: [] }] },
      NOW + 2 * HOUR,
    );
    const events = await peers.receive(await peers.seal(alice, add));
    expect(events.map((e) => e.type)).toEqual(['group']);
    const history = await inTx(peers.bob.db, (t) =>
      t.stores.messages.history(`g:${toHex(groupId)}` as never, { limit: 100 }),
    );
    expect(history.items).toEqual([]);
  });

  it('shows content sent after the admission that arrived before the change (within the clock allowance)', async () => {
    const admittedAt = NOW + 2 * HOUR;
    const late = await peers.seal(
      mallory,
      groupText('sent just after being added', admittedAt + 5_000),
      true,
    );
    const skewed = await peers.seal(
      mallory,
      groupText('sender clock a little behind', admittedAt - HELD_CLOCK_SKEW_MS + 1),
      false,
    );
    expect(await peers.receive(late)).toEqual([]);
    expect(await peers.receive(skewed)).toEqual([]);
    const add = await change(
      { version: 2, action: 'add', members: [{ userId: 'mallory', deviceIds: [] }] },
      admittedAt,
    );
    const events = await peers.receive(await peers.seal(alice, add));
    expect(events.map((e) => e.type)).toEqual(['group', 'message', 'message']);
    expect(texts(events).sort()).toEqual(['sender clock a little behind', 'sent just after being added']);
  });

  it(`holds at most ${MAX_HELD_PER_SENDER} contents per sender and group, reporting the rest`, async () => {
    const results = [];
    for (let i = 0; i < MAX_HELD_PER_SENDER + 3; i++) {
      results.push(
        await peers.receive(await peers.seal(mallory, groupText(`flood ${i}`, NOW + HOUR), i === 0)),
      );
    }
    expect(results.slice(0, MAX_HELD_PER_SENDER).every((e) => e.length === 0)).toBe(true);
    for (const dropped of results.slice(MAX_HELD_PER_SENDER)) {
      expect(dropped).toEqual([
        { type: 'undecryptable', reason: 'sender', from: { userId: 'mallory', deviceId: 1 } },
      ]);
    }
    const held = await peers.bob.db.transaction((tx) =>
      tx.count('c_held', new TextEncoder().encode(toHex(groupId))),
    );
    expect(held).toBe(MAX_HELD_PER_SENDER);
  });
});
