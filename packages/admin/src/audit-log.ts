/**
 * `admin.audit`: the audit log for outsiders (`spec/audit-log.md`): the export in JSON lines, CEF
 * or OCSF with explicit gap records; the log's C2SP signed checkpoint, its RFC 9162 inclusion and
 * consistency proofs and its note verifier key. The verification helpers
 * ({@link verifyCheckpoint}, {@link verifyInclusion}, {@link verifyConsistency}) are pure: they
 * take nothing from the server but the bytes to check, so a witness can run them on checkpoints
 * it kept.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  equalBytes,
  getProvider,
  InvalidKeyError,
  ValidationError,
} from '@cloister/crypto';
import { type AdminCaller, queryParams } from './caller.js';

/**
 * An export format: `jsonl` (the record views), `cef` (ArcSight CEF:0 lines) or `ocsf` (OCSF 1.1
 * API Activity JSON lines).
 *
 * @example
 * ```ts
 * const format: AuditExportFormat = 'ocsf';
 * ```
 */
export type AuditExportFormat = 'jsonl' | 'cef' | 'ocsf';

/**
 * The record a JSON-lines export writes where sequence numbers `from..to` are missing.
 *
 * @example
 * ```ts
 * const gap: AuditGap = { type: 'gap', from: 7, to: 9 };
 * ```
 */
export interface AuditGap {
  /** Always `gap`. */
  readonly type: 'gap';
  /** The first missing sequence number. */
  readonly from: number;
  /** The last missing sequence number. */
  readonly to: number;
}

/**
 * What {@link AuditLogApi.export} takes.
 *
 * @example
 * ```ts
 * const options: AuditExportOptions = { format: 'cef', from: Date.now() - 86_400_000 };
 * ```
 */
export interface AuditExportOptions {
  /** The format (default `jsonl`). */
  readonly format?: AuditExportFormat;
  /** Earliest time (ms since the epoch), inclusive. */
  readonly from?: number;
  /** Latest time (ms since the epoch), inclusive. */
  readonly to?: number;
}

/**
 * An inclusion proof as the server answers it (hashes in standard base64).
 *
 * @example
 * ```ts
 * const proof: AuditInclusionProof = await admin.audit.inclusionProof(0, 10);
 * ```
 */
export interface AuditInclusionProof {
  /** The leaf index (the record's sequence number minus one). */
  readonly index: number;
  /** The tree size. */
  readonly size: number;
  /** The proof hashes, RFC 9162 order. */
  readonly hashes: readonly string[];
}

/**
 * A consistency proof as the server answers it (hashes in standard base64).
 *
 * @example
 * ```ts
 * const proof: AuditConsistencyProof = await admin.audit.consistencyProof(5, 10);
 * ```
 */
export interface AuditConsistencyProof {
  /** The older tree size. */
  readonly from: number;
  /** The newer tree size. */
  readonly to: number;
  /** The proof hashes, RFC 9162 order. */
  readonly hashes: readonly string[];
}

/**
 * The log's origin and note verifier key.
 *
 * @example
 * ```ts
 * const { origin, verifierKey }: AuditLogKey = await admin.audit.logKey();
 * ```
 */
export interface AuditLogKey {
  /** The checkpoint origin (also the key name). */
  readonly origin: string;
  /** `<name>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>`. */
  readonly verifierKey: string;
}

/**
 * A checkpoint whose signature verified.
 *
 * @example
 * ```ts
 * const { verifierKey } = await admin.audit.logKey();
 * const checkpoint: VerifiedCheckpoint = await verifyCheckpoint(await admin.audit.checkpoint(), verifierKey);
 * console.log(checkpoint.size);
 * ```
 */
export interface VerifiedCheckpoint {
  /** The origin line. */
  readonly origin: string;
  /** The tree size. */
  readonly size: number;
  /** The 32-byte root hash. */
  readonly root: Uint8Array;
  /** Extension lines (none from a Cloister server). */
  readonly extensions: readonly string[];
}

