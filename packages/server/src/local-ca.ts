/**
 * A local certificate authority for the server, kept in its data directory: a CA certificate the
 * operator imports once into a browser or an OS store, and a leaf certificate it signed that the
 * server serves. Browsers refuse a self-signed leaf imported as a CA (`ERR_CERT_INVALID`); a real
 * CA and a leaf for `serverAuth` work everywhere without a browser flag.
 *
 * - CA: ECDSA P-256, `CN=Cloister local CA (<host name>)`, 10 years, basicConstraints CA:true
 *   with path length 0 (critical), keyUsage keyCertSign + cRLSign (critical), a subject key
 *   identifier, and name constraints (critical) that permit only the names it was made for, so
 *   that its key, should it leak, cannot mint a certificate for any other site.
 * - Leaf: over the same key as before (the pin is the leaf's SubjectPublicKeyInfo and stays), 397
 *   days (browsers accept at most 398), basicConstraints CA:false, keyUsage digitalSignature,
 *   extendedKeyUsage serverAuth, subjectAltName `localhost`, `127.0.0.1`, `::1` and the extra
 *   names, authority and subject key identifiers. It is issued again when it is within 30 days of
 *   its end, was not signed by this CA, lacks a name, or lives longer than browsers accept.
 *
 * Files in `<dataDir>/tls/`: `ca.pem` (import this), `ca-key.pem` (mode 0600, never leaves the
 * directory), `cert.pem` (the leaf) and `key.pem` (mode 0600, the leaf key, shared with the
 * self-signed mode so switching keeps the pin).
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import { canonicalIp, certificateHostNames, type TlsMaterial } from './tls.js';

/**
 * How long the local CA is valid, in days (10 years).
 *
 * @example
 * ```ts
 * console.log(LOCAL_CA_VALIDITY_DAYS); // 3650
 * ```
 */
export const LOCAL_CA_VALIDITY_DAYS = 3650;

/**
 * How long a leaf the local CA signs is valid, in days (browsers refuse more than 398).
 *
 * @example
 * ```ts
 * console.log(LOCAL_LEAF_VALIDITY_DAYS); // 397
 * ```
 */
export const LOCAL_LEAF_VALIDITY_DAYS = 397;

/**
 * A leaf this close to its end (in days) is issued again over the same key.
 *
 * @example
 * ```ts
 * console.log(LOCAL_LEAF_RENEW_DAYS); // 30
 * ```
 */
export const LOCAL_LEAF_RENEW_DAYS = 30;

/**
 * The names every local leaf holds; further names are added by `hostNames`.
 *
 * @example
 * ```ts
 * console.log(LOCAL_NAMES); // ['localhost', '127.0.0.1', '::1']
 * ```
 */
export const LOCAL_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

const DAY = 86_400_000;
const MAX_NAMES = 32;
const MAX_LEAF_DAYS = 398;
const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Options of {@link loadOrCreateLocalCa}, {@link generateLocalCa} and {@link issueLocalLeaf}.
 *
 * @example
 * ```ts
 * const options: LocalCaOptions = { hostNames: ['chat.example.lan', '192.168.1.20'] };
 * const material = await loadOrCreateLocalCa('./cloister-data', options);
 * ```
 */
