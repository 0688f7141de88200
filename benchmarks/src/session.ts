/**
 * Session benchmarks shared by every two-party messaging implementation: the extension point
 * for comparing Cloister's sessions with libsignal's.
 *
 * An implementation ({@link SessionImplementation}) sets up two parties, Alice and Bob, and
 * moves messages between them; {@link sessionCases} turns it into three cases:
 *
 * - `session/one-way/100B/<id>`: Alice encrypts a 100-byte message on an established session and
 *   Bob decrypts it (a symmetric ratchet step per message).
 * - `session/alternating/100B/<id>`: the same, but the sender alternates, so every message
 *   starts a new sending chain (a DH ratchet step per message).
 * - `session/handshake/<id>`: Alice processes Bob's published prekey bundle, encrypts her first
 *   message, and Bob decrypts it (which completes his side of the handshake).
 *
 * Each case measures encrypt + serialize + parse + decrypt, with in-memory stores. To add an
 * implementation (for example Cloister v2 under the node provider), write a file in `cases/`
 * that implements {@link SessionImplementation} with `id: 'cloister-node'` and returns
 * `sessionCases(impl, { baseline: LIBSIGNAL_SESSION_ID })`, then list it in `cases/index.ts`;
 * its cases become siblings of the libsignal ones, with those as baselines.
 */
import { equalBytes } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase, type Target } from './harness.js';
import { randomInput } from './inputs.js';

/** The `impl` segment of the libsignal reference cases: the baseline of the session cases. */
export const LIBSIGNAL_SESSION_ID = 'libsignal';

/** Plaintext length of the session cases: a short chat message. */
export const SESSION_MESSAGE_BYTES = 100;

/** One of the two parties. */
export type Party = 'alice' | 'bob';

/** Two parties with an established session in both directions. */
export interface EstablishedSession {
  /**
   * Encrypts `plaintext` as `from`, turns it into the bytes that would go on the wire, parses
   * them and decrypts them as the other party, updating both parties' stored state. Returns the
   * plaintext the other party decrypted.
   */
  send(from: Party, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

/** Everything one handshake needs, built before the timed part. */
export interface PreparedHandshake {
  /**
   * The timed part: Alice processes Bob's bundle and encrypts `plaintext` as her first message;
   * Bob decrypts it. Returns the plaintext Bob decrypted.
   */
  run(plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

/** A messaging session implementation under test. */
export interface SessionImplementation {
  /** The last segment of its case names, such as `libsignal` or `cloister-node`. */
  readonly id: string;
  /**
   * Untimed: creates Alice and Bob, runs a handshake and exchanges a message each way, so the
   * session is confirmed on both sides and later messages need no prekey material.
   */
  establish(): Promise<EstablishedSession>;
  /**
   * Untimed, called before every handshake iteration: fresh stores for both parties and a
   * bundle from Bob with a fresh one-time prekey (long-term keys may be reused).
   */
  prepareHandshake(): Promise<PreparedHandshake>;
}

/** Options of {@link sessionCases}. */
export interface SessionCaseOptions {
  /** The implementation id each case is compared with (its case of the same scenario). */
  readonly baseline?: string;
  /** A minimum ratio against the baseline, per scenario. */
  readonly minRatio?: Partial<Record<'one-way' | 'alternating' | 'handshake', number>>;
}

/** The session cases of one implementation. */
export function sessionCases(impl: SessionImplementation, options: SessionCaseOptions = {}): BenchCase[] {
  const size = `${SESSION_MESSAGE_BYTES}B`;
  const plaintext = randomInput(SESSION_MESSAGE_BYTES);
  const compare = (op: 'one-way' | 'alternating' | 'handshake', withSize: boolean) => {
    if (options.baseline === undefined) return {};
    const baseline = caseName({ area: 'session', op, impl: options.baseline, ...(withSize ? { size } : {}) });
    const minRatio = options.minRatio?.[op];
    const target: Target | undefined = minRatio === undefined ? undefined : { baseline, minRatio };
    return { baseline, ...(target ? { target } : {}) };
  };
  const conversation = (op: 'one-way' | 'alternating') =>
    defineCase({
      area: 'session',
      op,
      size,
      impl: impl.id,
      bytes: SESSION_MESSAGE_BYTES,
      ...compare(op, true),
      async prepare() {
        const session = await impl.establish();
        let from: Party = 'alice';
        const fn = () => {
          const sender = from;
          if (op === 'alternating') from = from === 'alice' ? 'bob' : 'alice';
          return session.send(sender, plaintext);
        };
        check(equalBytes(await fn(), plaintext), `${impl.id} ${op}: first message`);
        check(equalBytes(await fn(), plaintext), `${impl.id} ${op}: second message`);
        return { kind: 'async', fn };
      },
    });
  return [
    conversation('one-way'),
    conversation('alternating'),
    defineCase({
      area: 'session',
      op: 'handshake',
      impl: impl.id,
      ...compare('handshake', false),
      async prepare() {
        let prepared = await impl.prepareHandshake();
        check(equalBytes(await prepared.run(plaintext), plaintext), `${impl.id} handshake`);
        return {
          kind: 'async',
          beforeEach: async () => {
            prepared = await impl.prepareHandshake();
          },
          fn: () => prepared.run(plaintext),
        };
      },
    }),
  ];
}
