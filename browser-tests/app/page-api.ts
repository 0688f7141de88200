/**
 * What the test page offers its driver: the functions `window.cloisterPage` holds, with arguments
 * and results that cross the page boundary as JSON (bytes as base64).
 *
 * @module
 */

/**
 * One message as the page reports it (never the file key).
 *
 * @example
 * ```ts
 * const m: PageMessage = { id: 'a1b2@bob', from: 'bob', outgoing: false, kind: 'text', text: 'hi' };
 * ```
 */
export interface PageMessage {
  /** The client's local message id. */
  readonly id: string;
  /** The sender's user id. */
  readonly from: string;
  /** True when this device's user sent it. */
  readonly outgoing: boolean;
  /** The kind of the message body (`text`, `file`, ...). */
  readonly kind: string;
  /** The text of a text message. */
  readonly text?: string;
  /** The file name of a file message. */
  readonly fileName?: string;
  /** The plaintext size of a file message, in bytes. */
  readonly size?: number;
}

/**
 * A refusal as the page saw it: the error's class name, code and message.
 *
 * @example
 * ```ts
 * const e: PageError = { name: 'WrongPin', code: 'ERR_WRONG_PIN', message: 'the PIN is not correct' };
 * ```
 */
export interface PageError {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
}

/**
 * The result of unlocking: done, or refused with the error thrown.
 *
 * @example
 * ```ts
 * const r: PageUnlockResult = { ok: true, status: 'ready' };
 * ```
 */
export type PageUnlockResult =
  | { readonly ok: true; readonly status: string }
  | {
      readonly ok: false;
      readonly status: string;
      /** Whether the error is an instance of `WrongPin` from `@cloister/crypto`. */
      readonly wrongPin: boolean;
      readonly error: PageError;
    };

/**
 * The result of downloading a file and comparing it with the bytes expected.
 *
 * @example
 * ```ts
 * const r: PageDownloadResult = { size: 204803, equal: true };
 * ```
 */
export interface PageDownloadResult {
  /** Bytes downloaded and decrypted. */
  readonly size: number;
  /** True when every byte equals the expected bytes. */
  readonly equal: boolean;
}

/**
 * Every IndexedDB database of the page's origin, read raw (no Cloister code involved).
 *
 * @example
 * ```ts
 * const dump: PageIndexedDbDump = { databases: [], strings: [], binaries: [] };
 * ```
 */
export interface PageIndexedDbDump {
  /** Each database with its object stores and how many records each holds. */
  readonly databases: readonly {
    readonly name: string;
    readonly version: number;
    readonly stores: readonly { readonly name: string; readonly records: number }[];
  }[];
  /** Every string found in any key or value, at any depth. */
  readonly strings: readonly string[];
  /** Every binary found in any key or value (ArrayBuffer, typed array, DataView, Blob), base64. */
  readonly binaries: readonly string[];
}

/**
 * The functions of the test page (`window.cloisterPage`).
 *
 * @example
 * ```ts
 * const status = await page.evaluate((pin) => window.cloisterPage.open(pin), serverPin);
 * ```
 */
export interface PageApi {
  /**
   * Opens the client on the page's IndexedDB database against the page's own origin, pinning
   * `serverPin`; resolves the client's status (`unenrolled`, `locked`, ...).
   */
  open(serverPin: string): Promise<string>;
  /** Enrols with an enrolment code and a device PIN, then starts; resolves the user and device id. */
  enroll(code: string, pin: string): Promise<{ readonly userId: string; readonly deviceId: number }>;
  /** Unlocks with `pin`; a refusal is reported, not thrown. Starts the client when unlocked. */
  unlock(pin: string): Promise<PageUnlockResult>;
  /** Sends a text to `user`; resolves once it is stored and queued. */
  sendText(user: string, text: string): Promise<PageMessage>;
  /** Sends a file (bytes as base64) to `user`; resolves once it is uploaded and queued. */
  sendFile(user: string, bytesBase64: string, name: string): Promise<PageMessage>;
  /** Waits until the outbox has nothing left to send. */
  flush(): Promise<void>;
  /** Resolves the first received message that has `text` or `fileName`; rejects after `timeoutMs`. */
  waitForMessage(
    match: { readonly text?: string; readonly fileName?: string },
    timeoutMs: number,
  ): Promise<PageMessage>;
  /** Downloads the file of received message `id` and compares it with `expectedBase64`. */
  downloadAndCompare(id: string, expectedBase64: string): Promise<PageDownloadResult>;
  /** The 1:1 conversation with `user`, oldest first. */
  history(user: string): Promise<PageMessage[]>;
  /** Stops the client and closes its database. */
  close(): Promise<void>;
  /**
   * Writes a plaintext `text` and `bytesBase64` into a separate database `name` with no Cloister
   * code, so that a dump can be shown to find plaintext where there is some.
   */
  writeCanary(name: string, text: string, bytesBase64: string): Promise<void>;
  /** Reads every IndexedDB database of the origin (see {@link PageIndexedDbDump}). */
  dumpIndexedDb(): Promise<PageIndexedDbDump>;
}

/**
 * The global the page sets once its script has loaded.
 *
 * @example
 * ```ts
 * await page.waitForFunction((name) => name in globalThis, PAGE_GLOBAL);
 * ```
 */
export const PAGE_GLOBAL = 'cloisterPage';

declare global {
  interface Window {
    /** The test page's functions, set once its script has loaded ({@link PAGE_GLOBAL}). */
    cloisterPage?: PageApi;
  }
}
