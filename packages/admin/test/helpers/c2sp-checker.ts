/**
 * An independent checker of C2SP signed notes, tlog checkpoints and RFC 9162 Merkle proofs,
 * written only from the texts (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, RFC 9162 §2.1) to
 * check what the Cloister server answers. It imports no project code: only node:crypto.
 */
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';

/** Why the checker refused its input. */
export class CheckerError extends Error {}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  /** The first four bytes, big-endian. */
  readonly keyId: number;
  /** The bytes after the key ID. */
  readonly signature: Buffer;
}

/** A note split into its text and signature lines (nothing verified yet). */
export interface ParsedNote {
  /** The note text, including its final newline, not the blank line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A verifier key (Ed25519, type 0x01, is the only type this checker verifies). */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Buffer;
}

/** A checkpoint body. */
export interface CheckpointBody {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Buffer;
  readonly extensions: readonly string[];
}

const MAX_SIGNATURES = 100;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// "Unicode spaces": White_Space characters.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

function base64(text: string, what: string): Buffer {
  if (!STD_BASE64.test(text)) throw new CheckerError(`${what}: not standard base64 (RFC 4648 §4)`);
  return Buffer.from(text, 'base64');
}

function checkKeyName(name: string): void {
  if (name.length === 0) throw new CheckerError('key name: empty');
  if (UNICODE_SPACE.test(name) || name.includes('+')) throw new CheckerError('key name: space or plus');
}

/** Parses a signed note (bytes or text), refusing every malformed case the signed-note text lists. */
export function parseNote(input: string | Uint8Array): ParsedNote {
  let note: string;
  if (typeof input === 'string') {
    note = input;
  } else {
    try {
      note = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new CheckerError('not valid UTF-8');
    }
  }
  if (/[\ud800-\udfff]/u.test(note.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
    throw new CheckerError('not valid UTF-8 (lone surrogate)');
  for (const ch of note) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x20 && c !== 0x0a) throw new CheckerError('ASCII control character other than newline');
  }
  if (!note.endsWith('\n')) throw new CheckerError('does not end in a newline');
  // "the text is separated from the signatures by the last empty line in the note"
  const blank = note.lastIndexOf('\n\n');
  if (blank < 0) throw new CheckerError('no blank line before the signatures');
  const text = note.slice(0, blank + 1);
  const tail = note.slice(blank + 2);
  if (tail.length === 0) throw new CheckerError('no signature lines');
  const lines = tail.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new CheckerError('too many signatures');
  const signatures = lines.map((line) => {
    if (!line.startsWith('\u2014 ')) throw new CheckerError('signature line does not start with "— "');
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    if (space < 0) throw new CheckerError('signature line without a space after the key name');
    const name = rest.slice(0, space);
    checkKeyName(name);
    const sig = base64(rest.slice(space + 1), 'signature');
    if (sig.length < 4) throw new CheckerError('signature shorter than its key ID');
    return { name, keyId: sig.readUInt32BE(0), signature: sig.subarray(4) };
  });
  return { text, signatures };
}

/** Parses `<name>+<hex key ID>+<base64(type ‖ key)>`; checks an Ed25519 key's ID as recommended. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const m = /^([^+]*)\+([0-9a-f]{8})\+(.*)$/s.exec(vkey);
  if (m === null) throw new CheckerError('verifier key: not <name>+<hex id>+<base64>');
  const [, name, hex, material] = m as unknown as [string, string, string, string];
  checkKeyName(name);
  const raw = base64(material, 'verifier key');
  if (raw.length < 1) throw new CheckerError('verifier key: no type byte');
  const type = raw[0] as number;
  const publicKey = raw.subarray(1);
  const keyId = Number.parseInt(hex, 16);
  if (type === 0x01) {
    if (publicKey.length !== 32) throw new CheckerError('verifier key: Ed25519 keys are 32 bytes');
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, 0x01]), publicKey]))
      .digest()
      .readUInt32BE(0);
    if (id !== keyId)
      throw new CheckerError('verifier key: key ID is not SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]');
  }
  return { name, keyId, type, publicKey };
}

function ed25519Verify(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (signature.length !== 64) return false;
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]);
  return edVerify(null, message, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature);
}

/**
 * Verifies a note against known keys: signatures of unknown keys (name and ID not both matching)
 * are ignored; a known key's signature that fails rejects the note; no verified known signature
 * rejects it. Returns the note text.
 */
export function verifyNote(note: string | Uint8Array, keys: readonly string[]): string {
  const parsed = parseNote(note);
  const known = keys.map(parseVerifierKey);
  let verified = 0;
  for (const s of parsed.signatures) {
    const key = known.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (key === undefined) continue;
    if (key.type !== 0x01) throw new CheckerError('unsupported signature type');
    if (!ed25519Verify(key.publicKey, Buffer.from(parsed.text, 'utf8'), s.signature))
      throw new CheckerError(`signature of ${s.name} does not verify`);
    verified++;
  }
  if (verified === 0) throw new CheckerError('no signature from a known key');
  return parsed.text;
}

/** Parses a checkpoint note text (c2sp.org/tlog-checkpoint "Note text"). */
export function parseCheckpoint(text: string): CheckpointBody {
  if (!text.endsWith('\n')) throw new CheckerError('checkpoint: text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckerError('checkpoint: fewer than three lines');
  if (lines.some((l) => l.length === 0)) throw new CheckerError('checkpoint: empty line');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]*)$/.test(size))
    throw new CheckerError('checkpoint: tree size not decimal without leading zeroes');
  const rootBytes = base64(root, 'checkpoint root');
  if (rootBytes.length !== 32) throw new CheckerError('checkpoint: root is not a SHA-256 hash');
  return { origin, size: BigInt(size), root: rootBytes, extensions };
}

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 9162 §2.1.1 leaf hash. */
export function leafHash(data: Buffer): Buffer {
  return sha256(Buffer.from([0x00]), data);
}

/** RFC 9162 §2.1.1 interior hash. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(Buffer.from([0x01]), left, right);
}

/** RFC 9162 §2.1.1 MTH over leaf data. */
export function treeHash(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leafHash(leaves[0] as Buffer);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** RFC 9162 §2.1.3.2: verifies an inclusion proof. */
export function verifyInclusionProof(
  leafIndex: bigint,
  treeSize: bigint,
  hash: Buffer,
  path: readonly Buffer[],
  rootHash: Buffer,
): boolean {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1n;
  let r = hash;
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(rootHash);
}

/** RFC 9162 §2.1.4.2: verifies a consistency proof (first < second). */
export function verifyConsistencyProof(
  first: bigint,
  second: bigint,
  firstHash: Buffer,
  secondHash: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (first === second) return proof.length === 0 && firstHash.equals(secondHash);
  if (first === 0n || first > second) return false;
  if (proof.length === 0) return false;
  const path = (first & (first - 1n)) === 0n ? [firstHash, ...proof] : [...proof];
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return fr.equals(firstHash) && sr.equals(secondHash) && sn === 0n;
}