const enc = new TextEncoder();
const MAX_NOTE_BYTES = 64 * 1024;
const MAX_SIGNATURES = 64;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fromB64(text: string, field: string): Uint8Array {
  if (!B64.test(text)) throw new DecodeError(field, 'standard base64');
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function validName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

/**
 * A parsed note verifier key (Ed25519 only).
 *
 * @example
 * ```ts
 * const { name, keyId, publicKey } = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
 * ```
 */
export function parseVerifierKey(vkey: string): { name: string; keyId: Uint8Array; publicKey: Uint8Array } {
  if (typeof vkey !== 'string') throw new ValidationError('verifierKey', 'a string');
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new DecodeError('verifierKey', '<name>+<hex key ID>+<base64 key>');
  const name = vkey.slice(0, first);
  const hex = vkey.slice(first + 1, second);
  if (!validName(name)) throw new DecodeError('verifierKey.name', 'non-empty, no spaces or plus');
  if (!/^[0-9a-f]{8}$/.test(hex)) throw new DecodeError('verifierKey.keyId', '8 lowercase hex digits');
  const material = fromB64(vkey.slice(second + 1), 'verifierKey.key');
  if (material.length !== 33 || material[0] !== 0x01)
    throw new DecodeError('verifierKey.key', 'an Ed25519 key (type 0x01 and 32 bytes)');
  const keyId = new Uint8Array(4);
  for (let i = 0; i < 4; i++) keyId[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return { name, keyId, publicKey: material.slice(1) };
}

/**
 * Verifies a C2SP signed note holding a tlog checkpoint under `verifierKey` and parses it. The
 * note must be well formed (UTF-8 without control characters but newline, text ending in a newline,
 * a blank line, one or more `— <name> <base64>` lines); signatures of other keys are ignored; a
 * signature of this key (same name and key ID) must verify, and at least one must be present; the
 * checkpoint's origin must equal the key name. `DecodeError` for a malformed note,
 * `InvalidKeyError` for a missing or failing signature.
 *
 * @example
 * ```ts
 * const { verifierKey } = await admin.audit.logKey();
 * const checkpoint = await verifyCheckpoint(await admin.audit.checkpoint(), verifierKey);
 * console.log(checkpoint.size, checkpoint.root);
 * ```
 */
export async function verifyCheckpoint(
  note: string,
  verifierKey: string,
  provider?: CryptoProvider,
): Promise<VerifiedCheckpoint> {
  const p = provider ?? (await getProvider());
  const key = parseVerifierKey(verifierKey);
  const expectedId = (
    await p.sha256(concatBytes(enc.encode(key.name), Uint8Array.of(0x0a, 0x01), key.publicKey))
  ).slice(0, 4);
  if (!equalBytes(expectedId, key.keyId))
    throw new DecodeError('verifierKey.keyId', 'not the key ID of this key');
  if (typeof note !== 'string') throw new ValidationError('note', 'a string');
  if (enc.encode(note).length > MAX_NOTE_BYTES)
    throw new DecodeError('note', `at most ${MAX_NOTE_BYTES} bytes`);
  for (let i = 0; i < note.length; i++) {
    const c = note.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0xfffd)
      throw new DecodeError('note', 'UTF-8 without control characters other than newline');
  }
  if (!note.endsWith('\n')) throw new DecodeError('note', 'ends with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new DecodeError('note', 'a blank line before the signatures');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split('\n');
  if (sigLines.length === 0 || sigLines.length > MAX_SIGNATURES)
    throw new DecodeError('note.signatures', `1..${MAX_SIGNATURES} signature lines`);
  let verified = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (m === null) throw new DecodeError('note.signatures', 'lines of the form "— <name> <base64>"');
    const [, name, sigText] = m as unknown as [string, string, string];
    if (!validName(name)) throw new DecodeError('note.signatures', 'key names without spaces or plus');
    const sig = fromB64(sigText, 'note.signatures');
    if (sig.length < 5) throw new DecodeError('note.signatures', 'a key ID and a signature');
    if (name !== key.name || !equalBytes(sig.subarray(0, 4), key.keyId)) continue;
    if (sig.length !== 68 || !(await p.ed25519.verify(key.publicKey, enc.encode(text), sig.slice(4))))
      throw new InvalidKeyError('note.signature', 'does not verify');
    verified = true;
  }
  if (!verified) throw new InvalidKeyError('note.signature', 'no signature of the given key');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.some((l) => l.length === 0))
    throw new DecodeError('checkpoint', 'at least three non-empty lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new DecodeError('checkpoint.size', 'a decimal number without leading zeroes');
  const root = fromB64(rootText, 'checkpoint.root');
  if (root.length !== 32) throw new DecodeError('checkpoint.root', '32 bytes');
  if (origin !== key.name) throw new InvalidKeyError('checkpoint.origin', 'not the name of the given key');
  return { origin, size: Number(sizeText), root, extensions };
}

function hashesOf(proof: readonly (string | Uint8Array)[]): Uint8Array[] {
  if (!Array.isArray(proof)) throw new ValidationError('proof', 'an array of hashes');
  return proof.map((h, i) => {
    const bytes = typeof h === 'string' ? fromB64(h, `proof.${i}`) : h;
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32)
      throw new DecodeError(`proof.${i}`, '32 bytes');
    return bytes;
  });
}