export interface LocalCaOptions {
  /**
   * Further DNS names or IP addresses (besides `localhost`, `127.0.0.1`, `::1`) the leaf names
   * and the CA permits, such as `chat.example.lan` or `192.168.1.20`; at most 32, no wildcards.
   */
  readonly hostNames?: readonly string[];
  /** The clock (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
}

/**
 * What {@link loadOrCreateLocalCa} returns: the leaf's material to serve and the CA's.
 *
 * @example
 * ```ts
 * const material: LocalCaMaterial = await loadOrCreateLocalCa('./cloister-data');
 * if (material.createdCa) console.log(`import ${material.caFile} as a trusted CA`);
 * const server = await createServer({ dataDir: './cloister-data', tls: material });
 * ```
 */
export interface LocalCaMaterial extends TlsMaterial {
  /** The CA certificate, PEM: what browsers and OS stores import. */
  readonly caCert: string;
  /** The path of `ca.pem`. */
  readonly caFile: string;
  /** Whether the CA was made by this call (it must be imported again). */
  readonly createdCa: boolean;
  /** Whether a leaf was issued by this call (first start, renewal, or a new name). */
  readonly issuedLeaf: boolean;
  /** Whether the leaf key is new (a new pin); `false` when an existing key was reused. */
  readonly createdKey: boolean;
  /** When the leaf stops being valid. */
  readonly leafNotAfter: Date;
  /** The names the leaf holds, canonical. */
  readonly names: readonly string[];
}

/**
 * Checks and canonicalises host names for the local CA: `localhost`, `127.0.0.1`, `::1` first,
 * then the extra names in lower case (IPv6 compressed), without repeats. A name that is neither a
 * DNS name nor an IP address, a wildcard, an unspecified address or more than 32 names is a
 * `ValidationError` on `localCa.hostNames`.
 *
 * @example
 * ```ts
 * localCaNames(['Chat.Example.LAN', '192.168.1.20']);
 * // ['localhost', '127.0.0.1', '::1', 'chat.example.lan', '192.168.1.20']
 * ```
 */
export function localCaNames(hostNames: readonly string[] = []): readonly string[] {
  if (!Array.isArray(hostNames) || hostNames.length > MAX_NAMES) {
    throw new ValidationError('localCa.hostNames', `at most ${MAX_NAMES} DNS names or IP addresses`);
  }
  const names = [...LOCAL_NAMES];
  for (const given of hostNames) {
    const text = typeof given === 'string' ? given.trim().toLowerCase() : '';
    const ip = canonicalIp(text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text);
    const name = ip ?? (DNS_NAME.test(text) ? text : undefined);
    if (name === undefined || name === '0.0.0.0' || name === '::') {
      throw new ValidationError(
        'localCa.hostNames',
        'DNS names (letters, digits, hyphens, dots; no wildcard) or IP addresses other than 0.0.0.0 and ::',
      );
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

async function x509Library(): Promise<typeof import('@peculiar/x509')> {
  // The library needs the Reflect metadata polyfill; both load only when certificates are made.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x10; // positive, 16 bytes, no leading zero
  return bytes.toString('hex');
}

// ---- name constraints (RFC 5280 §4.2.1.10): DER written and read here --------------------------

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(':')) return Uint8Array.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

function ipText(address: Uint8Array): string {
  if (address.length === 4) return [...address].join('.');
  const groups: string[] = [];
  for (let i = 0; i < address.length; i += 2) {
    groups.push((((address[i] as number) << 8) | (address[i + 1] as number)).toString(16));
  }
  return canonicalIp(groups.join(':')) ?? groups.join(':');
}

/** The DER of a NameConstraints value whose permitted subtrees are exactly `names`. */
function nameConstraintsDer(names: readonly string[]): Uint8Array<ArrayBuffer> {
  const subtrees = names.map((name) => {
    const ip = canonicalIp(name);
    if (ip === undefined) return tlv(0x30, tlv(0x82, new TextEncoder().encode(name)));
    const address = ipBytes(ip);
    return tlv(0x30, tlv(0x87, concat([address, new Uint8Array(address.length).fill(0xff)])));
  });
  return tlv(0x30, tlv(0xa0, concat(subtrees)));
}

interface Permitted {
  readonly dns: readonly string[];
  readonly ip: readonly { readonly address: Uint8Array; readonly mask: Uint8Array }[];
}

/** Reads the permitted DNS and IP subtrees of a NameConstraints value (refuses anything else). */
function readNameConstraints(der: Uint8Array): Permitted {
  let offset = 0;
  const read = (end: number): { tag: number; start: number; end: number } => {
    if (offset + 2 > end) throw new Error('truncated');
    const tag = der[offset++] as number;
    let length = der[offset++] as number;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3 || offset + count > end) throw new Error('bad length');
      length = 0;
      for (let i = 0; i < count; i++) length = (length << 8) | (der[offset++] as number);
    }
    if (offset + length > end) throw new Error('truncated');
    return { tag, start: offset, end: offset + length };
  };
  const outer = read(der.length);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not a sequence');
  const dns: string[] = [];
  const ip: { address: Uint8Array; mask: Uint8Array }[] = [];
  while (offset < outer.end) {
    const subtrees = read(outer.end);
    if (subtrees.tag !== 0xa0) throw new Error('excluded subtrees are not understood');
    while (offset < subtrees.end) {
      const subtree = read(subtrees.end);
      if (subtree.tag !== 0x30) throw new Error('not a subtree');
      const base = read(subtree.end);
      const value = der.slice(base.start, base.end);
      if (base.tag === 0x82) dns.push(new TextDecoder().decode(value).toLowerCase());
      else if (base.tag === 0x87 && (value.length === 8 || value.length === 32)) {
        ip.push({ address: value.slice(0, value.length / 2), mask: value.slice(value.length / 2) });
      } else throw new Error('a name type that is not understood');
      offset = subtree.end;
    }
  }
  return { dns, ip };
}

function permits(permitted: Permitted, name: string): boolean {
  const ip = canonicalIp(name);
  if (ip === undefined) {
    return permitted.dns.some((base) => name === base || name.endsWith(`.${base.replace(/^\./, '')}`));
  }
  const address = ipBytes(ip);
  return permitted.ip.some(
    (c) =>
      c.address.length === address.length &&
      address.every(
        (byte, i) => (byte & (c.mask[i] as number)) === ((c.address[i] as number) & (c.mask[i] as number)),
      ),
  );
}

/**
 * Throws `ValidationError` on `localCa.hostNames` when the CA's name constraints (`der`, absent:
 * none) do not permit every name; the message lists what the CA permits and ends with `remedy`.
 */
function checkPermitted(der: ArrayBuffer | undefined, names: readonly string[], remedy: string): void {
  if (der === undefined) return;
  let permitted: Permitted;
  try {
    permitted = readNameConstraints(new Uint8Array(der));
  } catch {
    throw new ValidationError(
      'localCa.caCert',
      `name constraints of permitted DNS names and addresses; ${remedy}`,
    );
  }
  const refused = names.filter((name) => !permits(permitted, name));
  if (refused.length > 0) {
    const allowed = [...permitted.dns, ...permitted.ip.map((c) => ipText(c.address))].join(', ');
    throw new ValidationError(
      'localCa.hostNames',
      `names the local CA permits (${allowed}); it does not permit ${refused.join(', ')}: ${remedy}`,
    );
  }
}

// ---- keys ------------------------------------------------------------------------------------

interface EcKeys {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly pem: string;
}

async function newKeys(): Promise<EcKeys> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { privateKey: keys.privateKey, publicKey: keys.publicKey, pem: pem('PRIVATE KEY', pkcs8) };
}

