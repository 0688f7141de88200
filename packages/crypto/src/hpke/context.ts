/**
 * HPKE encryption contexts (RFC 9180 section 5.2): a sender context seals and a recipient
 * context opens a sequence of messages under one key, with nonce = base_nonce XOR I2OSP(seq, 12);
 * both export secrets (section 5.3).
 */
import { checkBytes, checkInt, wipe } from '../bytes.js';
import { LimitError, UsageError } from '../errors.js';
import type { Aead, CryptoProvider } from '../provider.js';
import type { KeySchedule } from './key-schedule.js';
import { labeledExpand } from './labeled.js';
import { HPKE_NH, HPKE_NN, type HpkeAead, hpkeSuiteId, providerAead } from './suite.js';

const EMPTY = new Uint8Array(0);
/**
 * The first sequence number that may not be used: 2^96 - 1 (RFC 9180 section 5.2). A context
 * whose `sequenceNumber` reaches it refuses to seal or open with `ERR_LIMIT`.
 *
 * @example
 * ```ts
 * import { HPKE_SEQ_LIMIT } from '@cloister/crypto';
 * console.log(HPKE_SEQ_LIMIT === 2n ** 96n - 1n); // true
 * ```
 */
export const HPKE_SEQ_LIMIT = (1n << BigInt(8 * HPKE_NN)) - 1n;

/** What both context kinds can do. */
interface HpkeContextBase {
  /** The AEAD of the suite. */
  readonly aead: HpkeAead;
  /** The sequence number of the next message. */
  readonly sequenceNumber: bigint;
  /**
   * Export(exporter_context, L): `length` (1..8160) bytes bound to this context and
   * `exporterContext`.
   */
  export(exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
  /** Wipes the key, nonce and exporter secret; the context can no longer be used. */
  destroy(): void;
}

/**
 * A sender context: seals messages in order.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, setupHpkeSender, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const { enc, context } = await setupHpkeSender(provider, {
 *   aead: 'aes-256-gcm',
 *   recipientPublicKey: recipient.publicKey,
 * });
 * const first = await context.seal(utf8('one'));
 * ```
 */
export interface HpkeSenderContext extends HpkeContextBase {
  /**
   * Seals `plaintext` (authenticating `aad`) under the next sequence number; returns the
   * ciphertext with its 16-byte tag. Throws `LimitError` (`ERR_LIMIT`) when the sequence numbers
   * run out and `UsageError` for an export-only or destroyed context.
   *
   * @example
   * ```ts
   * const { enc, context } = await setupHpkeSender(provider, { aead: 'aes-256-gcm', recipientPublicKey: bob.publicKey });
   * const first = await context.seal(utf8('one'));
   * const second = await context.seal(utf8('two')); // open them in this order
   * ```
   */
  seal(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
}

/**
 * A recipient context: opens messages in the order they were sealed.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, setupHpkeRecipient, setupHpkeSender, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const sender = await setupHpkeSender(provider, { aead: 'aes-256-gcm', recipientPublicKey: recipient.publicKey });
 * const ct = await sender.context.seal(utf8('one'));
 * const context = await setupHpkeRecipient(provider, {
 *   aead: 'aes-256-gcm',
 *   enc: sender.enc,
 *   recipientPrivateKey: recipient.privateKey,
 * });
 * const pt = await context.open(ct);
 * ```
 */
export interface HpkeRecipientContext extends HpkeContextBase {
  /**
   * Opens `ciphertext` under the next sequence number; the number advances only on success.
   * Every failure is `DecryptionFailed`.
   *
   * @example
   * ```ts
   * const context = await setupHpkeRecipient(provider, { aead: 'aes-256-gcm', enc: bytes.subarray(0, 32), recipientPrivateKey: bob.privateKey });
   * const plaintext = await context.open(bytes.subarray(32));
   * ```
   */
  open(ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
}

/** One context's state; both context kinds are views of it. */
class ContextState {
  seq: bigint;
  destroyed = false;
  /** Operations run one at a time, in call order, so no two can use the same sequence number. */
  private tail: Promise<void> = Promise.resolve();
  readonly cipher: Aead | undefined;
  readonly suiteId: Uint8Array;

