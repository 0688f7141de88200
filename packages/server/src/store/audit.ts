/**
 * The audit log: per tenant an append-only, hash-chained sequence of records of administrative
 * and compliance actions (R31). Record `n` stores
 * `hash_n = SHA-256("cloister/v1/audit/chain" ‖ hash_{n-1} ‖ canonical(record_n))` with
 * `hash_0` = 32 zero bytes; a head row holds the last sequence number and hash. An append locks
 * the head row (`forUpdate`) and claims its sequence number with `ifAbsent`, retrying on the
 * next number if another instance won, so concurrent appends from several servers form one
 * chain. Audit rows never expire.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  equalBytes,
  StorageError,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, RecordValue, StorageTx } from '@cloister/storage';
import {
  checkId,
  checkInteger,
  checkJson,
  checkObject,
  checkText,
  checkTime,
  getRec,
  key,
  NO_SORT,
  type Rec,
  read,
  readUint,
  T,
  u64,
  write,
} from './_util.js';

/**
 * The label that starts every audit chain hash input (ASCII, no terminator).
 *
 * @example
 * ```ts
 * import { concatBytes, equalBytes, utf8 } from '@cloister/crypto';
 *
 * const [first] = await stores.audit.list(tenant, { fromSeq: 1, limit: 1 });
 * if (first !== undefined) {
 *   const { prevHash, hash, ...body } = first;
 *   const again = await provider.sha256(concatBytes(utf8(AUDIT_CHAIN_LABEL), prevHash, canonicalBytes(body)));
 *   console.log(equalBytes(again, hash)); // true
 * }
 * ```
 */
export const AUDIT_CHAIN_LABEL = 'cloister/v1/audit/chain';
/**
 * Largest encoded `details` of one audit record, in bytes.
 *
 * @example
 * ```ts
 * console.log(MAX_AUDIT_DETAILS_BYTES); // 16384
 * ```
 */
export const MAX_AUDIT_DETAILS_BYTES = 16 * 1024;

/**
 * How an audited action ended.
 *
 * @example
 * ```ts
 * const outcome: AuditOutcome = admin.disabled ? 'denied' : 'success';
 * await stores.audit.append(tenant, { actor: admin.id, action: 'user.block', target: user, outcome });
 * ```
 */
export type AuditOutcome = 'success' | 'failure' | 'denied';

const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];
const ACTION = /^[a-z][a-z0-9_.:-]{0,63}$/;
const LABEL_BYTES = new TextEncoder().encode(AUDIT_CHAIN_LABEL);
const GENESIS = new Uint8Array(32);

/**
 * What {@link AuditLog.append} records.
 *
 * @example
 * ```ts
 * const input: AuditInput = { actor: admin.id, action: 'device.block', target: 'alice/2', outcome: 'success', details: { reason: 'lost' } };
 * const record = await stores.audit.append(tenant, input); // record.seq: the next sequence number
 * ```
 */
export interface AuditInput {
  /** Who acted (an admin's user id, `system`, an integration id), 1..256 characters. */
  readonly actor: string;
  /** What was done, such as `user.block` (`a-z 0-9 _ . : -`, 1..64 characters). */
  readonly action: string;
  /** What it was done to, 0..512 characters. */
  readonly target: string;
  /** How the action ended. */
  readonly outcome: AuditOutcome;
  /** When, ms since the epoch (default: the store's clock). */
  readonly at?: number;
  /** Further JSON-like facts (no secrets), at most {@link MAX_AUDIT_DETAILS_BYTES} encoded. */
  readonly details?: { readonly [key: string]: RecordValue };
}

/**
 * A stored audit record.
 *
 * @example
 * ```ts
 * const [first]: AuditRecord[] = await stores.audit.list(tenant, { fromSeq: 1, limit: 1 });
 * if (first !== undefined) console.log(first.seq, first.actor, first.action, first.outcome);
 * ```
 */
