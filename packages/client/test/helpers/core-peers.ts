/**
 * Devices for tests of the sans-IO core alone: bob (the receiver, with published prekeys) and any
 * number of senders with certificates from one tenant key. Each stores like a real client does:
 * encryption at rest over a memory adapter, with the client's ordered tables. No server.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateSignedPreKey,
  getProvider,
  issueSenderCertificate,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  type SenderCertificate,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  utf8,
} from '@cloister/crypto';
import { type Content, encodeContent, signDeviceList, tenantId, userId } from '@cloister/protocol';
import {
  createEncryptedAdapter,
  createMemoryAdapter,
  type StorageAdapter,
  txExecutor,
} from '@cloister/storage';
import {
  acceptDeviceLists,
  type ClientEvent,
  type CoreSelf,
  type CoreTx,
  type DirectoryDevice,
  decodeJob,
  type OutboxJob,
  receiveDelivery,
  releaseQuarantine,
  sealForDevice,
} from '../../src/core/index.js';
import { createOutbox, OUTBOX_ORDERED_TABLES } from '../../src/outbox/index.js';
import { bindClientStores, CLIENT_ORDERED_TABLES } from '../../src/store/index.js';

/** A client's storage: encryption at rest (a fixed test key) over memory. */
function clientStorage(provider: CryptoProvider): StorageAdapter {
  return createEncryptedAdapter(createMemoryAdapter(), {
    dataKey: new Uint8Array(32).fill(42),
    provider,
    orderedTables: [...CLIENT_ORDERED_TABLES, ...OUTBOX_ORDERED_TABLES],
  });
}

export const NOW = 1_800_000_000_000;
export const MAILBOX_BOB = 'mbx_bob_000000000000';

/** A device of the test: who it is, its storage, and (for senders) its certificate. */
export interface Peer {
  readonly self: CoreSelf;
  readonly db: StorageAdapter;
  readonly certificate: SenderCertificate;
}

/** Runs `fn` in one transaction of `db` with the client stores and the outbox bound to it. */
export function inTx<T>(db: StorageAdapter, fn: (t: CoreTx) => Promise<T>): Promise<T> {
  return db.transaction((tx) => {
    const run = txExecutor(tx);
    return fn({ stores: bindClientStores(run), tx, outbox: createOutbox(run, { now: () => NOW }) });
  });
}

let serial = 0;

/** A content with a fresh message id. */
export function content(body: Content['body'], extra: Partial<Content> = {}): Content {
  return { messageId: utf8(`msg-${String(serial++).padStart(12, '0')}`), sentAtMs: NOW, body, ...extra };
}

/** Bob, a tenant key, and a way to make senders that reach bob. */
export interface CorePeers {
  readonly provider: CryptoProvider;
  readonly bob: Peer & { readonly bundle: PreKeyBundle };
  /** Bob as a directory lists him. */
  readonly toBob: DirectoryDevice;
  /**
   * A new sender device of `user` (device 1), certified by the tenant key. Unless `listed` is
   * false, bob pins a signed device list of `user` with this device alone (a new chain: trust on
   * first use, or a reset when `user` was pinned before).
   */
  sender(user: string, options?: { readonly listed?: boolean }): Promise<Peer>;
  /** Bob takes `lists` as the server's answer for `user` and releases what they admit; resolves the events. */
  acceptLists(user: string, lists: readonly Uint8Array[]): Promise<ClientEvent[]>;
  /** The first signed device list of `peer`'s user with `peer` alone. */
  firstList(peer: Peer): Promise<Uint8Array>;
  /** Seals `plaintext` from `from` to bob (starting the session with `start`). */
  seal(from: Peer, plaintext: Uint8Array, start?: boolean): Promise<Uint8Array>;
  /** Bob receives an envelope under a new delivery id; resolves the events. */
  receive(envelope: Uint8Array, now?: number): Promise<ClientEvent[]>;
  /** Everything in bob's outbox, decoded. */
  bobJobs(): Promise<OutboxJob[]>;
}

function self(
  provider: CryptoProvider,
  identity: DeviceIdentity,
  user: string,
  mailbox: string,
  key: Uint8Array,
): CoreSelf {
  return {
    provider,
    userId: userId(user),
    deviceId: deviceId(1),
    identity,
    tenant: 'acme',
    tenantPublicKey: key,
    mailbox,
    suites: ['v2'],
  };
}

/**
 * Bob and his senders. With `organisationRoot`, bob is a device that pinned that organisation root
 * (it then trusts sender certificates only under delegations it verified).
 */
