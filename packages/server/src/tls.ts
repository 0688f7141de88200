/**
 * TLS material of the server: a certificate supplied by the operator, or a self-signed one
 * generated on first start and kept in the data directory. Clients pin the server's public key
 * (the SHA-256 of its SubjectPublicKeyInfo), not the certificate, so renewing a certificate over
 * the same key keeps every client working.
 *
 * @module
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';

/**
 * A certificate chain and its private key, PEM.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const material: TlsMaterial = { cert: readFileSync('server.crt', 'utf8'), key: readFileSync('server.key', 'utf8') };
 * const server = await createServer({ tls: material });
 * ```
 */
export interface TlsMaterial {
  /** The certificate chain, PEM, the server's own certificate first. */
  readonly cert: string;
  /** The certificate's private key, PEM (never log it). */
  readonly key: string;
}

/**
 * The pin of a certificate's public key: `sha256/` and the base64 of SHA-256(SubjectPublicKeyInfo
 * DER), the form clients are configured with.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const pin = spkiPin(readFileSync('server.crt', 'utf8')); // → 'sha256/<base64 of 32 bytes>'
 * ```
 */
export function spkiPin(certPem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new ValidationError('tls.cert', 'a PEM certificate');
  }
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The canonical spelling of an IP address (`127.0.0.1`; IPv6 compressed and in lower case,
 * without brackets: `::1`), or `undefined` for anything that is not one.
 *
 * @example
 * ```ts
 * canonicalIp('0:0:0:0:0:0:0:1'); // '::1'
 * canonicalIp('localhost'); // undefined
 * ```
 */
export function canonicalIp(address: string): string | undefined {
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return new URL(`https://[${address}]/`).hostname.slice(1, -1);
  return undefined;
}

/**
 * The host names a certificate names in its subject alternative names, canonical: DNS names in
 * lower case (a wildcard keeps its `*.`), IP addresses as {@link canonicalIp} spells them. Entries
 * that are neither (or malformed) are left out.
 *
 * @example
 * ```ts
 * certificateHostNames(tls.cert); // ['localhost', '127.0.0.1', '::1']
 * ```
 */
export function certificateHostNames(certPem: string): readonly string[] {
  let san: string | undefined;
  try {
    san = new X509Certificate(certPem).subjectAltName;
  } catch {
    throw new ValidationError('tls.cert', 'a PEM certificate');
  }
  const names: string[] = [];
  for (const entry of (san ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) {
      const name = entry.slice(4).toLowerCase();
      const bare = name.startsWith('*.') ? name.slice(2) : name;
      if (DNS_NAME.test(bare)) names.push(name);
    } else if (entry.startsWith('IP Address:')) {
      const ip = canonicalIp(entry.slice(11));
      if (ip !== undefined) names.push(ip);
    }
  }
  return names;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * Generates a self-signed ECDSA P-256 certificate for `localhost`, `127.0.0.1` and `::1` (and any
 * extra host names), valid for 825 days.
 *
 * @example
 * ```ts
 * const { cert, key } = await generateSelfSigned(['chat.example.internal']);
 * ```
 */
export async function generateSelfSigned(hostNames: readonly string[] = []): Promise<TlsMaterial> {
  // The certificate library needs the Reflect metadata polyfill; load both only when a certificate
  // is generated, so that importing the server has no global side effect.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 825 * 86_400_000);
  const names = [
    { type: 'dns' as const, value: 'localhost' },
    { type: 'ip' as const, value: '127.0.0.1' },
    { type: 'ip' as const, value: '::1' },
    ...hostNames.map((value) => ({ type: 'dns' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=Cloister server',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', pkcs8) };
}

/**
 * The TLS material in `dir` (`tls/cert.pem`, `tls/key.pem`), generated and written (key file mode
 * 0600) on first use.
 *
 * @example
 * ```ts
 * const tls = await loadOrCreateSelfSigned('./cloister-data');
 * ```
 */
export async function loadOrCreateSelfSigned(
  dir: string,
): Promise<TlsMaterial & { readonly created: boolean }> {
  const tlsDir = join(dir, 'tls');
  const certPath = join(tlsDir, 'cert.pem');
  const keyPath = join(tlsDir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), created: false };
  }
  const material = await generateSelfSigned();
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, material.key, { mode: 0o600 });
  writeFileSync(certPath, material.cert, { mode: 0o644 });
  return { ...material, created: true };
}
