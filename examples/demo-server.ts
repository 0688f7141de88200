/**
 * The server part of the demo: a relay on its embedded database, a tenant, enrolment tokens, two
 * devices enrolled over pinned HTTPS, Bob's prekeys published, Alice fetching his bundle with a
 * delivery token, a v2 session message sealed with her sender certificate, delivered without the
 * server learning the sender, fetched, opened and acknowledged by Bob.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import {
  type CryptoProvider,
  type DeviceIdentity,
  decodeSenderCertificate,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  kemPreKeyId,
  oneTimePreKeyId,
  openEnvelope,
  registrationId,
  SessionCipher,
  sealEnvelope,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  utf8,
} from '@cloister/crypto';
import {
  decodeDeviceMessage,
  decodePreKeyBundle,
  encodeDeviceMessage,
  encodePreKeyBundle,
  encodeSealedDelivery,
  negotiateSuiteForBundle,
} from '@cloister/protocol';
import {
  authorizationHeader,
  createEnrolmentToken,
  createServer,
  createTenant,
  decodeMailboxPage,
  signEnrolmentProof,
} from '@cloister/server';
import { tenantId, userId } from '@cloister/storage';

type Say = (title: string, ...lines: string[]) => void;

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

/** One HTTPS request that refuses a server whose public key does not match `pin`. */
function pinned(base: string, pin: string) {
  return (
    method: string,
    path: string,
    options: { json?: unknown; body?: Uint8Array; credential?: Uint8Array } = {},
  ): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      let payload: Buffer | undefined;
      if (options.json !== undefined) {
        payload = Buffer.from(JSON.stringify(options.json));
        headers['content-type'] = 'application/json';
      } else if (options.body !== undefined) {
        payload = Buffer.from(options.body);
        headers['content-type'] = 'application/x-protobuf';
      }
      if (options.credential !== undefined) headers.authorization = authorizationHeader(options.credential);
      const req = httpsRequest(
        new URL(path, base),
        { method, headers, rejectUnauthorized: false, minVersion: 'TLSv1.3', agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on('socket', (socket) =>
        socket.on('secureConnect', () => {
          const cert = (socket as TLSSocket).getPeerX509Certificate();
          const spki = cert?.publicKey.export({ type: 'spki', format: 'der' });
          const seen = spki && `sha256/${createHash('sha256').update(spki).digest('base64')}`;
          if (seen !== pin) req.destroy(new Error('the server key does not match the pin'));
        }),
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));
const json = (reply: Reply) => JSON.parse(reply.body.toString('utf8'));

function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status)
    throw new Error(`${what}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
}

/** Runs the server demo in a temporary data directory; resolves with the text Bob read. */
export async function runServerDemo(provider: CryptoProvider, say: Say): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-demo-server-'));
  const server = await createServer({ dataDir, logLevel: 'silent', provider });
  try {
    const url = await server.listen({ port: 0 });
    const call = pinned(url, server.pin);
    say(
      'Server: started on its embedded database (PGlite), HTTPS with TLS 1.3 only',
      `url: ${url}`,
      `pin clients must use: ${server.pin}`,
    );

    const ctx = server.context;
    const tenant = tenantId('acme');
    const { signingPublicKey } = await createTenant(ctx, { id: tenant, name: 'ACME Hospital' });
    const aliceToken = await createEnrolmentToken(ctx, { tenant, user: userId('alice') });
    const bobToken = await createEnrolmentToken(ctx, { tenant, user: userId('bob') });
    say(
      'Admin: tenant "acme" with its signing key, one single-use enrolment token per user',
      `tenant signing key: ${b64(signingPublicKey).slice(0, 22)}…`,
      'tokens are shown once; the server keeps only their hashes',
    );

    const enrolRequest = async (token: string, name: string) => {
      const identity = await generateDeviceIdentity(provider);
      const pub = toPublicIdentity(identity);
      const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, token, pub);
      const reply = await call('POST', '/v1/enrol', {
        json: {
          token,
          user: { id: name, displayName: name },
          device: {
            identity: {
              signingKey: b64(pub.signingKey),
              dhKey: b64(pub.dhKey),
              dhKeySignature: b64(pub.dhKeySignature),
            },
            registrationId: 1000 + name.length,
            proof: b64(proof),
          },
        },
      });
      return { identity, reply };
    };
    const enrol = async (token: string, name: string) => {
      const { identity, reply } = await enrolRequest(token, name);
      expectStatus(reply, 201, `enrol ${name}`);
      const r = json(reply);
      return {
        identity,
        credential: unb64(r.credential),
        deviceId: r.deviceId as number,
        mailbox: r.mailbox as string,
      };
    };
    const alice = await enrol(aliceToken.token, 'alice');
    const bob = await enrol(bobToken.token, 'bob');
    const reused = (await enrolRequest(aliceToken.token, 'alice')).reply;
    say(
      'Devices: Alice and Bob enrol with their tokens, proving possession of their identity keys',
      `alice: device ${alice.deviceId}, mailbox ${alice.mailbox.slice(0, 12)}…; bob: device ${bob.deviceId}`,
      `each gets a device credential, shown once; Alice's token used again -> HTTP ${reused.status} ${json(reused).error.code}`,
    );

    // Bob publishes his signed prekeys and one one-time prekey of each kind.
    const bobPreKeys = new InMemoryPreKeyStore();
    const spk = await generateSignedPreKey(provider, bob.identity, signedPreKeyId(1));
    const lastResort = await generateKemPreKey(provider, bob.identity, kemPreKeyId(1000), {
      lastResort: true,
    });
    const [oneTime] = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 1);
    const kemOneTime = await generateKemPreKey(provider, bob.identity, kemPreKeyId(1), { lastResort: false });
    await bobPreKeys.storeSignedPreKey(spk);
    await bobPreKeys.storeKemPreKey(lastResort);
    await bobPreKeys.storeKemPreKey(kemOneTime);
    await bobPreKeys.storeOneTimePreKeys([oneTime!]);
    const signedBody = encodePreKeyBundle({
      registrationId: registrationId(1000 + 'bob'.length),
      deviceId: deviceId(bob.deviceId),
      identity: toPublicIdentity(bob.identity),
      signedPreKey: toSignedPreKeyPublic(spk),
      kemPreKey: toKemPreKeyPublic(lastResort),
      suites: ['v2'],
      suitesSignature: await signSuites(provider, bob.identity, ['v2']),
    });
    expectStatus(
      await call('PUT', '/v1/keys/signed', { body: signedBody, credential: bob.credential }),
      204,
      'publish',
    );
    const kemPublic = toKemPreKeyPublic(kemOneTime);
    const preKeyPublic = toOneTimePreKeyPublic(oneTime!);
    const upload = await call('POST', '/v1/keys/one-time', {
      credential: bob.credential,
      json: {
        preKeys: [{ id: preKeyPublic.id, publicKey: b64(preKeyPublic.publicKey) }],
        kemPreKeys: [
          { id: kemPublic.id, publicKey: b64(kemPublic.publicKey), signature: b64(kemPublic.signature) },
        ],
      },
    });
    expectStatus(upload, 200, 'one-time prekeys');
    say('Bob publishes his prekeys', 'the server checks every signature against his registered identity key');

    // Alice fetches Bob's bundles (with delivery tokens) and her sender certificate.
    const bundles = await call('GET', '/v1/users/bob/devices/bundles', { credential: alice.credential });
    expectStatus(bundles, 200, 'bundles');
    const entry = json(bundles).devices[0];
    const bundle = decodePreKeyBundle(unb64(entry.bundle));
    const suite = await negotiateSuiteForBundle(provider, ['v2'], bundle);
    const certReply = await call('POST', '/v1/certificate', { credential: alice.credential });
    expectStatus(certReply, 200, 'certificate');
    const certificate = decodeSenderCertificate(unb64(json(certReply).certificate));
    say(
      'Alice fetches Bob’s bundle and a short-lived sender certificate',
      `negotiated suite: ${suite}; the bundle came with Bob's mailbox and a delivery token`,
      `certificate for ${certificate.userId}/${certificate.deviceId}, signed by the tenant, expires ${new Date(certificate.expiresAt).toISOString()}`,
    );

    const aliceCipher = new SessionCipher(provider, {
      ourIdentity: alice.identity as DeviceIdentity,
      remoteAddress: { userId: 'bob', deviceId: deviceId(bob.deviceId) },
      sessions: new InMemorySessionStore(),
    });
    await aliceCipher.startSession(bundle);
    const text = 'Ward 3 handover at 18:00 — bed 12 needs a new line.';
    const wire = encodeDeviceMessage({ suite: 'v2', ...(await aliceCipher.encrypt(utf8(text))) });
    const envelope = await sealEnvelope(provider, {
      recipientPublicKey: bundle.identity.dhKey,
      mailbox: utf8(entry.mailbox),
      deliveryToken: unb64(entry.deliveryToken),
      certificate,
      contentType: 1,
      body: wire,
    });
    const messageId = await provider.randomBytes(16);
    const sent = await call('POST', '/v1/messages', { body: encodeSealedDelivery({ messageId, envelope }) });
    expectStatus(sent, 200, 'send');
    say(
      'Alice sends: a v2 session message sealed to Bob’s device, with no sender authentication',
      `envelope: ${envelope.length} bytes; the server sees the mailbox, the token and a padded length`,
      `server answer: ${json(sent).results[0].status}`,
    );

    // Bob fetches, opens (the certificate is checked against the tenant key), decrypts, acks.
    const page = decodeMailboxPage(
      new Uint8Array((await call('GET', '/v1/messages', { credential: bob.credential })).body),
    );
    const item = page.items[0];
    if (item === undefined) throw new Error('nothing was delivered');
    const opened = await openEnvelope(provider, {
      recipientPrivateKey: bob.identity.dhKeyPair.privateKey,
      bytes: item.envelope,
      tenantPublicKey: signingPublicKey,
      now: Date.now(),
    });
    const bobCipher = new SessionCipher(provider, {
      ourIdentity: bob.identity,
      remoteAddress: { userId: opened.certificate.userId, deviceId: deviceId(opened.certificate.deviceId) },
      sessions: new InMemorySessionStore(),
      preKeys: bobPreKeys,
    });
    const message = decodeDeviceMessage(opened.body);
    if (message.suite !== 'v2') throw new Error('expected a v2 message');
    const read = new TextDecoder().decode(await bobCipher.decrypt(message));
    const ack = await call('POST', '/v1/messages/ack', {
      json: { ids: [item.messageId] },
      credential: bob.credential,
    });
    const left = decodeMailboxPage(
      new Uint8Array((await call('GET', '/v1/messages', { credential: bob.credential })).body),
    );
    say(
      'Bob fetches his mailbox, opens the envelope and decrypts',
      `sender (from the certificate inside the seal): ${opened.certificate.userId}, device ${opened.certificate.deviceId}`,
      `Bob reads: "${read}"`,
      `acknowledged (HTTP ${ack.status}); envelopes left in his mailbox: ${left.items.length}`,
    );
    return read;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
