import { utf8 } from '../packages/crypto/src/index.js';
import { createNodeProvider } from '../packages/crypto/src/providers/node.js';
import * as v2 from '../packages/crypto/src/v2/index.js';
const p = createNodeProvider();
const alice = await v2.generateDeviceIdentity(p);
const bob = await v2.generateDeviceIdentity(p);
const spk = await v2.generateSignedPreKey(p, bob, v2.signedPreKeyId(1));
const kem = await v2.generateKemPreKey(p, bob, v2.kemPreKeyId(3), { lastResort: true });
const store = new v2.InMemoryPreKeyStore();
await store.storeSignedPreKey(spk); await store.storeKemPreKey(kem);
const bundle: v2.PreKeyBundle = { registrationId: v2.registrationId(1), deviceId: v2.deviceId(1), identity: v2.toPublicIdentity(bob), signedPreKey: v2.toSignedPreKeyPublic(spk), kemPreKey: v2.toKemPreKeyPublic(kem), suites: ['v2'] };
const A = new v2.SessionCipher(p, { ourIdentity: alice, remoteAddress: { userId: 'bob', deviceId: v2.deviceId(1) }, sessions: new v2.InMemorySessionStore() });
const B = new v2.SessionCipher(p, { ourIdentity: bob, remoteAddress: { userId: 'alice', deviceId: v2.deviceId(1) }, sessions: new v2.InMemorySessionStore(), preKeys: store });
await A.startSession(bundle);
await B.decrypt(await A.encrypt(utf8('x'))); await A.decrypt(await B.encrypt(utf8('y')));
const pt = new Uint8Array(100);
for (let round = 0; round < 2; round++) {
  let N = 10000; let t = performance.now();
  for (let i = 0; i < N; i++) await B.decrypt(await A.encrypt(pt));
  console.log('SessionCipher one-way', Math.round(N / (performance.now() - t) * 1000), 'msgs/s');
  // pure record API
  let ra: v2.SessionRecord = { version: 1, current: (await (async () => { const { session } = await v2.initiateSession(p, { ourIdentity: alice, theirBundle: bundle }); return session; })()), previous: [] };
  let rb = v2.emptySessionRecord();
  const first = await v2.encryptRecord(p, ra, pt); ra = first.record;
  rb = (await v2.decryptRecord(p, rb, first.message, { ourIdentity: bob, preKeys: store })).record;
  const reply = await v2.encryptRecord(p, rb, pt); rb = reply.record; ra = (await v2.decryptRecord(p, ra, reply.message)).record;
  t = performance.now();
  for (let i = 0; i < N; i++) { const e = await v2.encryptRecord(p, ra, pt); ra = e.record; rb = (await v2.decryptRecord(p, rb, e.message)).record; }
  console.log('record API one-way', Math.round(N / (performance.now() - t) * 1000), 'msgs/s');
  N = 1000; t = performance.now();
  for (let i = 0; i < N; i++) { await B.decrypt(await A.encrypt(pt)); await A.decrypt(await B.encrypt(pt)); }
  console.log('SessionCipher alternating', Math.round(2 * N / (performance.now() - t) * 1000), 'msgs/s');
  N = 100; t = performance.now();
  for (let i = 0; i < N; i++) {
    const { session } = await v2.initiateSession(p, { ourIdentity: alice, theirBundle: bundle });
    const m = await v2.encryptRecord(p, { version: 1, current: session, previous: [] }, pt);
    if (m.message.type !== 'initial') throw new Error();
    await v2.acceptSession(p, { ourIdentity: bob, preKeys: store, initialMessage: m.message.message });
  }
  console.log('handshake (initiate+encrypt+accept)', Math.round(N / (performance.now() - t) * 1000), '/s');
}
