/**
 * Corrupted or hostile stored values: every client store read reports them as `DecodeError`
 * (never another exception, never a wrong value), whatever bytes or record data the row holds.
 */
import { CloisterError, deviceId, kemPreKeyId, oneTimePreKeyId, signedPreKeyId } from '@cloister/crypto';
import { blobId, conversationId, messageId, userId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter, encodeRecord, type RecordValue } from '@cloister/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_TABLES, type ClientStores, createClientStores, defineSetting } from '../src/store/index.js';

const enc = new TextEncoder();
const E = new Uint8Array(0);
const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

interface Case {
  readonly name: string;
  /** Where the store will read: table, partition, sort. */
  readonly at: (adapter: StorageAdapter, stores: ClientStores) => Promise<[string, Uint8Array, Uint8Array]>;
  readonly read: (stores: ClientStores) => Promise<unknown>;
}

const theme = defineSetting('ui.theme', 'string');
const cases: Case[] = [
  {
    name: 'own identity',
    at: async () => [CLIENT_TABLES.ownIdentity, E, E],
    read: (s) => s.ownIdentity.get(),
  },
  {
    name: 'remote identity',
    at: async () => [CLIENT_TABLES.identities, enc.encode('bob'), u32(1)],
    read: (s) => s.identities.get({ userId: 'bob', deviceId: deviceId(1) }),
  },
  {
    name: 'signed prekey',
    at: async () => [CLIENT_TABLES.signedPreKeys, E, u32(1)],
    read: (s) => s.preKeys.getSignedPreKey(signedPreKeyId(1)),
  },
  {
    name: 'one-time prekey',
    at: async () => [CLIENT_TABLES.oneTimePreKeys, E, u32(1)],
    read: (s) => s.preKeys.getOneTimePreKey(oneTimePreKeyId(1)),
  },
  {
    name: 'KEM prekey',
    at: async () => [CLIENT_TABLES.kemPreKeys, enc.encode('last-resort'), u32(1)],
    read: (s) => s.preKeys.getKemPreKey(kemPreKeyId(1)),
  },
  {
    name: 'session',
    at: async () => [CLIENT_TABLES.sessions, enc.encode('bob'), u32(1)],
    read: (s) => s.sessions.loadSession({ userId: 'bob', deviceId: deviceId(1) }),
  },
  {
    name: 'conversation',
    at: async () => [CLIENT_TABLES.conversations, enc.encode('c1'), E],
    read: (s) => s.conversations.get(conversationId('c1')),
  },
  {
    name: 'message id row',
    at: async () => [CLIENT_TABLES.messageIds, enc.encode('m1'), E],
    read: (s) => s.messages.get(messageId('m1')),
  },
  {
    name: 'message history row',
    at: async () => [CLIENT_TABLES.messages, enc.encode('c1'), new Uint8Array(16)],
    read: (s) => s.messages.history(conversationId('c1')),
  },
  {
    name: 'blob metadata',
    at: async () => [CLIENT_TABLES.blobs, enc.encode('b1'), E],
    read: (s) => s.blobs.get(blobId('b1')),
  },
  {
    name: 'blob chunk',
    at: async (_a, s) => {
      await s.blobs.put(blobId('b1'), new Uint8Array(5));
      const meta = await _a.transaction((tx) => tx.get(CLIENT_TABLES.blobs, enc.encode('b1'), E));
      const gen = (JSON.parse(new TextDecoder().decode(meta?.value)) as { d: { generation: { $b: string } } })
        .d.generation.$b;
      const g = Uint8Array.from(atob(gen), (c) => c.charCodeAt(0));
      return [CLIENT_TABLES.blobChunks, new Uint8Array([...enc.encode('b1'), 0, ...g]), u32(0)];
    },
    read: (s) => s.blobs.get(blobId('b1')),
  },
  {
    name: 'setting',
    at: async () => [CLIENT_TABLES.settings, enc.encode('ui.theme'), E],
    read: (s) => s.settings.get(theme),
  },
];

const recordData: fc.Arbitrary<RecordValue> = fc.letrec<{ v: RecordValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        'id',
        'size',
        'chunks',
        'generation',
        'bytes',
        'record',
        'kind',
        'status',
        'key',
        'value',
        'x',
      ),
      tie('v'),
      { maxKeys: 6 },
    ),
  ),
})).v;

const value = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.integer({ min: 1, max: 3 }), recordData).map(([v, d]) => encodeRecord(v, d)),
  // Consistent metadata claiming a huge blob whose chunks do not exist.
  fc.nat({ max: 2 ** 50 }).map((size) =>
    encodeRecord(1, {
      size,
      chunks: Math.ceil(size / 2 ** 20),
      generation: new Uint8Array(8),
      createdAt: 0,
    }),
  ),
  // Plausible metadata with hostile sizes.
  fc.tuple(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 0xffff_ffff })).map(([size, chunks]) =>
    encodeRecord(1, {
      size,
      chunks,
      generation: new Uint8Array(8),
      createdAt: 0,
      id: 1,
      conversationId: 'c1',
    }),
  ),
);

describe('corrupted client records', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    '%s: any stored value reads as DecodeError or a valid value',
    async (_n, c) => {
      await fc.assert(
        fc.asyncProperty(value, async (bytes) => {
          const adapter = createMemoryAdapter();
          const stores = createClientStores(adapter);
          await stores.conversations.create({
            id: conversationId('c1'),
            kind: 'direct',
            peer: userId('bob'),
          });
          const [table, partition, sort] = await c.at(adapter, stores);
          await adapter.transaction(async (tx) => {
            await tx.put(table, { partition, sort, value: bytes });
            if (table === CLIENT_TABLES.messageIds) {
              // Point a history row at the same place so the id row's target exists.
              await tx.put(CLIENT_TABLES.messages, {
                partition: enc.encode('c1'),
                sort: new Uint8Array(16),
                value: bytes,
              });
            }
          });
          try {
            await c.read(stores);
          } catch (e) {
            expect(e).toBeInstanceOf(CloisterError);
            expect((e as CloisterError).code).toBe('ERR_DECODE');
          }
        }),
        { numRuns: 60 },
      );
    },
  );
});
