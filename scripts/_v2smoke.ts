import { createNobleProvider, utf8 } from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import * as v2 from '../packages/crypto/src/v2/index.js';

for (const p of [createNodeProvider(), createNobleProvider()]) {
  const alice = await v2.generateDeviceIdentity(p);
  const bob = await v2.generateDeviceIdentity(p);
  const spk = await v2.generateSignedPreKey(p, bob, v2.signedPreKeyId(1));
  const opks = await v2.generateOneTimePreKeys(p, v2.oneTimePreKeyId(10), 5);
  const kem = await v2.generateKemPreKey(p, bob, v2.kemPreKeyId(3), { lastResort: true });
  const store = new v2.InMemoryPreKeyStore();
  await store.storeSignedPreKey(spk); await store.storeOneTimePreKeys(opks); await store.storeKemPreKey(kem);
  const bundle: v2.PreKeyBundle = { registrationId: v2.registrationId(1), deviceId: v2.deviceId(1), identity: v2.toPublicIdentity(bob),
    signedPreKey: v2.toSignedPreKeyPublic(spk), oneTimePreKey: v2.toOneTimePreKeyPublic(opks[0]!), kemPreKey: v2.toKemPreKeyPublic(kem), suites: ['v2'] };
  const A = new v2.SessionCipher(p, { ourIdentity: alice, remoteAddress: { userId: 'bob', deviceId: v2.deviceId(1) }, sessions: new v2.InMemorySessionStore() });
  const B = new v2.SessionCipher(p, { ourIdentity: bob, remoteAddress: { userId: 'alice', deviceId: v2.deviceId(1) }, sessions: new v2.InMemorySessionStore(), preKeys: store });
  await A.startSession(bundle);
  const m1 = await A.encrypt(utf8('hello'));
  const m2 = await A.encrypt(utf8('hello2'));
  console.log(m1.type, new TextDecoder().decode(await B.decrypt(m2)), new TextDecoder().decode(await B.decrypt(m1)));
  try { await B.decrypt(m1); } catch (e) { console.log('dup', (e as any).code); }
  const r = await B.encrypt(utf8('reply'));
  console.log(r.type, new TextDecoder().decode(await A.decrypt(r)));
  const m3 = await A.encrypt(utf8('x')); console.log(m3.type);
  // throughput one-way
  const N = 5000; const pt = new Uint8Array(100);
  let t = performance.now();
  for (let i = 0; i < N; i++) { const m = await A.encrypt(pt); await B.decrypt(m); }
  let dt = performance.now() - t; console.log(p.name, 'cipher one-way', Math.round(N / dt * 1000), '/s');
  t = performance.now();
  for (let i = 0; i < 1000; i++) { const m = await A.encrypt(pt); await B.decrypt(m); const n = await B.encrypt(pt); await A.decrypt(n); }
  dt = performance.now() - t; console.log(p.name, 'alternating', Math.round(2000 / dt * 1000), 'msgs/s');
  // pure api
  let sa = (await v2.initiateSession(p, { ourIdentity: alice, theirBundle: { ...bundle, oneTimePreKey: undefined as never } })).session;
  t = performance.now();
  const H = p.name === 'node' ? 200 : 20;
  for (let i = 0; i < H; i++) {
    const { session } = await v2.initiateSession(p, { ourIdentity: alice, theirBundle: { ...bundle, oneTimePreKey: v2.toOneTimePreKeyPublic(opks[1]!) } });
    sa = session;
    const { message } = await v2.encryptRecord(p, { version: 1, current: sa, previous: [] }, pt);
    const ps = new v2.InMemoryPreKeyStore(); await ps.storeSignedPreKey(spk); await ps.storeOneTimePreKeys([opks[1]!]); await ps.storeKemPreKey(kem);
    if (message.type !== 'initial') throw new Error();
    await v2.acceptSession(p, { ourIdentity: bob, preKeys: ps, initialMessage: message.message });
  }
  dt = performance.now() - t; console.log(p.name, 'handshake', Math.round(H / dt * 1000), '/s');
}