async function importKeys(keyPem: string, field: string): Promise<EcKeys> {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ValidationError(field, 'a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ValidationError(field, 'an ECDSA P-256 private key');
  }
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    key.export({ type: 'pkcs8', format: 'der' }),
    ALG,
    true,
    ['sign'],
  );
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    createPublicKey(key).export({ type: 'spki', format: 'der' }),
    ALG,
    true,
    ['verify'],
  );
  return { privateKey, publicKey, pem: keyPem };
}

function caLabel(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '')
    .slice(0, 64);
  return `Cloister local CA (${host === '' ? 'localhost' : host})`;
}

/**
 * Makes a local certificate authority: an ECDSA P-256 key and a 10-year CA certificate named
 * `CN=Cloister local CA (<host name>)`, constrained to the local names and `hostNames`. Nothing is
 * written; {@link loadOrCreateLocalCa} keeps it in the data directory.
 *
 * @example
 * ```ts
 * const ca = await generateLocalCa({ hostNames: ['chat.example.lan'] });
 * const leaf = await issueLocalLeaf(ca, { hostNames: ['chat.example.lan'] });
 * ```
 */
export async function generateLocalCa(options: LocalCaOptions = {}): Promise<TlsMaterial> {
  const names = localCaNames(options.hostNames);
  const x509 = await x509Library();
  const keys = await newKeys();
  const notBefore = new Date((options.now ?? Date.now)() - 60_000);
  const notAfter = new Date(notBefore.getTime() + LOCAL_CA_VALIDITY_DAYS * DAY);
  const name = `CN=${caLabel()}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.Extension('2.5.29.30', true, nameConstraintsDer(names)),
    ],
  });
  return { cert: cert.toString('pem'), key: keys.pem };
}

/**
 * Issues a leaf certificate signed by `ca` for `localhost`, `127.0.0.1`, `::1` and `hostNames`,
 * valid 397 days (never past the CA's end), over the private key `key` (PEM) when given so the
 * pin stays, or over a new ECDSA P-256 key. The CA must permit every name.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const ca = { cert: readFileSync('cloister-data/tls/ca.pem', 'utf8'), key: readFileSync('cloister-data/tls/ca-key.pem', 'utf8') };
 * const leaf = await issueLocalLeaf(ca, { key: readFileSync('cloister-data/tls/key.pem', 'utf8') });
 * spkiPin(leaf.cert); // the same pin as before
 * ```
 */
export async function issueLocalLeaf(
  ca: TlsMaterial,
  options: LocalCaOptions & { readonly key?: string } = {},
): Promise<TlsMaterial> {
  const names = localCaNames(options.hostNames);
  const x509 = await x509Library();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKeys = await importKeys(ca.key, 'localCa.caKey');
  checkPermitted(caCert.getExtension('2.5.29.30')?.value, names, 'make a new CA and import it again');
  const leafKeys = options.key === undefined ? await newKeys() : await importKeys(options.key, 'localCa.key');
  const caSki = caCert.getExtension<import('@peculiar/x509').SubjectKeyIdentifierExtension>('2.5.29.14');
  const now = (options.now ?? Date.now)();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(
    Math.min(notBefore.getTime() + LOCAL_LEAF_VALIDITY_DAYS * DAY, caCert.notAfter.getTime()),
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=Cloister server',
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({
          type: canonicalIp(value) === undefined ? ('dns' as const) : ('ip' as const),
          value,
        })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      caSki === null
        ? await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey)
        : new x509.AuthorityKeyIdentifierExtension(caSki.keyId),
    ],
  });
  return { cert: cert.toString('pem'), key: leafKeys.pem };
}