export interface AuditRecord {
  /** The tenant whose log holds the record. */
  readonly tenant: TenantId;
  /** 1, 2, 3, … without gaps. */
  readonly seq: number;
  /** When the action happened, ms since the epoch. */
  readonly at: number;
  /** Who acted (an administrator id, `system`, `operator`, an integration id). */
  readonly actor: string;
  /** What was done, such as `user.block`. */
  readonly action: string;
  /** What it was done to (may be empty). */
  readonly target: string;
  /** How the action ended. */
  readonly outcome: AuditOutcome;
  /** Further JSON-like facts (`{}` when none). */
  readonly details: { readonly [key: string]: RecordValue };
  /** The previous record's hash (32 zero bytes for the first). */
  readonly prevHash: Uint8Array;
  /** This record's chain hash (32 bytes). */
  readonly hash: Uint8Array;
}

/**
 * Result of {@link AuditLog.verifyChain}.
 *
 * @example
 * ```ts
 * const check: AuditVerification = await stores.audit.verifyChain(tenant);
 * if (!check.ok) console.error('audit chain broken at', check.firstBadSeq);
 * ```
 */
export type AuditVerification =
  | {
      readonly ok: true;
      /** Number of records checked. */
      readonly count: number;
      /** The last hash (32 zero bytes for an empty log): publish it to anchor the chain. */
      readonly head: Uint8Array;
    }
  | {
      readonly ok: false;
      /** The first sequence number whose record is missing, altered or out of place. */
      readonly firstBadSeq: number;
    };

/**
 * A range of {@link AuditLog.list}.
 *
 * @example
 * ```ts
 * const range: AuditRange = { fromSeq: 100, toSeq: 199, limit: 100 };
 * const records = await stores.audit.list(tenant, range);
 * ```
 */
export interface AuditRange {
  /** First sequence number (default 1). */
  readonly fromSeq?: number;
  /** Last sequence number, inclusive (default: no bound). */
  readonly toSeq?: number;
  /** At most this many records (1..1000, default 100). */
  readonly limit?: number;
}

/**
 * The tenants' audit logs.
 *
 * @example
 * ```ts
 * await stores.audit.append(tenant, { actor: admin.id, action: 'user.block', target: 'alice', outcome: 'success' });
 * const check = await stores.audit.verifyChain(tenant);
 * if (!check.ok) console.error('audit chain broken at', check.firstBadSeq);
 * ```
 */
export interface AuditLog {
  /**
   * Appends a record with the next sequence number and its chain hash.
   *
   * @example
   * ```ts
   * const record = await stores.audit.append(tenant, { actor: admin.id, action: 'device.block', target: `${user}/1`, outcome: 'success' });
   * console.log(record.seq); // the next sequence number
   * ```
   */
  append(tenant: TenantId, input: AuditInput): Promise<AuditRecord>;
  /**
   * Records in sequence order.
   *
   * @example
   * ```ts
   * const records = await stores.audit.list(tenant, { fromSeq: 1, limit: 100 });
   * ```
   */
  list(tenant: TenantId, range?: AuditRange): Promise<AuditRecord[]>;
  /**
   * The last sequence number and hash, or `undefined` for an empty log.
   *
   * @example
   * ```ts
   * const head = await stores.audit.head(tenant);
   * if (head !== undefined) console.log(head.seq, Buffer.from(head.hash).toString('hex'));
   * ```
   */
  head(tenant: TenantId): Promise<{ readonly seq: number; readonly hash: Uint8Array } | undefined>;
  /**
   * Recomputes the whole chain against the stored hashes and the head.
   *
   * @example
   * ```ts
   * const check = await stores.audit.verifyChain(tenant);
   * if (check.ok) console.log(`${check.count} records, head ${Buffer.from(check.head).toString('hex')}`);
   * else console.error('audit chain broken at', check.firstBadSeq);
   * ```
   */
  verifyChain(tenant: TenantId): Promise<AuditVerification>;
}

