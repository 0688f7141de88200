/**
 * The audit log as an RFC 6962 / RFC 9162 Merkle tree, with C2SP signed checkpoints
 * (`spec/audit-log.md` §3). Leaf `i` (0-based) is record `seq = i + 1`; its leaf data is the
 * record's 32-byte chain hash, so the leaf hash is `SHA-256(0x00 ‖ hash_seq)` and an interior node
 * is `SHA-256(0x01 ‖ left ‖ right)`. Nothing is stored per leaf: the hash of every whole aligned
 * block of {@link TREE_BLOCK} leaves is cached in {@link AUDIT_TREE_TABLE} (records never change),
 * and a root or proof combines cached blocks with the leaves of at most one block and of the
 * partial last block, streamed 512 records at a time through the stack algorithm; no more than one
 * batch and `log2(n)` hashes are held in memory.
 *
 * Each tenant has its own log key: an Ed25519 key pair generated on first use and kept in the
 * server table {@link AUDIT_LOG_KEYS_TABLE} (sealed by encryption at rest like the tenants' signing
 * keys, never answered in private form), with the origin fixed at generation
 * (`cloister/audit/<tenant>/<16 hex of SHA-256(public key)>`; it is also the key name). The table
 * also keeps the last checkpoint the server signed (size, root, last chain hash) and how far the
 * chain check has got (per whole block, so an interrupted check resumes): a new checkpoint
 * is signed only when the chain verifies from there (from the start for the first one), still
 * links to that last chain hash, and the tree's prefix of the old size has the old root, so the
 * server never signs two inconsistent checkpoints of an unchanged key.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  equalBytes,
  StorageError,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import { decodeRecord, type Executor, encodeRecord } from '@cloister/storage';
import { type AuditLog, type AuditRecord, auditChainHash } from './audit.js';
import { ConflictError } from './errors.js';

/**
 * The server table of the audit log keys: per tenant (partition: the tenant id in UTF-8) a row
 * `key` (the Ed25519 key pair and origin) and a row `last` (the size and root of the last signed
 * checkpoint).
 *
 * @example
 * ```ts
 * console.log(AUDIT_LOG_KEYS_TABLE); // 'srv_audit_log_keys'
 * ```
 */
export const AUDIT_LOG_KEYS_TABLE = 'srv_audit_log_keys';

/**
 * The signed-note signature type of Ed25519 (C2SP signed-note): the byte after the newline in the
 * key ID input and the first byte of the verifier key's public key material.
 *
 * @example
 * ```ts
 * console.log(NOTE_ED25519); // 1
 * ```
 */
export const NOTE_ED25519 = 0x01;

/**
 * The start of every audit checkpoint origin (and log key name), then
 * `<tenant>/<16 hex of SHA-256(public key)>`: the first bytes of the note text the log key signs.
 *
 * @example
 * ```ts
 * const { origin } = await tree.logKey(tenant);
 * console.log(origin.startsWith(AUDIT_ORIGIN_PREFIX)); // true
 * ```
 */
export const AUDIT_ORIGIN_PREFIX = 'cloister/audit/';

/**
 * The server table caching the hashes of complete aligned subtrees of {@link TREE_BLOCK} leaves
 * (partition: the tenant id in UTF-8; sort: the block number as a big-endian u64). Records never
 * change, so a block's hash never does.
 *
 * @example
 * ```ts
 * console.log(AUDIT_TREE_TABLE); // 'srv_audit_tree'
 * ```
 */
export const AUDIT_TREE_TABLE = 'srv_audit_tree';

/**
 * Leaves per cached block of the audit tree (a power of two).
 *
 * @example
 * ```ts
 * console.log(TREE_BLOCK); // 1024
 * ```
 */
export const TREE_BLOCK = 1024;

const enc = new TextEncoder();
const KEY_ROW = enc.encode('key');
const LAST_ROW = enc.encode('last');
const CHECKED_ROW = enc.encode('checked');
const BATCH = 512;

