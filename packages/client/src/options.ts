/**
 * What an app passes to {@link createClient} and gets back from the client's methods: options,
 * states, recipients, files and progress, and the check of the options.
 *
 * @module
 */
import { type CryptoProvider, type PinWrapOptions, ValidationError } from '@cloister/crypto';
import type { ManagedPolicyOverrides, OrganisationListVerifier, Suite } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import type { OutboxOptions } from './outbox/index.js';
import type { Transport } from './transport/common.js';
import { parsePin } from './transport/common.js';

export type { Recipient } from './core/outgoing.js';

/**
 * What creates a transport for the client. Default: the transport of the entry the client was
 * created with (`createNodeTransport` from `@cloister/client`, `createBrowserTransport` from
 * `@cloister/client/browser`).
 *
 * @example
 * ```ts
 * const transport: TransportFactory = (o) => createNodeTransport({ ...o, timeoutMs: 10_000 });
 * ```
 */
export type TransportFactory = (options: {
  readonly url: string;
  readonly pin: string;
  readonly credential?: Uint8Array;
}) => Transport;

/**
 * Options of {@link createClient}.
 *
 * @example
 * ```ts
 * import { createPGliteAdapter } from '@cloister/storage/sql';
 * const options: ClientOptions = {
 *   server: { url, pin },
 *   storage: await createPGliteAdapter({ dataDir: './cloister-data' }),
 *   maxPinAttempts: 5,
 * };
 * const client = await createClient(options);
 * ```
 */
export interface ClientOptions {
  /** The server's base URL and its public-key pin (`sha256/<base64>`), both required. */
  readonly server: { readonly url: string; readonly pin: string };
  /**
   * Where the client keeps its data: any storage adapter (PGlite in a directory for Node, IndexedDB
   * in a browser, memory for tests). The client encrypts every row except its vault.
   */
  readonly storage: StorageAdapter;
  /** The crypto provider; default the best one this runtime has (`getProvider`). */
  readonly provider?: CryptoProvider;
  /** How to reach the server; default the transport of the entry that created the client. */
  readonly transport?: TransportFactory;
  /** Suites this device supports, in preference order; default `['v2', 'static-v1']`. */
  readonly suites?: readonly Suite[];
  /** The clock (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
  /** Cost of the PIN wrap (scrypt); default the crypto package's default. */
  readonly pinWrap?: PinWrapOptions;
  /** Wrong PINs in a row after which the local data is destroyed; default 10. */
  readonly maxPinAttempts?: number;
  /**
   * The fewest characters (Unicode code points, after NFC normalisation) a new device PIN may
   * have, at `enroll` and `changePin`: an integer from {@link MIN_PIN_LENGTH_FLOOR} (4) to 64;
   * default {@link DEFAULT_MIN_PIN_LENGTH} (6). A shorter PIN is `ValidationError` and changes
   * nothing. `unlock` takes any PIN the data was protected with.
   */
  readonly minPinLength?: number;
  /** One-time prekeys uploaded per batch (default 50) and the count below which a batch is added (default 20). */
  readonly preKeys?: { readonly batch?: number; readonly refillBelow?: number };
  /** Retry schedule of the outbox (`client-outbox.md`); default 1 s doubling up to 5 min, 20 attempts. */
  readonly outbox?: Pick<OutboxOptions, 'backoff' | 'maxAttempts'>;
  /** How often expired rows are purged while running; default 60,000 ms. */
  readonly purgeIntervalMs?: number;
  /** Test hooks: `step(name)` is awaited at each durable step (see `spec/client.md` §7). */
  readonly hooks?: { readonly step?: (name: ClientStep) => void | Promise<void> };
  /**
   * Admission of devices by the organisation (zero-touch roll-out; `spec/device-lists.md` §5):
   * checks a signed device list whose signer is the organisation (signer kind 2). When absent and
   * the device pinned an organisation root at enrolment, the default is
   * `organisationListVerifier` for that root (an administrator or integration the root certified
   * must have signed it); with neither, such lists are refused and only a user's own devices
   * admit devices.
   */
  readonly organisationAdmission?: OrganisationListVerifier;
  /**
   * Narrowing overrides from the MDM configuration (`spec/managed-config.md` §3; set by
   * `clientOptionsFromManagedConfig`): they turn app-enforced restrictions off in the capability
   * map even where the signed policy allows them, and never allow what the policy forbids.
   */
  readonly managedPolicy?: ManagedPolicyOverrides;
}

/**
 * Points between durable steps at which the crash test stops the client.
 *
 * @example
 * ```ts
 * const seen: ClientStep[] = [];
 * const options: ClientOptions = { server: { url, pin }, storage: adapter, hooks: { step: (name) => void seen.push(name) } };
 * ```
 */
export type ClientStep =
  | 'enqueue:committed'
  | 'send:directory'
  | 'send:encrypted'
  | 'send:submitted'
  | 'send:marked'
  | 'receive:committed'
  | 'receive:acked';

/**
 * What {@link CloisterClient.sendFile} sends.
 *
 * @example
 * ```ts
 * const file: OutgoingFile = { data: bytes, name: 'scan.pdf', mediaType: 'application/pdf' };
 * await client.sendFile({ user: 'bob' }, file);
 * ```
 */
export interface OutgoingFile {
  /** The file: bytes, or a stream with its `size`. */
  readonly data: Uint8Array | ReadableStream<Uint8Array>;
  /** The file's length in bytes; required when `data` is a stream. */
  readonly size?: number;
  /** The file name shown to the recipient. */
  readonly name?: string;
  /** `type/subtype`; default `application/octet-stream`. */
  readonly mediaType?: string;
}