/**
 * The canonical bytes of a JSON-like value: JSON with object keys sorted (by UTF-16 code
 * units), no whitespace, numbers as `JSON.stringify` writes them, byte strings as
 * `{"$b":"<base64>"}`. Used for the audit chain hash.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(canonicalBytes({ b: 1, a: [true, null] })); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalBytes(value: RecordValue): Uint8Array {
  return new TextEncoder().encode(canonical(value));
}

function canonical(value: RecordValue | undefined): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError('details', 'finite numbers');
    return JSON.stringify(value);
  }
  if (value instanceof Uint8Array) {
    let binary = '';
    for (let i = 0; i < value.length; i++) binary += String.fromCharCode(value[i] as number);
    return `{"$b":${JSON.stringify(btoa(binary))}}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(',')}]`;
  if (value === undefined) return 'null';
  const obj = value as { readonly [key: string]: RecordValue | undefined };
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

type Body = Omit<AuditRecord, 'prevHash' | 'hash'>;

function bodyValue(b: Body): RecordValue {
  return {
    tenant: b.tenant,
    seq: b.seq,
    at: b.at,
    actor: b.actor,
    action: b.action,
    target: b.target,
    outcome: b.outcome,
    details: b.details,
  };
}

async function chainHash(provider: CryptoProvider, prevHash: Uint8Array, body: Body): Promise<Uint8Array> {
  return provider.sha256(concatBytes(LABEL_BYTES, prevHash, canonicalBytes(bodyValue(body))));
}

/**
 * The chain hash of a record's `body` after `prevHash`:
 * `SHA-256("cloister/v1/audit/chain" ‖ prevHash ‖ canonical(body))`.
 *
 * @example
 * ```ts
 * import { equalBytes } from '@cloister/crypto';
 *
 * const [first] = await stores.audit.list(tenant, { fromSeq: 1, limit: 1 });
 * if (first !== undefined) {
 *   const { prevHash, hash, ...body } = first;
 *   console.log(equalBytes(await auditChainHash(provider, prevHash, body), hash)); // true
 * }
 * ```
 */
export function auditChainHash(
  provider: CryptoProvider,
  prevHash: Uint8Array,
  body: Omit<AuditRecord, 'prevHash' | 'hash'>,
): Promise<Uint8Array> {
  return chainHash(provider, prevHash, body);
}

function recordFrom(tenant: TenantId, r: Rec): AuditRecord {
  const outcome = r.str('outcome', 16);
  if (!OUTCOMES.includes(outcome as AuditOutcome))
    throw new DecodeError(`${r.path}.outcome`, 'unknown outcome');
  return {
    tenant,
    seq: r.int('seq', 1),
    at: r.int('at'),
    actor: r.str('actor', 256),
    action: r.str('action', 64),
    target: r.str('target', 512),
    outcome: outcome as AuditOutcome,
    details: r.obj('details').data as { [key: string]: RecordValue },
    prevHash: r.bytes('prevHash', 32, 32),
    hash: r.bytes('hash', 32, 32),
  };
}

function checkInput(value: unknown) {
  const o = checkObject(value, 'input');
  const action = o.action;
  if (typeof action !== 'string' || !ACTION.test(action)) {
    throw new ValidationError('action', 'a-z 0-9 _ . : - (1..64 characters, starting with a letter)');
  }
  if (!OUTCOMES.includes(o.outcome as AuditOutcome))
    throw new ValidationError('outcome', 'success, failure or denied');
  const details =
    o.details === undefined
      ? {}
      : (checkJson(checkObject(o.details, 'details'), 'details') as { [key: string]: RecordValue });
  if (write(details).length > MAX_AUDIT_DETAILS_BYTES) {
    throw new ValidationError('details', `at most ${MAX_AUDIT_DETAILS_BYTES} bytes encoded`);
  }
  return {
    actor: checkText(o.actor, 'actor', 256),
    action,
    target: checkText(o.target, 'target', 512, 0),
    outcome: o.outcome as AuditOutcome,
    at: o.at === undefined ? undefined : checkTime(o.at, 'at'),
    details,
  };
}