function node(p: CryptoProvider, l: Uint8Array, r: Uint8Array): Promise<Uint8Array> {
  return p.sha256(concatBytes(Uint8Array.of(1), l, r));
}

/**
 * The leaf hash of an audit record: `SHA-256(0x00 ‖ chain hash)` (RFC 6962; the leaf data is the
 * record's 32-byte chain hash). `hash` may be the record view's base64url text.
 *
 * @example
 * ```ts
 * const { items } = await admin.searchAudit({ limit: 1 });
 * const leaf = await auditLeafHash(items[0]!.hash);
 * ```
 */
export async function auditLeafHash(
  hash: string | Uint8Array,
  provider?: CryptoProvider,
): Promise<Uint8Array> {
  const p = provider ?? (await getProvider());
  let bytes: Uint8Array;
  if (typeof hash === 'string') {
    if (!/^[A-Za-z0-9_-]{43}$/.test(hash)) throw new DecodeError('hash', '32 bytes in base64url');
    bytes = fromB64(`${hash.replace(/-/g, '+').replace(/_/g, '/')}=`, 'hash');
  } else bytes = hash;
  if (bytes.length !== 32) throw new DecodeError('hash', '32 bytes');
  return p.sha256(concatBytes(Uint8Array.of(0), bytes));
}

/**
 * Checks an RFC 9162 §2.1.3.2 inclusion proof: that the leaf with hash `leafHash` is leaf `index`
 * of the tree of size `size` whose root is `root`.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 *
 * const verifierKey = readFileSync('audit-log.vkey', 'utf8').trim(); // the key you pinned
 * const checkpoint = await verifyCheckpoint(await admin.audit.checkpoint(), verifierKey);
 * const { items } = await admin.searchAudit({ action: 'device.wipe', limit: 1 });
 * const record = items[0];
 * if (record !== undefined) {
 *   const { hashes } = await admin.audit.inclusionProof(record.seq - 1, checkpoint.size);
 *   const leaf = await auditLeafHash(record.hash);
 *   console.log(await verifyInclusion(leaf, record.seq - 1, checkpoint.size, hashes, checkpoint.root));
 * }
 * ```
 */
