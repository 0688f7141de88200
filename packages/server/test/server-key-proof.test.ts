/**
 * `POST /v1/server-key-proof` (spec/client-browser-transport.md): the TLS key signs
 * `label ‖ nonce ‖ SHA-256(spki)`, verifiable with WebCrypto for every supported key type; and the
 * delivery WebSocket accepting the credential from the subprotocol list (`cloister.v1,
 * cloister.auth.<b64url>`), never echoing it, with the `Authorization` header winning.
 */
import { createHash, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { concatBytes, utf8, ValidationError } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader } from '../src/auth.js';
import type { ServerContext } from '../src/context.js';
import { errorHandler } from '../src/http-errors.js';
import { createServerKeyProofRoutes, SERVER_KEY_PROOF_LABEL } from '../src/routes/server-key-proof.js';
import { wsRoutes } from '../src/routes/ws.js';
import { generateSelfSigned, type TlsMaterial } from '../src/tls.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

const VERIFY: Record<string, { key: object; verify: object }> = {
  'ecdsa-p256-sha256': {
    key: { name: 'ECDSA', namedCurve: 'P-256' },
    verify: { name: 'ECDSA', hash: 'SHA-256' },
  },
  'ecdsa-p384-sha384': {
    key: { name: 'ECDSA', namedCurve: 'P-384' },
    verify: { name: 'ECDSA', hash: 'SHA-384' },
  },
  ed25519: { key: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  'rsa-pss-sha256': {
    key: { name: 'RSA-PSS', hash: 'SHA-256' },
    verify: { name: 'RSA-PSS', saltLength: 32 },
  },
};

/** Verifies a proof as a browser does: WebCrypto, SPKI import, the same message. */
async function verifyProof(
  proof: { spki: string; algorithm: string; signature: string },
  nonce: Uint8Array,
): Promise<boolean> {
  const spki = new Uint8Array(Buffer.from(proof.spki, 'base64url'));
  const digest = new Uint8Array(createHash('sha256').update(spki).digest());
  const params = VERIFY[proof.algorithm];
  if (params === undefined) return false;
  const key = await webcrypto.subtle.importKey('spki', spki, params.key as never, false, ['verify']);
  return webcrypto.subtle.verify(
    params.verify as never,
    key,
    Buffer.from(proof.signature, 'base64url'),
    concatBytes(utf8(SERVER_KEY_PROOF_LABEL), nonce, digest),
  );
}

/** A self-signed certificate over a key of the given type (via the x509 library). */
async function certificateFor(
  keyAlg: EcKeyGenParams | RsaHashedKeyGenParams | { name: 'Ed25519' },
  signingAlgorithm: object,
): Promise<TlsMaterial> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = (await webcrypto.subtle.generateKey(keyAlg as never, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=proof test',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: signingAlgorithm as never,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    cert: cert.toString('pem'),
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`,
  };
}

/** A bare Fastify app serving only the proof route for `tls`. */
async function proofApp(tls: TlsMaterial) {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  await createServerKeyProofRoutes(tls)(app, {} as ServerContext);
  return app;
}

let server: TestServer;
let device: TestDevice;

beforeAll(async () => {
  server = await startTestServer({ extraRoutes: [wsRoutes] });
  const ctx = server.server.context;
  await ctx.stores.tenants.create(tenantId('acme'), {
    name: 'ACME',
    signingKey: new Uint8Array(randomBytes(32)),
  });
  device = await setUpDevice(ctx, tenantId('acme'), 'alice', 1);
}, 30_000);

afterAll(async () => {
  await server?.close();
});

describe('POST /v1/server-key-proof', () => {
  it('signs the nonce with the TLS key whose SPKI hashes to the pin', async () => {
    const nonce = new Uint8Array(randomBytes(32));
    const res = await server.request('POST', '/v1/server-key-proof', { json: { nonce: b64url(nonce) } });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json.algorithm).toBe('ecdsa-p256-sha256');
    const spki = Buffer.from(res.json.spki, 'base64url');
    expect(`sha256/${createHash('sha256').update(spki).digest('base64')}`).toBe(server.pin);
    // ECDSA in IEEE P1363 form: r ‖ s, 64 bytes for P-256.
    expect(Buffer.from(res.json.signature, 'base64url')).toHaveLength(64);
    expect(await verifyProof(res.json, nonce)).toBe(true);
    // Bound to the nonce: the same answer does not verify for another one.
    expect(await verifyProof(res.json, new Uint8Array(randomBytes(32)))).toBe(false);
  });

  it('refuses a malformed request body with ERR_VALIDATION', async () => {
    const bodies: unknown[] = [
      {},
      { nonce: b64url(randomBytes(31)) },
      { nonce: b64url(randomBytes(33)) },
      { nonce: `${'A'.repeat(42)}B` }, // non-canonical: trailing bits set
      { nonce: `${b64url(randomBytes(32)).slice(0, 42)}=` },
      { nonce: 42 },
      { nonce: b64url(randomBytes(32)), extra: 1 },
      [b64url(randomBytes(32))],
    ];
    for (const json of bodies) {
      const res = await server.request('POST', '/v1/server-key-proof', { json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
  });

  it('signs with P-384, Ed25519 and RSA keys in a form WebCrypto verifies', async () => {
    const cases: [string, Parameters<typeof certificateFor>][] = [
      [
        'ecdsa-p384-sha384',
        [
          { name: 'ECDSA', namedCurve: 'P-384' },
          { name: 'ECDSA', hash: 'SHA-384' },
        ],
      ],
      ['ed25519', [{ name: 'Ed25519' }, { name: 'Ed25519' }]],
      [
        'rsa-pss-sha256',
        [
          {
            name: 'RSASSA-PKCS1-v1_5',
            modulusLength: 2048,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: 'SHA-256',
          },
          { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        ],
      ],
    ];
    for (const [algorithm, args] of cases) {
      const app = await proofApp(await certificateFor(...args));
      const nonce = new Uint8Array(randomBytes(32));
      const res = await app.inject({
        method: 'POST',
        url: '/v1/server-key-proof',
        payload: { nonce: b64url(nonce) },
      });
      expect(res.statusCode, algorithm).toBe(200);
      const proof = res.json();
      expect(proof.algorithm).toBe(algorithm);
      expect(await verifyProof(proof, nonce)).toBe(true);
      await app.close();
    }
  }, 30_000);

  it('refuses a key that does not belong to the certificate, and answers 501 for an unsupported key type', async () => {
    const a = await generateSelfSigned();
    const b = await generateSelfSigned();
    expect(() => createServerKeyProofRoutes({ cert: a.cert, key: b.key })).toThrow(ValidationError);
    expect(() => createServerKeyProofRoutes({ cert: 'nope', key: a.key })).toThrow(ValidationError);
    expect(() => createServerKeyProofRoutes({ cert: a.cert, key: 'nope' })).toThrow(ValidationError);
    const p521 = await certificateFor(
      { name: 'ECDSA', namedCurve: 'P-521' },
      { name: 'ECDSA', hash: 'SHA-512' },
    );
    const app = await proofApp(p521);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/server-key-proof',
      payload: { nonce: b64url(randomBytes(32)) },
    });
    expect(res.statusCode).toBe(501);
    expect(res.json().error.code).toBe('ERR_UNSUPPORTED');
    await app.close();
    // An unrelated key pair is not accepted as the certificate's key either.
    const stray = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => createServerKeyProofRoutes({ cert: a.cert, key: String(stray) })).toThrow(ValidationError);
  });
});

/** Opens the delivery socket; resolves the negotiated protocol and the upgrade's answer header, or the refusal status. */
function openSocket(
  protocols: string[] | undefined,
  headers: Record<string, string> = {},
  url: string = server.url,
): Promise<{ status: number; protocol?: string; answered?: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^https:/, 'wss:')}/v1/ws`, protocols ?? [], {
      rejectUnauthorized: false,
      headers,
    });
    let answered: string | undefined;
    ws.on('upgrade', (res: IncomingMessage) => {
      answered = res.headers['sec-websocket-protocol'] as string | undefined;
    });
    ws.on('open', () => {
      const protocol = ws.protocol;
      ws.close(1000);
      resolve({ status: 101, protocol, answered });
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', (e) => {
      if (answered !== undefined || /subprotocol/i.test(e.message)) resolve({ status: 101, answered });
      else reject(e);
    });
  });
}