  constructor(
    readonly provider: CryptoProvider,
    readonly aead: HpkeAead,
    readonly secrets: KeySchedule,
    seq: bigint,
  ) {
    this.seq = seq;
    this.cipher = providerAead(provider, aead);
    this.suiteId = hpkeSuiteId(aead);
  }

  /** The AEAD and the nonce of the current sequence number, or the reason there is none. */
  next(): { cipher: Aead; nonce: Uint8Array } {
    this.alive();
    if (this.cipher === undefined) throw new UsageError('an export-only HPKE context cannot seal or open');
    if (this.seq >= HPKE_SEQ_LIMIT) throw new LimitError('HPKE sequence numbers exhausted');
    const nonce = this.secrets.baseNonce.slice();
    let s = this.seq;
    for (let i = HPKE_NN - 1; i >= 0 && s > 0n; i--) {
      nonce[i] = nonce[i]! ^ Number(s & 0xffn);
      s >>= 8n;
    }
    return { cipher: this.cipher, nonce };
  }

  /** Runs `op` after every operation started before it. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  alive(): void {
    if (this.destroyed) throw new UsageError('this HPKE context was destroyed');
  }

  async export(exporterContext: Uint8Array, length: number): Promise<Uint8Array> {
    checkBytes(exporterContext, 'exporterContext');
    checkInt(length, 'length', 1, 255 * HPKE_NH);
    this.alive();
    return labeledExpand(
      this.provider,
      this.suiteId,
      this.secrets.exporterSecret,
      'sec',
      exporterContext,
      length,
    );
  }

  destroy(): void {
    this.destroyed = true;
    wipe(this.secrets.key, this.secrets.baseNonce, this.secrets.exporterSecret);
  }
}

function checkAad(aad: Uint8Array | undefined): Uint8Array {
  return aad === undefined ? EMPTY : checkBytes(aad, 'aad');
}

/** A sender context over key-schedule output. `seq` is the first sequence number (0 normally). */
export function createSenderContext(
  provider: CryptoProvider,
  aead: HpkeAead,
  secrets: KeySchedule,
  seq = 0n,
): HpkeSenderContext {
  const state = new ContextState(provider, aead, secrets, seq);
  return Object.freeze({
    aead,
    get sequenceNumber() {
      return state.seq;
    },
    async seal(plaintext: Uint8Array, aad?: Uint8Array) {
      checkBytes(plaintext, 'plaintext');
      const ad = checkAad(aad);
      return state.serial(async () => {
        const { cipher, nonce } = state.next();
        const ct = await cipher.encrypt(state.secrets.key, nonce, plaintext, ad);
        state.seq += 1n;
        return ct;
      });
    },
    export: (exporterContext: Uint8Array, length: number) => state.export(exporterContext, length),
    destroy: () => state.destroy(),
  });
}

/** A recipient context over key-schedule output. `seq` is the first sequence number (0 normally). */
export function createRecipientContext(
  provider: CryptoProvider,
  aead: HpkeAead,
  secrets: KeySchedule,
  seq = 0n,
): HpkeRecipientContext {
  const state = new ContextState(provider, aead, secrets, seq);
  return Object.freeze({
    aead,
    get sequenceNumber() {
      return state.seq;
    },
    async open(ciphertext: Uint8Array, aad?: Uint8Array) {
      checkBytes(ciphertext, 'ciphertext');
      const ad = checkAad(aad);
      return state.serial(async () => {
        const { cipher, nonce } = state.next();
        const pt = await cipher.decrypt(state.secrets.key, nonce, ciphertext, ad);
        state.seq += 1n;
        return pt;
      });
    },
    export: (exporterContext: Uint8Array, length: number) => state.export(exporterContext, length),
    destroy: () => state.destroy(),
  });
}