/**
 * Progress of a file transfer.
 *
 * @example
 * ```ts
 * const onProgress = (p: TransferProgress) => console.log(`${p.phase}: ${Math.round((100 * p.bytes) / p.total)}%`);
 * await client.sendFile({ user: 'bob' }, { data: bytes, name: 'a.bin' }, { onProgress });
 * ```
 */
export interface TransferProgress {
  /** What is being done: encrypting, uploading or downloading. */
  readonly phase: 'encrypt' | 'upload' | 'download';
  /** Bytes done so far in this phase. */
  readonly bytes: number;
  /** Bytes in all for this phase. */
  readonly total: number;
}

/**
 * Options of the send methods.
 *
 * @example
 * ```ts
 * const options: SendOptions = { expireTimerSeconds: 3600 };
 * await client.sendText({ user: 'bob' }, 'gone in an hour', options);
 * ```
 */
export interface SendOptions {
  /** Disappearing-message timer for this message; default the conversation's. */
  readonly expireTimerSeconds?: number;
  /** Called as a file is encrypted and uploaded (`sendFile` only). */
  readonly onProgress?: (progress: TransferProgress) => void;
}

/**
 * The client's state.
 *
 * @example
 * ```ts
 * const status: ClientStatus = client.status;
 * if (status === 'locked') await client.unlock('4711-2023');
 * ```
 */
export type ClientStatus = 'unenrolled' | 'locked' | 'ready' | 'wiped';

/**
 * What {@link CloisterClient.wipeStatus} reports.
 *
 * @example
 * ```ts
 * const s: WipeStatus = await client.wipeStatus();
 * if (s.wiped && !s.reported) console.log(`wipe ${s.commandId} not yet reported to the server`);
 * ```
 */
export type WipeStatus =
  | { readonly wiped: false }
  | {
      readonly wiped: true;
      readonly commandId: string;
      readonly wipedAt: number;
      readonly reported: boolean;
    };

/**
 * The fewest characters a new device PIN has unless `ClientOptions.minPinLength` says otherwise.
 *
 * @example
 * ```ts
 * const hint = `at least ${DEFAULT_MIN_PIN_LENGTH} characters`;
 * ```
 */
export const DEFAULT_MIN_PIN_LENGTH = 6;

/**
 * The smallest `ClientOptions.minPinLength` the client accepts.
 *
 * @example
 * ```ts
 * const options: Partial<ClientOptions> = { minPinLength: MIN_PIN_LENGTH_FLOOR }; // 4-digit PINs allowed
 * ```
 */
export const MIN_PIN_LENGTH_FLOOR = 4;

/** The largest `ClientOptions.minPinLength` the client accepts. */
const MIN_PIN_LENGTH_CEILING = 64;

/**
 * Checks a new device PIN against the minimum length: a string of at least `min` Unicode code
 * points after NFC normalisation (as the PIN wrap normalises it), else `ValidationError` naming
 * `field`. The PIN itself never appears in the message.
 *
 * @example
 * ```ts
 * checkNewPin('4711-2023', 6, 'pin'); // passes
 * checkNewPin('12', 6, 'pin'); // throws ValidationError: "pin: expected a device PIN of at least 6 characters"
 * ```
 */
export function checkNewPin(pin: unknown, min: number, field: string): void {
  if (typeof pin !== 'string') throw new ValidationError(field, 'a string');
  if ([...pin.normalize('NFC')].length < min) {
    throw new ValidationError(field, `a device PIN of at least ${min} characters`);
  }
}

/**
 * Checks the options of {@link createClient} and returns the suites to offer (deduplicated, in
 * order); throws `ValidationError` naming the first bad field.
 */
export function checkClientOptions(options: ClientOptions): readonly Suite[] {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if (typeof options.server !== 'object' || options.server === null) {
    throw new ValidationError('server', 'an object with url and pin');
  }
  if (typeof options.server.url !== 'string') throw new ValidationError('server.url', 'an https URL');
  if (typeof options.server.pin !== 'string' || options.server.pin.length === 0) {
    throw new ValidationError('server.pin', "the server's public-key pin (sha256/<base64>)");
  }
  if (typeof options.storage !== 'object' || options.storage === null) {
    throw new ValidationError('storage', 'a StorageAdapter');
  }
  const suites = options.suites ?? ['v2', 'static-v1'];
  if (!Array.isArray(suites) || suites.length === 0 || suites.some((s) => s !== 'v2' && s !== 'static-v1')) {
    throw new ValidationError('suites', "a non-empty list of 'v2' and 'static-v1'");
  }
  const minPin = options.minPinLength;
  if (
    minPin !== undefined &&
    (!Number.isSafeInteger(minPin) || minPin < MIN_PIN_LENGTH_FLOOR || minPin > MIN_PIN_LENGTH_CEILING)
  ) {
    throw new ValidationError(
      'minPinLength',
      `an integer from ${MIN_PIN_LENGTH_FLOOR} to ${MIN_PIN_LENGTH_CEILING}`,
    );
  }
  if (options.transport !== undefined && typeof options.transport !== 'function') {
    throw new ValidationError('transport', 'a function that creates a transport');
  }
  if (options.organisationAdmission !== undefined && typeof options.organisationAdmission !== 'function') {
    throw new ValidationError('organisationAdmission', 'a function');
  }
  // Fail early on a malformed pin (the transports parse it again, on every connection).
  parsePin(options.server.pin);
  return [...new Set(suites)];
}
