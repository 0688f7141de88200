/**
 * The local certificate authority: the CA and leaf verify with node:crypto and carry the
 * extensions browsers require; a TLS client that trusts only the CA connects to a started server
 * (by name and by address, web app included); restarts reuse the CA and the leaf key (same pin);
 * a leaf near its end is renewed over the same key, at start and while running; the CA's name
 * constraints stop a leaked CA key from minting a certificate for another site; bad files and
 * names are refused.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { ValidationError } from '@cloister/crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, describe, expect, it } from 'vitest';
import {
  issueLocalLeaf,
  LOCAL_LEAF_VALIDITY_DAYS,
  loadOrCreateLocalCa,
  localCaNames,
} from '../src/local-ca.js';
import { createServer } from '../src/server.js';
import { loadOrCreateSelfSigned, spkiPin } from '../src/tls.js';
import { startTestServer } from './helpers/server.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY = 86_400_000;
const scratch = mkdtempSync(join(tmpdir(), 'cloister-local-ca-'));
let counter = 0;
const freshDir = () => {
  const dir = join(scratch, `d${counter++}`);
  mkdirSync(dir);
  return dir;
};

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

interface Handshake {
  readonly authorized: boolean;
  readonly error?: string;
  readonly serial?: string;
  readonly pin?: string;
}

/** A TLS 1.3 handshake that trusts only `ca` (no rejectUnauthorized: false anywhere). */
function handshake(
  port: number,
  ca: string | undefined,
  host: string,
  servername?: string,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      ...(ca === undefined ? {} : { ca: [ca] }),
      ...(servername === undefined ? {} : { servername }),
      minVersion: 'TLSv1.3',
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      resolve({
        authorized: socket.authorized,
        ...(cert === undefined ? {} : { serial: cert.serialNumber, pin: spkiPin(cert.toString()) }),
      });
      socket.destroy();
    });
    socket.once('error', (error: Error & { code?: string }) => {
      resolve({ authorized: false, error: `${error.code ?? ''} ${error.message}` });
      socket.destroy();
    });
  });
}