/**
 * A leaf data source: yields the leaf data (chain hashes) of leaves `start..end-1` in order, and
 * throws `ConflictError('audit.chain')` when a record is missing.
 *
 * @example
 * ```ts
 * const source: LeafSource = async function* (start, end) {
 *   for (let i = start; i < end; i++) yield new Uint8Array(32).fill(i);
 * };
 * ```
 */
export type LeafSource = (start: number, end: number) => AsyncIterable<Uint8Array>;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * The RFC 6962 leaf hash `SHA-256(0x00 ‖ data)`.
 *
 * @example
 * ```ts
 * const leaf = await merkleLeafHash(provider, record.hash);
 * ```
 */
export function merkleLeafHash(provider: CryptoProvider, data: Uint8Array): Promise<Uint8Array> {
  return provider.sha256(concatBytes(Uint8Array.of(0), data));
}

/**
 * The RFC 6962 interior node hash `SHA-256(0x01 ‖ left ‖ right)`.
 *
 * @example
 * ```ts
 * const parent = await merkleNodeHash(provider, left, right);
 * ```
 */
export function merkleNodeHash(
  provider: CryptoProvider,
  left: Uint8Array,
  right: Uint8Array,
): Promise<Uint8Array> {
  return provider.sha256(concatBytes(Uint8Array.of(1), left, right));
}

/**
 * A streaming Merkle tree hasher (the stack algorithm): push leaf hashes in order, ask for the root
 * of what was pushed so far at any time. Holds `log2(n)` hashes.
 *
 * @example
 * ```ts
 * const tree = new MerkleStack(provider);
 * for (const r of records) await tree.push(await merkleLeafHash(provider, r.hash));
 * const root = await tree.root();
 * ```
 */
export class MerkleStack {
  readonly #provider: CryptoProvider;
  readonly #stack: { hash: Uint8Array; size: number }[] = [];
  #count = 0;

  /**
   * A hasher of an empty tree.
   *
   * @example
   * ```ts
   * const tree = new MerkleStack(provider);
   * ```
   */
  constructor(provider: CryptoProvider) {
    this.#provider = provider;
  }

