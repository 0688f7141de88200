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
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';

/** A certificate chain and its private key, PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/**
 * The pin of a certificate's public key: `sha256/` and the base64 of SHA-256(SubjectPublicKeyInfo
 * DER), the form clients are configured with.
 *
 * @example
 * ```ts
 * const pin = spkiPin(readFileSync('server.crt', 'utf8')); // "sha256/3q2+7w..."
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