/**
 * Appends `inputs` to the audit log of `tenant` in the caller's transaction `tx`, in order, as
 * {@link AuditLog.append} would one after the other: the head row is read and locked once, the
 * records' sequence numbers and chain hashes (each record chained to the one before it) are
 * computed in memory, the records are written with one multi-row insert per 1000 (each claims
 * its sequence number with `ifAbsent`) and the head is written once. Every input is checked
 * before anything is written (`ValidationError` as `append`); a sequence number already taken
 * is a `StorageError` (the caller's transaction must then be abandoned, as some records may be
 * written). It does not enqueue webhook events (the audit store's `append` does): the caller
 * enqueues each record with `stores.integrations.enqueueEvents`.
 *
 * @example
 * ```ts
 * const records = await ctx.adapter.transaction((tx) =>
 *   appendAuditRecords(tx, ctx.provider, tenant, [
 *     { actor: 'adm_AAAAAAAAAAAAAAAAAAAAAA', action: 'user.block', target: 'alice', outcome: 'success' },
 *     { actor: 'adm_AAAAAAAAAAAAAAAAAAAAAA', action: 'user.block', target: 'bob', outcome: 'success' },
 *   ]),
 * );
 * console.log(records.map((r) => r.seq)); // two consecutive sequence numbers
 * ```
 */
export async function appendAuditRecords(
  tx: StorageTx,
  provider: CryptoProvider,
  tenant: TenantId,
  inputs: readonly AuditInput[],
): Promise<AuditRecord[]> {
  const tid = checkId(tenant, 'tenant', tenantId);
  if (!Array.isArray(inputs)) throw new ValidationError('inputs', 'an array of audit inputs');
  const checked = inputs.map((input) => checkInput(input));
  if (checked.length === 0) return [];
  const p = key(tid);
  const head = await getRec(tx, T.auditHead, p, NO_SORT, true);
  let seq = head === undefined ? 0 : head.int('seq', 1);
  let prevHash = head === undefined ? GENESIS : head.bytes('hash', 32, 32);
  const records: AuditRecord[] = [];
  for (const input of checked) {
    seq++;
    const body: Body = {
      tenant: tid,
      seq,
      at: input.at ?? tx.now,
      actor: input.actor,
      action: input.action,
      target: input.target,
      outcome: input.outcome,
      details: input.details,
    };
    const hash = await chainHash(provider, prevHash, body);
    records.push({ ...body, prevHash, hash });
    prevHash = hash;
  }
  for (let from = 0; from < records.length; from += 1000) {
    const rows = records.slice(from, from + 1000).map((r) => {
      const { prevHash: prev, hash, ...body } = r;
      const value = write({ ...(bodyValue(body) as Record<string, RecordValue>), prevHash: prev, hash });
      return { partition: p, sort: u64(r.seq), value };
    });
    const written = await tx.putMany(T.audit, rows, { ifAbsent: true });
    if (written.some((w) => !w)) throw new StorageError('audit log: a sequence number was already taken');
  }
  const last = records[records.length - 1] as AuditRecord;
  await tx.put(T.auditHead, {
    partition: p,
    sort: NO_SORT,
    value: write({ seq: last.seq, hash: last.hash }),
  });
  return records;
}

/** Attempts at claiming the next sequence number before giving up. */
const APPEND_ATTEMPTS = 16;

/**
 * Creates the audit log over `run`; `provider` computes the chain hashes.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const audit = createAuditLog(adapterExecutor(adapter), provider);
 * const head = await audit.head(tenant); // undefined for an empty log
 * ```
 */