/** Writes `text` to `path` through a new temporary file and a rename (never half written). */
function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode, flag: 'wx' });
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Why the leaf in `certPem` cannot be served as it is, or `undefined` when it can. */
function leafProblem(
  certPem: string,
  keyPem: string,
  ca: X509Certificate,
  names: readonly string[],
  now: number,
): string | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    return 'unreadable';
  }
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'not signed by the CA';
  if (!spki(leaf.publicKey).equals(spki(createPublicKey(keyPem)))) return 'not for the key';
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (from > now || to - now <= LOCAL_LEAF_RENEW_DAYS * DAY) return 'due';
  if (to - from > MAX_LEAF_DAYS * DAY) return 'too long for browsers';
  const held = certificateHostNames(certPem);
  if (names.some((name) => !held.includes(name))) return 'a name is missing';
  return undefined;
}

/**
 * The local CA and its leaf in `<dataDir>/tls/`, made on first use and reused afterwards. The CA
 * is made when `ca.pem` and `ca-key.pem` are both absent; the leaf is issued again (over the key
 * in `key.pem`, so the pin stays) when it is within 30 days of its end, was not signed by this CA,
 * lacks one of the names, or is valid longer than browsers accept. Refused with a
 * `ValidationError`: only one of the CA's two files, a CA key others may read, a CA that ends
 * within 30 days, a name the CA's constraints do not permit.
 *
 * @example
 * ```ts
 * const tls = await loadOrCreateLocalCa('./cloister-data', { hostNames: ['chat.example.lan'] });
 * console.log(`import ${tls.caFile}; clients pin ${spkiPin(tls.cert)}`);
 * ```
 */