export async function createCorePeers(
  options: { readonly organisationRoot?: Uint8Array } = {},
): Promise<CorePeers> {
  const provider = await getProvider();
  const tenantKey = await provider.ed25519.generateKeyPair();
  const bobId = await generateDeviceIdentity(provider);
  const bobDb = clientStorage(provider);
  const spk = await generateSignedPreKey(provider, bobId, signedPreKeyId(1));
  const kem = await generateKemPreKey(provider, bobId, kemPreKeyId(1), { lastResort: true });
  await inTx(bobDb, async (t) => {
    await t.stores.preKeys.storeSignedPreKey(spk);
    await t.stores.preKeys.storeKemPreKey(kem);
  });
  const bundle: PreKeyBundle = {
    registrationId: registrationId(7),
    deviceId: deviceId(1),
    identity: toPublicIdentity(bobId),
    signedPreKey: toSignedPreKeyPublic(spk),
    kemPreKey: toKemPreKeyPublic(kem),
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(provider, bobId, ['v2'], {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
  const bobSelf: CoreSelf = {
    ...self(provider, bobId, 'bob', MAILBOX_BOB, tenantKey.publicKey),
    ...(options.organisationRoot === undefined ? {} : { organisationRoot: options.organisationRoot }),
  };
  const bobCertificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
    userId: 'bob',
    deviceId: 1,
    identitySigningKey: bobId.signingKeyPair.publicKey,
    identityDhKey: bobId.dhKeyPair.publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: NOW + 86_400_000,
  });
  const bob = { self: bobSelf, db: bobDb, certificate: bobCertificate, bundle };
  const toBob: DirectoryDevice = {
    userId: userId('bob'),
    deviceId: deviceId(1),
    mailbox: MAILBOX_BOB,
    deliveryToken: new Uint8Array(32).fill(7),
    bundle,
    suite: 'v2',
  };
  let deliveries = 0;
  const peers: CorePeers = {
    provider,
    bob,
    toBob,
    async sender(user, options = {}) {
      const identity = await generateDeviceIdentity(provider);
      const certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
        userId: user,
        deviceId: 1,
        identitySigningKey: identity.signingKeyPair.publicKey,
        identityDhKey: identity.dhKeyPair.publicKey,
        tenantId: 'acme',
        pools: [],
        expiresAt: NOW + 86_400_000,
      });
      const peer = {
        self: self(provider, identity, user, `mbx_${user}_000000000000`, tenantKey.publicKey),
        db: clientStorage(provider),
        certificate,
      };
      if (options.listed !== false) await peers.acceptLists(user, [await peers.firstList(peer)]);
      return peer;
    },
    async firstList(peer) {
      return signDeviceList(
        provider,
        {
          tenant: tenantId('acme'),
          user: peer.self.userId,
          epoch: 1,
          issuedAtMs: NOW,
          previous: new Uint8Array(32),
          root: new Uint8Array(32),
          signer: { kind: 'device', deviceId: peer.self.deviceId },
          devices: [
            { deviceId: peer.self.deviceId, identity: toPublicIdentity(peer.self.identity), addedAtMs: NOW },
          ],
        },
        peer.self.identity.signingKeyPair.privateKey,
      );
    },
    async acceptLists(user, lists) {
      return inTx(bobDb, async (t) => {
        const accepted = await acceptDeviceLists(bobSelf, t, userId(user), lists);
        const released = await releaseQuarantine(bobSelf, t, userId(user), {
          lifetimeMs: null,
          processedTtlMs: 86_400_000,
        });
        return [...accepted.events, ...released];
      });
    },
    seal(from, plaintext, start = false) {
      return inTx(from.db, (t) =>
        sealForDevice(from.self, t, {
          device: toBob,
          plaintext,
          certificate: from.certificate,
          ...(start ? { fullBundle: bundle } : {}),
        }),
      );
    },
    async receive(envelope, now = NOW) {
      const out = await inTx(bobDb, (t) =>
        receiveDelivery(bobSelf, t, {
          serverId: `d_${deliveries++}`,
          envelope,
          now,
          lifetimeMs: null,
          processedTtlMs: 86_400_000,
        }),
      );
      return out.events;
    },
    async bobJobs() {
      return bobDb.transaction(async (tx) =>
        (await createOutbox(txExecutor(tx), { now: () => NOW + 86_400_000 }).due(1000)).map((e) =>
          decodeJob(e.payload),
        ),
      );
    },
  };
  return peers;
}

/** The texts of the `message` events. */
export function texts(events: readonly ClientEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === 'message' && e.message.content.body.type === 'text' ? [e.message.content.body.text] : [],
  );
}

/** Encodes a content (shorthand). */
export const encode = encodeContent;