  /**
   * How many leaves were pushed.
   *
   * @example
   * ```ts
   * console.log(tree.size);
   * ```
   */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds the next leaf hash.
   *
   * @example
   * ```ts
   * await tree.push(await merkleLeafHash(provider, record.hash));
   * ```
   */
  async push(leafHash: Uint8Array): Promise<void> {
    let top = { hash: leafHash, size: 1 };
    for (;;) {
      const last = this.#stack[this.#stack.length - 1];
      if (last === undefined || last.size !== top.size) break;
      this.#stack.pop();
      top = { hash: await merkleNodeHash(this.#provider, last.hash, top.hash), size: last.size * 2 };
    }
    this.#stack.push(top);
    this.#count++;
  }

  /**
   * The RFC 6962 root of the leaves pushed so far (`SHA-256("")` for none).
   *
   * @example
   * ```ts
   * const root = await tree.root();
   * ```
   */
  async root(): Promise<Uint8Array> {
    if (this.#stack.length === 0) return this.#provider.sha256(new Uint8Array(0));
    let hash = (this.#stack[this.#stack.length - 1] as { hash: Uint8Array }).hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) {
      hash = await merkleNodeHash(this.#provider, (this.#stack[i] as { hash: Uint8Array }).hash, hash);
    }
    return hash;
  }
}

/**
 * The RFC 9162 root (MTH) of the leaves `start..end-1` of a tree; proofs and roots are built on it.
 *
 * @example
 * ```ts
 * const hasher: RangeHasher = leafRangeHasher(provider, source);
 * const root = await hasher(0, 12);
 * ```
 */
export type RangeHasher = (start: number, end: number) => Promise<Uint8Array>;

/**
 * A {@link RangeHasher} that streams the range's leaf data from `source` through a
 * {@link MerkleStack}; `ConflictError('audit.chain')` when the source ends early.
 *
 * @example
 * ```ts
 * const root = await leafRangeHasher(provider, source)(0, 12);
 * ```
 */
export function leafRangeHasher(provider: CryptoProvider, source: LeafSource): RangeHasher {
  return async (start, end) => {
    const tree = new MerkleStack(provider);
    for await (const data of source(start, end)) await tree.push(await merkleLeafHash(provider, data));
    if (tree.size !== end - start)
      throw new ConflictError('audit.chain', 'the audit log has missing records');
    return tree.root();
  };
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The RFC 9162 §2.1.3 inclusion proof of leaf `index` in the tree of the first `size` leaves:
 * the sibling hashes from the leaf up. Asks `rangeRoot` for disjoint ranges only.
 *
 * @example
 * ```ts
 * const proof = await merkleInclusionProof(leafRangeHasher(provider, source), 5, 12);
 * ```
 */
export async function merkleInclusionProof(
  rangeRoot: RangeHasher,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    throw new ValidationError('index', 'a leaf index below the tree size');
  const proof: Uint8Array[] = [];
  let m = index;
  let start = 0;
  let n = size;
  while (n > 1) {
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      proof.push(await rangeRoot(start + k, start + n));
      n = k;
    } else {
      proof.push(await rangeRoot(start, start + k));
      m -= k;
      start += k;
      n -= k;
    }
  }
  return proof.reverse();
}

/**
 * The RFC 9162 §2.1.4 consistency proof between the trees of the first `from` and `to` leaves
 * (empty when `from` is 0 or equals `to`). Asks `rangeRoot` for disjoint ranges only.
 *
 * @example
 * ```ts
 * const proof = await merkleConsistencyProof(leafRangeHasher(provider, source), 7, 12);
 * ```
 */
export async function merkleConsistencyProof(
  rangeRoot: RangeHasher,
  from: number,
  to: number,
): Promise<Uint8Array[]> {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to))
    throw new ValidationError('from', 'a tree size not above `to`');
  if (from === 0 || from === to) return [];
  const proof: Uint8Array[] = [];
  let m = from;
  let start = 0;
  let n = to;
  let whole = true;
  for (;;) {
    if (m === n) {
      if (!whole) proof.push(await rangeRoot(start, start + n));
      break;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      proof.push(await rangeRoot(start + k, start + n));
      n = k;
    } else {
      proof.push(await rangeRoot(start, start + k));
      m -= k;
      start += k;
      n -= k;
      whole = false;
    }
  }
  return proof.reverse();
}

/**
 * A tenant's audit log key as outsiders see it.
 *
 * @example
 * ```ts
 * const { origin, verifierKey } = await tree.logKey(tenant);
 * ```
 */
export interface AuditLogKey {
  /** The checkpoint origin, also the key name: `cloister/audit/<tenant>/<16 hex>`. */
  readonly origin: string;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The 4-byte signed-note key ID: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`. */
  readonly keyId: Uint8Array;
  /** The note verifier key: `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`. */
  readonly verifierKey: string;
}

/**
 * A signed checkpoint.
 *
 * @example
 * ```ts
 * const { note, size, root } = await tree.checkpoint(tenant);
 * ```
 */
export interface AuditCheckpoint {
  /** The signed note (checkpoint text, blank line, signature line). */
  readonly note: string;
  /** The tree size (the number of records covered). */
  readonly size: number;
  /** The 32-byte root hash. */
  readonly root: Uint8Array;
}

/**
 * The Merkle view of the tenants' audit logs.
 *
 * @example
 * ```ts
 * const tree = createAuditTree(adapterExecutor(ctx.adapter), ctx.provider, ctx.stores.audit);
 * const { note } = await tree.checkpoint(tenant);
 * ```
 */
export interface AuditTree {
  /**
   * The tenant's log key (generated on first use).
   *
   * @example
   * ```ts
   * const { verifierKey } = await tree.logKey(tenant);
   * ```
   */
  logKey(tenant: TenantId): Promise<AuditLogKey>;
  /**
   * Signs a checkpoint of the whole log as it is now. `ConflictError('audit.chain')` when the chain
   * does not verify, `ConflictError('audit.checkpoint')` when the log is shorter than the last
   * signed checkpoint or its prefix of that size no longer has that checkpoint's root.
   *
   * @example
   * ```ts
   * const { note } = await tree.checkpoint(tenant);
   * ```
   */
  checkpoint(tenant: TenantId): Promise<AuditCheckpoint>;
  /**
   * The inclusion proof of leaf `index` (record `index + 1`) in the tree of size `size`.
   *
   * @example
   * ```ts
   * const hashes = await tree.inclusionProof(tenant, 0, 10);
   * ```
   */
  inclusionProof(tenant: TenantId, index: number, size: number): Promise<Uint8Array[]>;
  /**
   * The consistency proof between the trees of sizes `from` and `to`.
   *
   * @example
   * ```ts
   * const hashes = await tree.consistencyProof(tenant, 5, 10);
   * ```
   */
  consistencyProof(tenant: TenantId, from: number, to: number): Promise<Uint8Array[]>;
  /**
   * The number of records in the log now (the largest tree size a proof may name).
   *
   * @example
   * ```ts
   * const size = await tree.size(tenant);
   * ```
   */
  size(tenant: TenantId): Promise<number>;
}

interface KeyRow {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly origin: string;
}

/**
 * Creates the Merkle view of the audit logs in `audit`, keeping the log keys through `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const tree = createAuditTree(adapterExecutor(ctx.adapter), ctx.provider, ctx.stores.audit);
 * ```
 */
export function createAuditTree(run: Executor, provider: CryptoProvider, audit: AuditLog): AuditTree {
  function records(tenant: TenantId, fromSeq: number, toSeq: number): AsyncIterable<AuditRecord> {
    return (async function* () {
      let seq = fromSeq;
      while (seq <= toSeq) {
        const batch = await audit.list(tenant, { fromSeq: seq, toSeq, limit: BATCH });
        for (const r of batch) {
          if (r.seq !== seq) throw new ConflictError('audit.chain', `the audit log has no record ${seq}`);
          yield r;
          seq++;
        }
        if (batch.length === 0) throw new ConflictError('audit.chain', `the audit log has no record ${seq}`);
      }
    })();
  }

  const sourceOf =
    (tenant: TenantId): LeafSource =>
    (start, end) =>
      (async function* () {
        for await (const r of records(tenant, start + 1, end)) yield r.hash;
      })();

  function blockSort(block: number): Uint8Array {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(block));
    return out;
  }

  /**
   * The root of the perfect subtree over blocks `first..first+count-1` (count a power of two):
   * each block's hash from the cache, or computed from its records — and cached only when the
   * block lies within the first `verified` records, whose chain a checkpoint has checked.
   */
  async function blocksRoot(
    tenant: TenantId,
    first: number,
    count: number,
    verified: number,
  ): Promise<Uint8Array> {
    const partition = enc.encode(tenant);
    const stack = new MerkleStack(provider);
    const leaves = leafRangeHasher(provider, sourceOf(tenant));
    for (let from = first; from < first + count; from += BATCH) {
      const upto = Math.min(first + count, from + BATCH);
      const cached = await run(
        async (tx) => {
          const out: (Uint8Array | undefined)[] = [];
          for (let b = from; b < upto; b++) {
            const row = await tx.get(AUDIT_TREE_TABLE, partition, blockSort(b));
            const d =
              row === undefined
                ? undefined
                : (decodeRecord(row.value, AUDIT_TREE_TABLE).d as { hash?: unknown });
            out.push(d?.hash instanceof Uint8Array && d.hash.length === 32 ? d.hash : undefined);
          }
          return out;
        },
        { readOnly: true },
      );
      for (let b = from; b < upto; b++) {
        let hash = cached[b - from];
        if (hash === undefined) {
          hash = await leaves(b * TREE_BLOCK, (b + 1) * TREE_BLOCK);
          if ((b + 1) * TREE_BLOCK <= verified) {
            const value = encodeRecord(1, { hash });
            await run((tx) => tx.put(AUDIT_TREE_TABLE, { partition, sort: blockSort(b), value }));
          }
        }
        // A block's hash stands for its whole perfect subtree: combining equal-sized subtrees
        // with the node hash is what pushing leaf hashes does.
        await stack.push(hash);
      }
    }
    return stack.root();
  }

  /**
   * MTH of leaves `start..end-1` from cached blocks where the range covers whole aligned ones
   * (blocks within the first `verified` records are cached when computed).
   */
  const hasherOf =
    (tenant: TenantId, verified: number): RangeHasher =>
    async (start, end) => {
      const leaves = leafRangeHasher(provider, sourceOf(tenant));
      const mth = async (at: number, n: number): Promise<Uint8Array> => {
        if (n === 0) return provider.sha256(new Uint8Array(0));
        if (at % TREE_BLOCK === 0 && n % TREE_BLOCK === 0 && isPowerOfTwo(n / TREE_BLOCK))
          return blocksRoot(tenant, at / TREE_BLOCK, n / TREE_BLOCK, verified);
        if (n <= TREE_BLOCK) return leaves(at, at + n);
        const k = largestPowerOfTwoBelow(n);
        return merkleNodeHash(provider, await mth(at, k), await mth(at + k, n - k));
      };
      return mth(start, end - start);
    };

  /** How many records a checkpoint has checked the chain of (signed, or checked on the way). */
  async function verifiedSize(tenant: TenantId): Promise<number> {
    const [last, checked] = await run(
      async (tx) => [
        await tx.get(AUDIT_LOG_KEYS_TABLE, enc.encode(tenant), LAST_ROW),
        await tx.get(AUDIT_LOG_KEYS_TABLE, enc.encode(tenant), CHECKED_ROW),
      ],
      { readOnly: true },
    );
    return Math.max(
      last === undefined ? 0 : readLast(last.value).size,
      checked === undefined ? 0 : readChecked(checked.value).size,
    );
  }

  async function keyIdOf(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
    const digest = await provider.sha256(
      concatBytes(enc.encode(name), Uint8Array.of(0x0a, NOTE_ED25519), publicKey),
    );
    return digest.slice(0, 4);
  }

  function readKey(value: Uint8Array): KeyRow {
    const { v, d } = decodeRecord(value, AUDIT_LOG_KEYS_TABLE);
    const data = d as { privateKey?: unknown; publicKey?: unknown; origin?: unknown } | null;
    if (
      v !== 1 ||
      typeof data !== 'object' ||
      data === null ||
      !(data.privateKey instanceof Uint8Array) ||
      data.privateKey.length !== 32 ||
      !(data.publicKey instanceof Uint8Array) ||
      data.publicKey.length !== 32 ||
      typeof data.origin !== 'string'
    ) {
      throw new StorageError('audit log key damaged');
    }
    return { privateKey: data.privateKey, publicKey: data.publicKey, origin: data.origin };
  }

  async function keyOf(tenant: TenantId): Promise<KeyRow> {
    const partition = enc.encode(tenant);
    const found = await run((tx) => tx.get(AUDIT_LOG_KEYS_TABLE, partition, KEY_ROW), { readOnly: true });
    if (found !== undefined) return readKey(found.value);
    const pair = await provider.ed25519.generateKeyPair();
    try {
      const fingerprint = Buffer.from(await provider.sha256(pair.publicKey))
        .subarray(0, 8)
        .toString('hex');
      const origin = `${AUDIT_ORIGIN_PREFIX}${tenant}/${fingerprint}`;
      return await run(async (tx) => {
        await tx.put(
          AUDIT_LOG_KEYS_TABLE,
          {
            partition,
            sort: KEY_ROW,
            value: encodeRecord(1, {
              privateKey: pair.privateKey,
              publicKey: pair.publicKey,
              origin,
              createdAt: tx.now,
            }),
          },
          { ifAbsent: true },
        );
        const row = await tx.get(AUDIT_LOG_KEYS_TABLE, partition, KEY_ROW);
        if (row === undefined) throw new StorageError('audit log key missing');
        return readKey(row.value);
      });
    } finally {
      pair.privateKey.fill(0);
    }
  }

  async function publicOf(tenant: TenantId): Promise<AuditLogKey> {
    const key = await keyOf(tenant);
    key.privateKey.fill(0);
    const keyId = await keyIdOf(key.origin, key.publicKey);
    const verifierKey = `${key.origin}+${Buffer.from(keyId).toString('hex')}+${b64(concatBytes(Uint8Array.of(NOTE_ED25519), key.publicKey))}`;
    return { origin: key.origin, publicKey: key.publicKey, keyId, verifierKey };
  }

  async function size(tenant: TenantId): Promise<number> {
    return (await audit.head(tenant))?.seq ?? 0;
  }

  async function checkSize(tenant: TenantId, n: number, field: string): Promise<void> {
    if (n > (await size(tenant))) throw new ValidationError(field, 'a tree size not above the log size');
  }

  return {
    logKey: async (tenant) => publicOf(checkIdOf(tenant)),

    size: async (tenant) => size(checkIdOf(tenant)),

    async checkpoint(tenant) {
      const tid = checkIdOf(tenant);
      const partition = enc.encode(tid);
      const key = await keyOf(tid);
      try {
        const head = await audit.head(tid);
        const n = head?.seq ?? 0;
        const lastRow = await run((tx) => tx.get(AUDIT_LOG_KEYS_TABLE, partition, LAST_ROW), {
          readOnly: true,
        });
        const last = lastRow === undefined ? undefined : readLast(lastRow.value);
        const rewritten = () =>
          new ConflictError('audit.checkpoint', 'the audit log no longer extends its last signed checkpoint');
        if (last !== undefined && last.size > n)
          throw new ConflictError(
            'audit.checkpoint',
            'the audit log is shorter than its last signed checkpoint',
          );
        // The chain is checked from where the last check stopped: the last checkpoint, or the last
        // whole block an interrupted check got through (from the start for the first one).
        const checkedRow = await run((tx) => tx.get(AUDIT_LOG_KEYS_TABLE, partition, CHECKED_ROW), {
          readOnly: true,
        });
        const checked = checkedRow === undefined ? undefined : readChecked(checkedRow.value);
        const resume = checked !== undefined && checked.size > (last?.size ?? 0) ? checked : last;
        if (resume !== undefined && resume.size > n)
          throw new ConflictError('audit.checkpoint', 'the audit log is shorter than its checked part');
        const from = resume?.size ?? 0;
        let prev: Uint8Array = resume?.hash ?? new Uint8Array(32);
        // Blocks wholly inside the checked range are hashed on the way and cached.
        let block: MerkleStack | undefined;
        for await (const r of records(tid, from + 1, n)) {
          const { prevHash, hash, ...body } = r;
          if (!equalBytes(prevHash, prev)) {
            if (resume !== undefined && r.seq === from + 1) throw rewritten();
            throw new ConflictError('audit.chain', `the audit chain is broken at record ${r.seq}`);
          }
          if (!equalBytes(await auditChainHash(provider, prevHash, body), hash))
            throw new ConflictError('audit.chain', `the audit chain is broken at record ${r.seq}`);
          prev = hash;
          if ((r.seq - 1) % TREE_BLOCK === 0) block = new MerkleStack(provider);
          if (block !== undefined) {
            await block.push(await merkleLeafHash(provider, hash));
            if (block.size === TREE_BLOCK) {
              const value = encodeRecord(1, { hash: await block.root() });
              const sort = blockSort(r.seq / TREE_BLOCK - 1);
              const progress = encodeRecord(1, { size: r.seq, hash });
              await run(async (tx) => {
                await tx.put(AUDIT_TREE_TABLE, { partition, sort, value });
                await tx.put(AUDIT_LOG_KEYS_TABLE, { partition, sort: CHECKED_ROW, value: progress });
              });
              block = undefined;
            }
          }
        }
        if (head !== undefined && !equalBytes(prev, head.hash)) {
          if (resume !== undefined && n === from) throw rewritten();
          throw new ConflictError('audit.chain', 'the audit head does not match the last record');
        }
        // The old prefix is checked without caching what it computes; once it holds, the blocks of
        // the whole (now checked) log may be cached.
        if (
          last !== undefined &&
          last.size > 0 &&
          !equalBytes(await hasherOf(tid, 0)(0, last.size), last.root)
        )
          throw rewritten();
        const root = await hasherOf(tid, n)(0, n);
        const text = `${key.origin}\n${n}\n${b64(root)}\n`;
        const textBytes = enc.encode(text);
        const signature = await provider.ed25519.sign(key.privateKey, textBytes);
        const keyId = await keyIdOf(key.origin, key.publicKey);
        const note = `${text}\n\u2014 ${key.origin} ${b64(concatBytes(keyId, signature))}\n`;
        await run(async (tx) => {
          const row = await tx.get(AUDIT_LOG_KEYS_TABLE, partition, LAST_ROW, { forUpdate: true });
          const stored = row === undefined ? undefined : readLast(row.value);
          if (stored === undefined || stored.size < n) {
            await tx.put(AUDIT_LOG_KEYS_TABLE, {
              partition,
              sort: LAST_ROW,
              value: encodeRecord(1, { size: n, root, hash: prev, at: tx.now }),
            });
          }
        });
        return { note, size: n, root };
      } finally {
        key.privateKey.fill(0);
      }
    },

    async inclusionProof(tenant, index, n) {
      const tid = checkIdOf(tenant);
      await checkSize(tid, n, 'size');
      return merkleInclusionProof(hasherOf(tid, await verifiedSize(tid)), index, n);
    },

    async consistencyProof(tenant, from, to) {
      const tid = checkIdOf(tenant);
      await checkSize(tid, to, 'to');
      return merkleConsistencyProof(hasherOf(tid, await verifiedSize(tid)), from, to);
    },
  };
}

function checkIdOf(tenant: TenantId): TenantId {
  return tenantId(tenant);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function readChecked(value: Uint8Array): { size: number; hash: Uint8Array } {
  const { v, d } = decodeRecord(value, AUDIT_LOG_KEYS_TABLE);
  const data = d as { size?: unknown; hash?: unknown } | null;
  if (
    v !== 1 ||
    data === null ||
    typeof data !== 'object' ||
    typeof data.size !== 'number' ||
    !Number.isSafeInteger(data.size) ||
    !(data.hash instanceof Uint8Array) ||
    data.hash.length !== 32
  )
    throw new StorageError('audit log: chain check progress damaged');
  return { size: data.size, hash: data.hash };
}

function readLast(value: Uint8Array): { size: number; root: Uint8Array; hash: Uint8Array } {
  const { v, d } = decodeRecord(value, AUDIT_LOG_KEYS_TABLE);
  const data = d as { size?: unknown; root?: unknown; hash?: unknown } | null;
  if (
    v !== 1 ||
    data === null ||
    typeof data !== 'object' ||
    typeof data.size !== 'number' ||
    !Number.isSafeInteger(data.size) ||
    !(data.root instanceof Uint8Array) ||
    !(data.hash instanceof Uint8Array) ||
    data.hash.length !== 32
  )
    throw new StorageError('audit log: last checkpoint record damaged');
  return { size: data.size, root: data.root, hash: data.hash };
}