export async function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly (string | Uint8Array)[],
  root: Uint8Array,
  provider?: CryptoProvider,
): Promise<boolean> {
  const p = provider ?? (await getProvider());
  const path = hashesOf(proof);
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const h of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, h, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await node(p, r, h);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * Checks an RFC 9162 §2.1.4.2 consistency proof: that the tree of size `to` with root `toRoot`
 * extends the tree of size `from` with root `fromRoot`. Equal sizes need an empty proof and equal
 * roots; size 0 is consistent with any tree.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 *
 * const verifierKey = readFileSync('audit-log.vkey', 'utf8').trim(); // the key you pinned
 * const older = await verifyCheckpoint(readFileSync('checkpoint-kept.txt', 'utf8'), verifierKey);
 * const newer = await verifyCheckpoint(await admin.audit.checkpoint(), verifierKey);
 * const { hashes } = await admin.audit.consistencyProof(older.size, newer.size);
 * if (!(await verifyConsistency(older.size, newer.size, hashes, older.root, newer.root))) throw new Error('history rewritten');
 * ```
 */
export async function verifyConsistency(
  from: number,
  to: number,
  proof: readonly (string | Uint8Array)[],
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  provider?: CryptoProvider,
): Promise<boolean> {
  const p = provider ?? (await getProvider());
  const path = hashesOf(proof);
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to)) return false;
  if (from === to) return path.length === 0 && equalBytes(fromRoot, toRoot);
  if (from === 0) return path.length === 0;
  if (path.length === 0) return false;
  let power = 1;
  while (power < from) power *= 2;
  const c = power === from ? [fromRoot, ...path] : path;
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const [first, ...rest] = c;
  if (first === undefined) return false;
  let fr = first;
  let sr = first;
  for (const h of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await node(p, h, fr);
      sr = await node(p, h, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await node(p, sr, h);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equalBytes(fr, fromRoot) && equalBytes(sr, toRoot) && sn === 0;
}

async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new ValidationError('response', `at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(concatBytes(...chunks));
}

/**
 * The audit log routes of the admin API for outsiders: export formats, checkpoint, proofs, key.
 *
 * @example
 * ```ts
 * const note = await admin.audit.checkpoint();
 * ```
 */
export class AuditLogApi {
  readonly #caller: AdminCaller;

  /**
   * An area over the client's calls (the client builds it: `admin.audit`).
   *
   * @example
   * ```ts
   * const audit = new AuditLogApi(caller);
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * The signed checkpoint of the whole log (a C2SP signed note, as text). Check it with
   * {@link verifyCheckpoint} and a verifier key you obtained out of band.
   *
   * @example
   * ```ts
   * const note = await admin.audit.checkpoint();
   * ```
   */
  async checkpoint(): Promise<string> {
    const response = await this.#caller.send('GET', '/admin/v1/audit/checkpoint');
    return readText(response.body, MAX_NOTE_BYTES);
  }

  /**
   * The inclusion proof of leaf `index` (record `index + 1`) in the tree of size `size`.
   *
   * @example
   * ```ts
   * const { hashes } = await admin.audit.inclusionProof(0, 10);
   * ```
   */
  inclusionProof(index: number, size: number): Promise<AuditInclusionProof> {
    return this.#caller.call('GET', '/admin/v1/audit/proof/inclusion', {
      query: queryParams({ index, size }),
    });
  }

  /**
   * The consistency proof between the trees of sizes `from` and `to`.
   *
   * @example
   * ```ts
   * const { hashes } = await admin.audit.consistencyProof(5, 10);
   * ```
   */
  consistencyProof(from: number, to: number): Promise<AuditConsistencyProof> {
    return this.#caller.call('GET', '/admin/v1/audit/proof/consistency', {
      query: queryParams({ from, to }),
    });
  }

  /**
   * The log's origin and note verifier key, as the server states them (compare it with the key
   * you pinned before trusting it).
   *
   * @example
   * ```ts
   * const { verifierKey } = await admin.audit.logKey();
   * ```
   */
  logKey(): Promise<AuditLogKey> {
    return this.#caller.call('GET', '/admin/v1/audit/log-key');
  }

  /**
   * Streams the export as lines without their newline: JSON lines (records and gap records),
   * CEF lines or OCSF JSON lines, as the server wrote them (one line in memory at a time).
   *
   * @example
   * ```ts
   * for await (const line of admin.audit.export({ format: 'cef' })) process.stdout.write(`${line}\n`);
   * ```
   */
  async *export(options: AuditExportOptions = {}): AsyncGenerator<string> {
    const response = await this.#caller.send('GET', '/admin/v1/audit/export', {
      query: queryParams({ format: options.format, from: options.from, to: options.to }),
    });
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.length > 0) yield line;
        nl = pending.indexOf('\n');
      }
      if (pending.length > 1024 * 1024) throw new ValidationError('response', 'lines of at most 1 MiB');
    }
    pending += decoder.decode();
    if (pending.length > 0) yield pending;
  }
}