/** GET over HTTPS trusting only `ca`. */
function trustedGet(url: string, ca: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { ca: [ca], minVersion: 'TLSv1.3', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local CA: certificates', () => {
  it('makes a CA and a leaf that verifies against it, with the extensions browsers require', async () => {
    const dir = freshDir();
    const material = await loadOrCreateLocalCa(dir, { hostNames: ['Chat.Example.LAN', '192.168.1.20'] });
    expect(material.createdCa).toBe(true);
    expect(material.issuedLeaf).toBe(true);
    expect(material.createdKey).toBe(true);
    expect(material.caFile).toBe(join(dir, 'tls', 'ca.pem'));
    expect(material.names).toEqual(['localhost', '127.0.0.1', '::1', 'chat.example.lan', '192.168.1.20']);

    const ca = new X509Certificate(readFileSync(material.caFile));
    const leaf = new X509Certificate(readFileSync(join(dir, 'tls', 'cert.pem')));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(leaf.publicKey)).toBe(false);
    expect(ca.subject).toBe(`CN=Cloister local CA (${hostname().replace(/[^A-Za-z0-9._-]/g, '')})`);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const caDays = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / DAY;
    expect(caDays).toBeGreaterThanOrEqual(3649);
    expect(caDays).toBeLessThanOrEqual(3651);
    const leafDays = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / DAY;
    expect(leafDays).toBeLessThanOrEqual(398);
    expect(leafDays).toBeGreaterThan(LOCAL_LEAF_VALIDITY_DAYS - 1);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(leaf.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:chat.example.lan, IP Address:192.168.1.20',
    );
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');

    // The extensions, read with the certificate library.
    const pCa = new x509.X509Certificate(material.caCert);
    const pLeaf = new x509.X509Certificate(material.cert);
    const bc = pCa.getExtension<x509.BasicConstraintsExtension>('2.5.29.19');
    expect(bc?.critical).toBe(true);
    expect(bc?.ca).toBe(true);
    expect(bc?.pathLength).toBe(0);
    const caUsage = pCa.getExtension<x509.KeyUsagesExtension>('2.5.29.15');
    expect(caUsage?.critical).toBe(true);
    expect(caUsage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(pCa.getExtension('2.5.29.30')?.critical).toBe(true); // name constraints
    const leafUsage = pLeaf.getExtension<x509.KeyUsagesExtension>('2.5.29.15');
    expect(leafUsage?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(pLeaf.getExtension<x509.BasicConstraintsExtension>('2.5.29.19')?.ca).toBe(false);
    const ski = pCa.getExtension<x509.SubjectKeyIdentifierExtension>('2.5.29.14')?.keyId;
    expect(ski).toMatch(/^[0-9a-f]{40}$/);
    expect(pLeaf.getExtension<x509.AuthorityKeyIdentifierExtension>('2.5.29.35')?.keyId).toBe(ski);
    expect(pLeaf.getExtension<x509.SubjectKeyIdentifierExtension>('2.5.29.14')?.keyId).toMatch(
      /^[0-9a-f]{40}$/,
    );

    // Private keys readable by their owner only.
    expect(statSync(join(dir, 'tls', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it('reuses the CA and the leaf as they are when nothing is due', async () => {
    const dir = freshDir();
    const first = await loadOrCreateLocalCa(dir);
    const again = await loadOrCreateLocalCa(dir);
    expect(again.createdCa).toBe(false);
    expect(again.issuedLeaf).toBe(false);
    expect(again.cert).toBe(first.cert);
    expect(again.caCert).toBe(first.caCert);
  });

  it('renews the leaf over the same key within 30 days of its end (same pin, same CA), once', async () => {
    const dir = freshDir();
    const first = await loadOrCreateLocalCa(dir);
    const pin = spkiPin(first.cert);
    const day = (n: number) => () => Date.now() + n * DAY;
    const early = await loadOrCreateLocalCa(dir, { now: day(LOCAL_LEAF_VALIDITY_DAYS - 31) });
    expect(early.issuedLeaf).toBe(false);
    const due = await loadOrCreateLocalCa(dir, { now: day(LOCAL_LEAF_VALIDITY_DAYS - 29) });
    expect(due.issuedLeaf).toBe(true);
    expect(due.createdKey).toBe(false);
    expect(due.createdCa).toBe(false);
    expect(spkiPin(due.cert)).toBe(pin);
    expect(due.key).toBe(first.key);
    expect(due.caCert).toBe(first.caCert);
    expect(new X509Certificate(due.cert).serialNumber).not.toBe(new X509Certificate(first.cert).serialNumber);
    expect(due.leafNotAfter.getTime()).toBeGreaterThan(first.leafNotAfter.getTime());
    const after = await loadOrCreateLocalCa(dir, { now: day(LOCAL_LEAF_VALIDITY_DAYS - 28) });
    expect(after.issuedLeaf).toBe(false);
  });

  it('signs the key of an earlier self-signed certificate, so switching keeps the pin', async () => {
    const dir = freshDir();
    const selfSigned = await loadOrCreateSelfSigned(dir);
    const local = await loadOrCreateLocalCa(dir);
    expect(local.issuedLeaf).toBe(true);
    expect(local.createdKey).toBe(false);
    expect(spkiPin(local.cert)).toBe(spkiPin(selfSigned.cert));
    expect(new X509Certificate(local.cert).checkIssued(new X509Certificate(local.caCert))).toBe(true);
  });

  it('issues the leaf again for a name the CA permits but the leaf lacks', async () => {
    const dir = freshDir();
    await loadOrCreateLocalCa(dir, { hostNames: ['a.lan', 'b.lan'] });
    unlinkSync(join(dir, 'tls', 'cert.pem'));
    const fewer = await loadOrCreateLocalCa(dir, { hostNames: ['a.lan'] });
    expect(fewer.issuedLeaf).toBe(true);
    const more = await loadOrCreateLocalCa(dir, { hostNames: ['a.lan', 'b.lan'] });
    expect(more.issuedLeaf).toBe(true);
    expect(new X509Certificate(more.cert).checkHost('b.lan')).toBe('b.lan');
  });
});

describe('local CA: refusals', () => {
  it('refuses a name the CA was not made for, with what to do', async () => {
    const dir = freshDir();
    const first = await loadOrCreateLocalCa(dir);
    const error = await loadOrCreateLocalCa(dir, { hostNames: ['new.example.lan'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('localCa.hostNames');
    expect((error as Error).message).toMatch(
      /does not permit new\.example\.lan: to add names, delete .*ca\.pem and .*ca-key\.pem, start again with every name/,
    );
    expect((error as Error).message).toMatch(/localhost, 127\.0\.0\.1, ::1/);
    // Nothing changed on disk.
    expect(readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8')).toBe(first.cert);
  });

  it('refuses a CA key others may read, and a CA certificate without its key', async () => {
    const dir = freshDir();
    await loadOrCreateLocalCa(dir);
    chmodSync(join(dir, 'tls', 'ca-key.pem'), 0o644);
    const readable = await loadOrCreateLocalCa(dir).catch((e: unknown) => e);
    expect(readable).toBeInstanceOf(ValidationError);
    expect((readable as Error).message).toMatch(/ca-key\.pem: expected a file only its owner may read/);
    unlinkSync(join(dir, 'tls', 'ca-key.pem'));
    const alone = await loadOrCreateLocalCa(dir).catch((e: unknown) => e);
    expect(alone).toBeInstanceOf(ValidationError);
    expect((alone as Error).message).toMatch(/ca\.pem and its key, or neither/);
  });

  it('refuses a CA certificate whose key is another', async () => {
    const dir = freshDir();
    const other = freshDir();
    await loadOrCreateLocalCa(dir);
    await loadOrCreateLocalCa(other);
    writeFileSync(join(dir, 'tls', 'ca-key.pem'), readFileSync(join(other, 'tls', 'ca-key.pem')), {
      mode: 0o600,
    });
    const error = await loadOrCreateLocalCa(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/a CA certificate whose private key is/);
  });

  it.each([
    ['a wildcard', '*.example.lan'],
    ['a space', 'exa mple.lan'],
    ['an underscore', 'my_host'],
    ['an empty name', ''],
    ['the unspecified IPv4 address', '0.0.0.0'],
    ['the unspecified IPv6 address', '::'],
    ['a URL', 'https://example.lan'],
    ['a trailing dot', 'example.lan.'],
    ['a label over 63 characters', `${'a'.repeat(64)}.lan`],
  ])('refuses %s as a host name', (_what, name) => {
    expect(() => localCaNames([name])).toThrow(ValidationError);
  });

  it('canonicalises names and refuses more than 32', () => {
    expect(localCaNames(['EXAMPLE.lan', '[FE80:0:0:0:0:0:0:1]', '127.0.0.1', 'example.lan'])).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'example.lan',
      'fe80::1',
    ]);
    expect(() => localCaNames(Array.from({ length: 33 }, (_, i) => `h${i}.lan`))).toThrow(/at most 32/);
  });

  it('refuses localCa with tls, or a bad renewal interval, before creating anything', async () => {
    const tls = await loadOrCreateSelfSigned(freshDir());
    for (const options of [
      { localCa: true, tls },
      { localCa: { renewalCheckMs: 10 } },
      { localCa: { renewalCheckMs: 1.5e3 + 0.5 } },
      { localCa: { hostNames: ['*.lan'] } },
    ]) {
      const dataDir = join(scratch, `never-${counter++}`);
      const error = await createServer({ dataDir, logLevel: 'silent', ...options }).catch((e: unknown) => e);
      expect(error, JSON.stringify(options.localCa)).toBeInstanceOf(ValidationError);
      expect(() => statSync(dataDir)).toThrow();
    }
  });
});

describe('local CA: name constraints stop a leaked CA key', () => {
  it('a certificate minted with the CA key for another site is refused by a client that trusts the CA', async () => {
    const dir = freshDir();
    const material = await loadOrCreateLocalCa(dir);
    // The library path refuses at once.
    await expect(
      issueLocalLeaf(
        { cert: material.caCert, key: readFileSync(join(dir, 'tls', 'ca-key.pem'), 'utf8') },
        {
          hostNames: ['bank.example'],
        },
      ),
    ).rejects.toThrow(/does not permit bank\.example: make a new CA/);

    // The attacker signs by hand, ignoring the constraints.
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const caKeyPem = readFileSync(join(dir, 'tls', 'ca-key.pem'), 'utf8');
    const caKey = await webcrypto.subtle.importKey(
      'pkcs8',
      createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'der' }),
      alg,
      false,
      ['sign'],
    );
    const caCert = new x509.X509Certificate(material.caCert);
    const mint = async (names: { type: 'dns' | 'ip'; value: string }[]) => {
      const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: '0badc0de',
        subject: 'CN=attacker',
        issuer: caCert.subjectName,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 30 * DAY),
        publicKey: keys.publicKey,
        signingKey: caKey,
        signingAlgorithm: alg,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(names),
        ],
      });
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString(
        'base64',
      );
      return {
        cert: cert.toString('pem'),
        key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`,
      };
    };
    const serve = async (tls: { cert: string; key: string }) => {
      const server = createTlsServer({ ...tls, minVersion: 'TLSv1.3' }, (socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    };

    // The attack: a certificate for another site, signed by the CA key.
    const forged = await serve(await mint([{ type: 'dns', value: 'bank.example' }]));
    const forgedPort = (forged.address() as { port: number }).port;
    const refused = await handshake(forgedPort, material.caCert, '127.0.0.1', 'bank.example');
    expect(refused.authorized).toBe(false);
    expect(refused.error).toMatch(/permitted subtree violation/);
    forged.close();
    // An address outside the permitted ones is refused the same way.
    const forgedIp = await serve(await mint([{ type: 'ip', value: '127.0.0.2' }]));
    const ipRefused = await handshake(
      (forgedIp.address() as { port: number }).port,
      material.caCert,
      '127.0.0.1',
      undefined,
    );
    expect(ipRefused.authorized).toBe(false);
    expect(ipRefused.error).toMatch(/permitted subtree violation/);
    forgedIp.close();

    // The same hand-made path inside the constraints is accepted: the refusals above are the
    // constraints', not the harness's.
    const allowed = await serve(await mint([{ type: 'dns', value: 'localhost' }]));
    const accepted = await handshake(
      (allowed.address() as { port: number }).port,
      material.caCert,
      '127.0.0.1',
      'localhost',
    );
    expect(accepted).toMatchObject({ authorized: true });
    allowed.close();
  });
});

describe('local CA: a started server', () => {
  it('is trusted by a TLS client that trusts only the CA; restarts keep CA and pin; the running server renews its leaf', async () => {
    const dataDir = freshDir();
    const site = freshDir();
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>local</title>');
    const first = await startTestServer({
      dataDir,
      localCa: true,
      webApps: [{ prefix: '/app/', root: site }],
    });
    let caCert: string;
    let pin: string;
    try {
      expect(first.server.localCa?.createdCa).toBe(true);
      expect(first.server.localCa?.caFile).toBe(join(dataDir, 'tls', 'ca.pem'));
      expect(first.server.generatedCertificate).toBe(true);
      caCert = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
      expect(first.server.localCa?.caCert).toBe(caCert);
      pin = first.pin;
      const port = Number(new URL(first.url).port);
      // By name and by address, trusting only the CA.
      expect(await handshake(port, caCert, '127.0.0.1', 'localhost')).toMatchObject({
        authorized: true,
        pin,
      });
      expect(await handshake(port, caCert, '127.0.0.1')).toMatchObject({ authorized: true, pin });
      // Without the CA (the default roots), the same server is not trusted.
      expect((await handshake(port, undefined, '127.0.0.1', 'localhost')).authorized).toBe(false);
      // A name the certificate does not hold is refused even with the CA.
      expect((await handshake(port, caCert, '127.0.0.1', 'other.example')).authorized).toBe(false);
      expect(await trustedGet(first.url, caCert, '/health')).toEqual({
        status: 200,
        body: '{"status":"ok"}',
      });
      const page = await trustedGet(`https://localhost:${port}`, caCert, '/app/');
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>local</title>');
    } finally {
      await first.close();
    }

    // A restart reuses both: same CA file, same pin, nothing issued. Its clock is then moved past
    // the renewal point: the running server issues a new leaf over the same key.
    let clock = Date.now();
    const second = await startTestServer({ dataDir, localCa: { renewalCheckMs: 1000 }, now: () => clock });
    try {
      expect(second.pin).toBe(pin);
      expect(second.server.localCa).toMatchObject({ createdCa: false, issuedLeaf: false });
      expect(second.server.generatedCertificate).toBe(false);
      expect(readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8')).toBe(caCert);
      const port = Number(new URL(second.url).port);
      const before = await handshake(port, caCert, '127.0.0.1', 'localhost');
      expect(before).toMatchObject({ authorized: true, pin });
      clock += (LOCAL_LEAF_VALIDITY_DAYS - 10) * DAY;
      let after: Handshake = before;
      for (let i = 0; i < 50 && after.serial === before.serial; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        // The renewed leaf starts at the moved clock: read it without checking dates.
        after = await new Promise<Handshake>((resolve) => {
          const socket = connect({
            host: '127.0.0.1',
            port,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.3',
          });
          socket.once('secureConnect', () => {
            const cert = (socket as TLSSocket).getPeerX509Certificate();
            resolve(
              cert === undefined
                ? { authorized: false }
                : { authorized: false, serial: cert.serialNumber, pin: spkiPin(cert.toString()) },
            );
            socket.destroy();
          });
        });
      }
      expect(after.serial).not.toBe(before.serial);
      expect(after.pin).toBe(pin);
      const renewed = new X509Certificate(readFileSync(join(dataDir, 'tls', 'cert.pem')));
      expect(renewed.serialNumber).toBe(after.serial);
      expect(renewed.checkIssued(new X509Certificate(caCert))).toBe(true);
    } finally {
      await second.close();
    }
  });
});