export function createAuditLog(run: Executor, provider: CryptoProvider): AuditLog {
  async function append(
    tx: StorageTx,
    tenant: TenantId,
    input: ReturnType<typeof checkInput>,
  ): Promise<AuditRecord> {
    const p = key(tenant);
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      const head = await getRec(tx, T.auditHead, p, NO_SORT, true);
      const prevSeq = head === undefined ? 0 : head.int('seq', 1);
      const prevHash = head === undefined ? GENESIS : head.bytes('hash', 32, 32);
      const body: Body = {
        tenant,
        seq: prevSeq + 1,
        at: input.at ?? tx.now,
        actor: input.actor,
        action: input.action,
        target: input.target,
        outcome: input.outcome,
        details: input.details,
      };
      const hash = await chainHash(provider, prevHash, body);
      const value = write({ ...(bodyValue(body) as Record<string, RecordValue>), prevHash, hash });
      if (!(await tx.put(T.audit, { partition: p, sort: u64(body.seq), value }, { ifAbsent: true })))
        continue;
      await tx.put(T.auditHead, { partition: p, sort: NO_SORT, value: write({ seq: body.seq, hash }) });
      return { ...body, prevHash, hash };
    }
    throw new StorageError('audit log: could not claim a sequence number');
  }

  return {
    async append(tenant, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const checked = checkInput(input);
      return run((tx) => append(tx, tid, checked));
    },

    async list(tenant, range) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const r = range === undefined ? {} : checkObject(range, 'range');
      const from =
        r.fromSeq === undefined ? 1 : checkInteger(r.fromSeq, 'range.fromSeq', 1, Number.MAX_SAFE_INTEGER);
      const to =
        r.toSeq === undefined
          ? Number.MAX_SAFE_INTEGER
          : checkInteger(r.toSeq, 'range.toSeq', 0, Number.MAX_SAFE_INTEGER);
      const limit = r.limit === undefined ? 100 : checkInteger(r.limit, 'range.limit', 1, 1000);
      if (to < from) return [];
      return run(
        async (tx) => {
          const rows = await tx.list(T.audit, key(tid), {
            after: u64(from - 1),
            limit: Math.min(limit, to - from + 1),
          });
          return rows.map((row) => recordFrom(tid, read(row.value, T.audit)));
        },
        { readOnly: true },
      );
    },

    async head(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx) => {
          const h = await getRec(tx, T.auditHead, key(tid), NO_SORT);
          return h === undefined ? undefined : { seq: h.int('seq', 1), hash: h.bytes('hash', 32, 32) };
        },
        { readOnly: true },
      );
    },

    async verifyChain(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx): Promise<AuditVerification> => {
          const p = key(tid);
          let seq = 0;
          let prevHash: Uint8Array = GENESIS;
          for (;;) {
            const rows = await tx.list(T.audit, p, { after: u64(seq), limit: 500 });
            for (const row of rows) {
              const expected = seq + 1;
              if (row.sort.length !== 8 || readUint(row.sort, 0, 8) !== expected)
                return { ok: false, firstBadSeq: expected };
              let rec: AuditRecord;
              try {
                rec = recordFrom(tid, read(row.value, T.audit));
              } catch (e) {
                if (e instanceof DecodeError) return { ok: false, firstBadSeq: expected };
                throw e;
              }
              const { prevHash: storedPrev, hash, ...body } = rec;
              const computed = await chainHash(provider, prevHash, body);
              if (rec.seq !== expected || !equalBytes(storedPrev, prevHash) || !equalBytes(computed, hash)) {
                return { ok: false, firstBadSeq: expected };
              }
              seq = expected;
              prevHash = hash;
            }
            if (rows.length < 500) break;
          }
          const head = await getRec(tx, T.auditHead, p, NO_SORT);
          if (head === undefined)
            return seq === 0 ? { ok: true, count: 0, head: GENESIS } : { ok: false, firstBadSeq: seq + 1 };
          let headSeq: number;
          let headHash: Uint8Array;
          try {
            headSeq = head.int('seq', 1);
            headHash = head.bytes('hash', 32, 32);
          } catch (e) {
            if (e instanceof DecodeError) return { ok: false, firstBadSeq: seq + 1 };
            throw e;
          }
          if (headSeq > seq) return { ok: false, firstBadSeq: seq + 1 };
          if (headSeq < seq) return { ok: false, firstBadSeq: headSeq + 1 };
          if (!equalBytes(headHash, prevHash)) return { ok: false, firstBadSeq: seq };
          return { ok: true, count: seq, head: prevHash };
        },
        { readOnly: true },
      );
    },
  };
}