export async function loadOrCreateLocalCa(
  dataDir: string,
  options: LocalCaOptions = {},
): Promise<LocalCaMaterial> {
  const names = localCaNames(options.hostNames);
  const now = (options.now ?? Date.now)();
  const tlsDir = join(dataDir, 'tls');
  const caFile = join(tlsDir, 'ca.pem');
  const caKeyFile = join(tlsDir, 'ca-key.pem');
  const certFile = join(tlsDir, 'cert.pem');
  const keyFile = join(tlsDir, 'key.pem');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });

  let ca: TlsMaterial;
  let createdCa = false;
  if (existsSync(caFile) !== existsSync(caKeyFile)) {
    throw new ValidationError(caKeyFile, `both ${caFile} and its key, or neither (a new CA is then made)`);
  }
  if (existsSync(caFile)) {
    if (process.platform !== 'win32' && (statSync(caKeyFile).mode & 0o077) !== 0) {
      throw new ValidationError(caKeyFile, 'a file only its owner may read (chmod 600 it)');
    }
    ca = { cert: readFileSync(caFile, 'utf8'), key: readFileSync(caKeyFile, 'utf8') };
  } else {
    ca = await generateLocalCa({ hostNames: names, now: () => now });
    writeAtomically(caKeyFile, ca.key, 0o600);
    writeAtomically(caFile, ca.cert, 0o644);
    createdCa = true;
  }
  let caCert: X509Certificate;
  try {
    caCert = new X509Certificate(ca.cert);
  } catch {
    throw new ValidationError(caFile, 'a PEM certificate');
  }
  if (!caCert.ca || !caCert.checkPrivateKey(createPrivateKey(ca.key))) {
    throw new ValidationError(caFile, `a CA certificate whose private key is ${caKeyFile}`);
  }
  if (Date.parse(caCert.validTo) - now <= LOCAL_LEAF_RENEW_DAYS * DAY) {
    throw new ValidationError(
      caFile,
      'a CA valid for more than 30 days: delete ca.pem and ca-key.pem to make a new one',
    );
  }

  const x509 = await x509Library();
  checkPermitted(
    new x509.X509Certificate(ca.cert).getExtension('2.5.29.30')?.value,
    names,
    `to add names, delete ${caFile} and ${caKeyFile}, start again with every name, and import the new CA (removing the old one)`,
  );

  const existingKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8') : undefined;
  const existingCert =
    existingKey !== undefined && existsSync(certFile) ? readFileSync(certFile, 'utf8') : undefined;
  if (
    existingKey !== undefined &&
    existingCert !== undefined &&
    leafProblem(existingCert, existingKey, caCert, names, now) === undefined
  ) {
    return {
      cert: existingCert,
      key: existingKey,
      caCert: ca.cert,
      caFile,
      createdCa,
      issuedLeaf: false,
      createdKey: false,
      leafNotAfter: new Date(new X509Certificate(existingCert).validTo),
      names,
    };
  }
  const leaf = await issueLocalLeaf(ca, {
    hostNames: names,
    now: () => now,
    ...(existingKey === undefined ? {} : { key: existingKey }),
  });
  if (existingKey === undefined) writeAtomically(keyFile, leaf.key, 0o600);
  writeAtomically(certFile, leaf.cert, 0o644);
  return {
    ...leaf,
    caCert: ca.cert,
    caFile,
    createdCa,
    issuedLeaf: true,
    createdKey: existingKey === undefined,
    leafNotAfter: new Date(new X509Certificate(leaf.cert).validTo),
    names,
  };
}