describe('delivery socket credential in the subprotocol list', () => {
  it('authenticates with cloister.auth.<credential> and selects only cloister.v1', async () => {
    const auth = `cloister.auth.${b64url(device.credential)}`;
    const ok = await openSocket(['cloister.v1', auth]);
    expect(ok).toEqual({ status: 101, protocol: 'cloister.v1', answered: 'cloister.v1' });
    // Offered in the other order, cloister.v1 is still the one selected; the credential is never echoed.
    expect(await openSocket([auth, 'cloister.v1'])).toEqual({
      status: 101,
      protocol: 'cloister.v1',
      answered: 'cloister.v1',
    });
  });

  it('refuses an unknown, malformed or repeated subprotocol credential with 401', async () => {
    const offers = [
      ['cloister.v1', `cloister.auth.${b64url(randomBytes(32))}`],
      ['cloister.v1', 'cloister.auth.short'],
      ['cloister.v1', 'cloister.auth.'],
      [
        'cloister.v1',
        `cloister.auth.${b64url(device.credential)}`,
        `cloister.auth.${b64url(randomBytes(32))}`,
      ],
      ['cloister.v1'],
    ];
    for (const offer of offers) expect((await openSocket(offer)).status, offer.join()).toBe(401);
  });

  it('lets the Authorization header win when both are present', async () => {
    const good = authorizationHeader(device.credential);
    const bad = authorizationHeader(new Uint8Array(randomBytes(32)));
    const goodProto = `cloister.auth.${b64url(device.credential)}`;
    const badProto = `cloister.auth.${b64url(randomBytes(32))}`;
    expect((await openSocket(['cloister.v1', badProto], { authorization: good })).status).toBe(101);
    expect((await openSocket(['cloister.v1', goodProto], { authorization: bad })).status).toBe(401);
    // Without any subprotocol the header path is unchanged.
    expect((await openSocket(undefined, { authorization: good })).status).toBe(101);
  });
});

describe('per-device rate limit with the subprotocol credential', () => {
  it('counts subprotocol and header upgrades of one credential in the same bucket', async () => {
    const limited = await startTestServer({
      extraRoutes: [wsRoutes],
      limits: { deviceRequestsPerMinute: 2 },
    });
    try {
      const ctx = limited.server.context;
      await ctx.stores.tenants.create(tenantId('acme'), {
        name: 'ACME',
        signingKey: new Uint8Array(randomBytes(32)),
      });
      const d = await setUpDevice(ctx, tenantId('acme'), 'bob', 1);
      const open = (protocols: string[] | undefined, headers: Record<string, string> = {}) =>
        openSocket(protocols, headers, limited.url);
      const proto = ['cloister.v1', `cloister.auth.${b64url(d.credential)}`];
      expect((await open(proto)).status).toBe(101);
      expect((await open(undefined, { authorization: authorizationHeader(d.credential) })).status).toBe(101);
      expect((await open(proto)).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
