/**
 * `cloister client …`: a device on the command line. `enroll` registers a new device with an
 * enrolment token and keeps its data in a directory (an embedded database under `db/`, the
 * server's URL and key pin in `client.json`); `send`, `send-file`, `listen` and `wipe-status`
 * then need only `--data-dir` and the PIN. The device-list and identity commands (`link-code`,
 * `link`, `link-status`, `safety-number`, `identity`) are in `identity.ts` and use the helpers
 * exported here.
 *
 * @module
 */
import { closeSync, createReadStream, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { ClientEvent, ClientMessage, CloisterClient, Recipient } from '@cloister/client';
import { CloisterError } from '@cloister/crypto';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  CLIENT_CONFIG_FILE,
  clientDir,
  failWiped,
  type PinOptionValues,
  parseServerPin,
  parseServerUrl,
  pinSource,
  printable,
  readClientConfig,
  readPin,
  transferProgress,
  unlockClient,
  withClientDir,
  writeClientConfig,
} from '../_client.js';
import { parseName, parsePath, parseUserId, positiveInteger } from '../_options.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

/**
 * Default time `client send` and `client send-file` wait for the server to take the message, in
 * milliseconds.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_SEND_TIMEOUT_MS); // 30000
 * ```
 */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;

const MAX_TIMEOUT_MS = 86_400_000;

/** The options every command on a client directory takes. */
export interface DirOptions extends PinOptionValues {
  readonly dataDir: string;
  readonly json?: boolean;
}

interface EnrollOptions extends DirOptions {
  readonly server: string;
  readonly serverPin: string;
  readonly token: string;
  readonly organisationRoot?: string;
  readonly user?: string;
  readonly displayName?: string;
  readonly suites?: readonly ('v2' | 'static-v1')[];
}

interface SendOptions extends DirOptions {
  readonly to?: string;
  readonly group?: string;
  readonly timeout?: number;
}

interface SendFileOptions extends SendOptions {
  readonly mediaType?: string;
  readonly name?: string;
}

interface ListenOptions extends DirOptions {
  readonly count?: number;
  readonly timeout?: number;
  readonly download?: string;
}

interface WipeStatusOptions extends DirOptions {
  readonly check?: boolean;
}

/**
 * What `client listen --json` prints for a device-list or identity event, one JSON object per line
 * between the messages ({@link ListenJson}); `event` tells the two apart.
 *
 * @example
 * ```ts
 * const line = JSON.parse(stdoutLine) as ListenJson | ListenEventJson;
 * if ('event' in line && line.event === 'identity-held') console.log(`${line.user} is held`);
 * ```
 */
export interface ListenEventJson {
  readonly event:
    | 'identity-held'
    | 'device-added'
    | 'device-removed'
    | 'device-pending'
    | 'device-linked'
    | 'device-list-refused'
    | 'undecryptable';
  /** When the event was seen, ISO 8601. */
  readonly at: string;
  readonly user: string;
  /** The device concerned (absent for `identity-held` and `device-list-refused`). */
  readonly device?: number;
  /** For `undecryptable`: always `device` (a sender not on its user's signed list). */
  readonly reason?: 'device';
}

/**
 * What `client listen --json` prints for each message, one JSON object per line.
 *
 * @example
 * ```ts
 * const line: ListenJson = JSON.parse(stdoutLine);
 * if (line.type === 'text') console.log(line.text);
 * ```
 */
export interface ListenJson {
  /** The message's local id: `<hex of the 16-byte content id>@<sender user id>`. */
  readonly id: string;
  /** The sender's user id. */
  readonly from: string;
  /** The sender's device id. */
  readonly device: number;
  /** The conversation's id. */
  readonly conversation: string;
  /** The sender's clock when it sent the message, ISO 8601. */
  readonly sentAt: string;
  /** True when this user sent it (from this or another of their devices). */
  readonly outgoing: boolean;
  /** The body's type: `text`, `file`, `receipt`, `group`, … */
  readonly type: string;
  /** The text of a `text` message. */
  readonly text?: string;
  /** A `file` message's file name (or null), plaintext size in bytes and media type. */
  readonly file?: { readonly name: string | null; readonly size: number; readonly mediaType: string };
  /** Where `--download` saved the file. */
  readonly savedTo?: string;
}

function parseToken(value: string): string {
  if (!/^[A-Za-z0-9_-]{43}(?:\.[A-Za-z0-9_-]{43})?$/.test(value)) {
    throw new InvalidArgumentError(
      'expected an enrolment code (87 characters: token.fingerprint) or a token (43 characters, base64url).',
    );
  }
  return value;
}

function parseOrganisationRoot(value: string): string {
  if (!/^cloister-root:v1:[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new InvalidArgumentError('expected a root fingerprint cloister-root:v1:<43 base64url characters>.');
  }
  return value;
}

function parseSuites(value: string): ('v2' | 'static-v1')[] {
  const suites = value.split(',').map((s) => s.trim());
  if (suites.length === 0 || suites.some((s) => s !== 'v2' && s !== 'static-v1')) {
    throw new InvalidArgumentError('expected a comma-separated list of v2 and static-v1.');
  }
  if (new Set(suites).size !== suites.length) throw new InvalidArgumentError('a suite is given twice.');
  return suites as ('v2' | 'static-v1')[];
}

function parseGroup(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value))
    throw new InvalidArgumentError('expected a group id (64 hex digits).');
  return value.toLowerCase();
}

function parseMediaType(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/.test(value)) {
    throw new InvalidArgumentError('expected type/subtype such as image/png (no parameters).');
  }
  return value.toLowerCase();
}

const parseTimeout = positiveInteger(MAX_TIMEOUT_MS);

function recipient(options: SendOptions): Recipient {
  if ((options.to === undefined) === (options.group === undefined)) {
    throw new UsageFailure('give exactly one of --to <user> and --group <id>');
  }
  return options.to !== undefined ? { user: options.to } : { group: options.group as string };
}

/** `--data-dir <dir>` (required), as every client command takes it. */
export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', "the client's directory (created by client enroll)")
    .argParser(parsePath)
    .makeOptionMandatory();
}

/** `--pin-file <file>`, as every client command that unlocks takes it. */
export function pinFileOption(): Option {
  return new Option(
    '--pin-file <file>',
    'read the device PIN from the first line of this file (else $CLOISTER_PIN, else a prompt)',
  ).argParser(parsePath);
}

/** Opens the directory's client, unlocks it and runs `fn`; wiped clients fail with a message. */
export async function withUnlocked<T>(
  options: DirOptions,
  io: ResolvedIO,
  fn: (client: CloisterClient) => Promise<T>,
): Promise<T> {
  const dir = clientDir(options.dataDir);
  const config = readClientConfig(dir);
  const pin = await readPin(options, io);
  return withClientDir(
    dir,
    config,
    async (client) => {
      await unlockClient(client, pin);
      try {
        return await fn(client);
      } catch (error) {
        throw explainLinkError(error);
      }
    },
    io.pinWrap,
  );
}

/**
 * The next step for a device that is not on its user's signed device list: another device of the
 * user, one that is linked, runs `cloister client link <code>`.
 */
export function linkNextStep(user: string, code: string): string {
  return `next: on another device of ${printable(user)} that is linked, run: cloister client link ${code} --data-dir <its directory>`;
}

/** Says what a typed device-list or identity error means on the command line; others pass through. */
export function explainLinkError(error: unknown): unknown {
  if (!(error instanceof CloisterError)) return error;
  const unknownUser = (error as CloisterError & { userId?: unknown }).userId;
  if (error.code === 'ERR_NOT_FOUND' && typeof unknownUser === 'string') {
    // UnknownRecipientError: the directory does not know the user; nothing was sent or queued.
    return new Error(`${printable(unknownUser)} is not a user of this organisation: nothing was sent`, {
      cause: error,
    });
  }
  if (error.code === 'ERR_DEVICE_NOT_LINKED') {
    return new Error(
      'this device is not linked yet: it receives nothing and cannot send until another device of its user links it (cloister client link-code prints the code for that device to use with cloister client link <code>)',
      { cause: error },
    );
  }
  if (error.code === 'ERR_IDENTITY_CHANGED') {
    const user = (error as CloisterError & { userId?: unknown }).userId;
    const who = typeof user === 'string' ? printable(user) : '<user>';
    return new Error(
      `the verified identity of ${who} changed: nothing is sent to ${who} until you accept it with cloister client identity ${who} --accept`,
      { cause: error },
    );
  }
  return error;
}

/**
 * Starts `client`; a wipe found at start (or on connecting) is a failure, and so is a server that
 * cannot be reached: the client would work offline and retry, but a command would only wait, so it
 * stops with the `NetworkError` (exit 3).
 */
async function startClient(client: CloisterClient): Promise<void> {
  let unreachable: Error | undefined;
  const off = client.on('connection', (e) => {
    if (e.state === 'offline' && e.error !== undefined) unreachable ??= e.error;
  });
  try {
    await client.start();
  } finally {
    off();
  }
  if (client.status === 'wiped') await failWiped(client);
  if (unreachable !== undefined) {
    await client.stop();
    throw unreachable;
  }
}

/**
 * Watches the outbox events while one message is sent: `wait(id)` flushes until a `sent` event
 * for that message id has arrived, and rejects on its `send-failed`, a wipe, or after `timeoutMs`.
 */
function deliveryWatch(client: CloisterClient, timeoutMs: number, to: Recipient) {
  const sent = new Map<string, number>();
  const failed = new Map<string, string>();
  const offSent = client.on('sent', (e) => {
    sent.set(e.messageId, (sent.get(e.messageId) ?? 0) + e.devices);
  });
  const offFailed = client.on('send-failed', (e) => {
    failed.set(e.messageId, e.reason);
  });
  return {
    async wait(id: string): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await client.flush();
        if (client.status === 'wiped') await failWiped(client);
        const failure = failed.get(id);
        if (failure !== undefined) throw new Error(`the message could not be sent: ${failure}`);
        const devices = sent.get(id);
        if (devices !== undefined) return devices;
        if (Date.now() >= deadline) {
          const why = await undeliverableReason(client, to);
          throw new Error(
            `the message was not delivered to the server within ${timeoutMs} ms${why}; it stays queued and is sent by the next client command`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now()))));
      }
    },
    dispose() {
      offSent();
      offFailed();
    },
  };
}

/** Why a message may be stuck in the outbox: this device is not linked, or the recipient is held. */
async function undeliverableReason(client: CloisterClient, to: Recipient): Promise<string> {
  const status = await client.linkStatus().catch(() => undefined);
  if (status !== undefined && !status.linked) {
    const code = await client.linkCode().catch(() => undefined);
    return ` (this device is not linked yet: another device of its user must run cloister client link ${code ?? '<code>'})`;
  }
  if ('user' in to) {
    const identity = await client.identityStatus(to.user).catch(() => undefined);
    if (identity?.held === true) {
      const who = printable(to.user);
      return ` (the verified identity of ${who} changed: accept it with cloister client identity ${who} --accept)`;
    }
  }
  return '';
}

function printSent(io: ResolvedIO, options: SendOptions, message: ClientMessage, devices: number): void {
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ id: message.id, conversation: message.conversationId, devices })}\n`);
    return;
  }
  if (devices === 0) io.stderr('warning: the recipient has no other device to deliver to\n');
  io.stdout(`sent ${message.id} to ${devices} device${devices === 1 ? '' : 's'}\n`);
}

async function enroll(options: EnrollOptions, io: ResolvedIO): Promise<void> {
  const dir = clientDir(options.dataDir);
  if (existsSync(join(dir, CLIENT_CONFIG_FILE))) {
    throw new UsageFailure(`--data-dir: ${dir} already holds an enrolled client (${CLIENT_CONFIG_FILE})`);
  }
  const pin = await readPin(options, io, 'choose a PIN for this device (at least 6 characters): ');
  const { checkNewPin, DEFAULT_MIN_PIN_LENGTH } = await import('@cloister/client');
  try {
    checkNewPin(pin, DEFAULT_MIN_PIN_LENGTH, 'pin');
  } catch {
    throw new UsageFailure(
      `the device PIN from ${pinSource(options)} is too short: it needs at least ${DEFAULT_MIN_PIN_LENGTH} characters`,
    );
  }
  const config = { version: 1, server: { url: options.server, pin: options.serverPin } } as const;
  const result = await withClientDir(
    dir,
    config,
    async (client) => {
      if (client.status !== 'unenrolled') {
        throw new Error(`the client database in ${dir} is already ${client.status}`);
      }
      const enrolled = await client.enroll(options.token, {
        pin,
        ...(options.organisationRoot === undefined ? {} : { organisationRoot: options.organisationRoot }),
        ...(options.user === undefined ? {} : { userId: options.user }),
        ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
      });
      // A later device of a user is enrolled but not on the user's signed device list: say what links it.
      let linked: boolean | null = null;
      let linkCode: string | undefined;
      try {
        linked = (await client.linkStatus()).linked;
        if (!linked) linkCode = await client.linkCode();
      } catch (error) {
        io.stderr(
          `warning: could not ask the server whether this device is linked (${error instanceof Error ? error.message : 'unknown error'}): run cloister client link-status\n`,
        );
      }
      return { ...enrolled, linked, linkCode };
    },
    io.pinWrap,
  );
  writeClientConfig(dir, config);
  if (options.json === true) {
    io.stdout(
      `${JSON.stringify({
        user: result.userId,
        device: result.deviceId,
        linked: result.linked,
        ...(result.linkCode === undefined ? {} : { linkCode: result.linkCode }),
      })}\n`,
    );
    return;
  }
  io.stdout(`enrolled user ${result.userId}, device ${result.deviceId}\n`);
  if (result.linkCode !== undefined) {
    io.stdout(
      `not linked yet: this device receives nothing and cannot send until another device of ${printable(result.userId)} links it\n`,
    );
    io.stdout(`link code: ${result.linkCode}\n`);
    io.stdout(`${linkNextStep(result.userId, result.linkCode)}\n`);
  }
}

async function send(words: readonly string[], options: SendOptions, io: ResolvedIO): Promise<void> {
  const to = recipient(options);
  const text = words.join(' ');
  if (text.trim().length === 0) throw new UsageFailure('the message text is empty');
  await withUnlocked(options, io, async (client) => {
    await startClient(client);
    const watch = deliveryWatch(client, options.timeout ?? DEFAULT_SEND_TIMEOUT_MS, to);
    try {
      const message = await client.sendText(to, text);
      const devices = await watch.wait(message.id);
      printSent(io, options, message, devices);
    } finally {
      watch.dispose();
      await client.stop();
    }
  });
}

async function sendFile(path: string, options: SendFileOptions, io: ResolvedIO): Promise<void> {
  const to = recipient(options);
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new UsageFailure(`${path} is not a regular file`);
    size = stats.size;
  } catch (error) {
    if (error instanceof UsageFailure) throw error;
    throw new UsageFailure(`cannot read the file ${path}`);
  }
  if (size === 0) throw new UsageFailure(`${path} is empty: there is nothing to send`);
  const name = options.name ?? basename(path);
  await withUnlocked(options, io, async (client) => {
    await startClient(client);
    const watch = deliveryWatch(client, options.timeout ?? DEFAULT_SEND_TIMEOUT_MS, to);
    const progress = await transferProgress(io, name);
    try {
      const data = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array> &
        NodeWebReadableStream<Uint8Array>;
      const message = await client.sendFile(
        to,
        { data, size, name, ...(options.mediaType === undefined ? {} : { mediaType: options.mediaType }) },
        { onProgress: progress.update },
      );
      progress.stop();
      const devices = await watch.wait(message.id);
      printSent(io, options, message, devices);
    } finally {
      progress.stop();
      watch.dispose();
      await client.stop();
    }
  });
}

/** The device-list and identity events `listen` prints. */
const LISTENED_EVENTS = [
  'identity-held',
  'device-added',
  'device-removed',
  'device-pending',
  'device-linked',
  'device-list-refused',
  'undecryptable',
] as const;

/** The `listen` line of a device-list or identity event, or undefined for one it does not print. */
function eventLine(event: ClientEvent, self: string, at: string): ListenEventJson | undefined {
  switch (event.type) {
    case 'identity-held':
    case 'device-list-refused':
      return { event: event.type, at, user: event.userId };
    case 'device-added':
    case 'device-removed':
      return { event: event.type, at, user: event.userId, device: event.deviceId };
    case 'device-pending':
    case 'device-linked':
      return { event: event.type, at, user: self, device: event.deviceId };
    case 'undecryptable':
      // Only the device-list reason: the sender's device is not on its user's signed list.
      if (event.reason !== 'device' || event.from === undefined) return undefined;
      return {
        event: event.type,
        at,
        user: event.from.userId,
        device: event.from.deviceId,
        reason: 'device',
      };
    default:
      return undefined;
  }
}

/** The human form of an event line: `<at> <user>[/<device>]: [<event>: what it means]`. */
function describeEvent(line: ListenEventJson): string {
  const user = printable(line.user);
  const subject = line.device === undefined ? user : `${user}/${line.device}`;
  let what: string;
  switch (line.event) {
    case 'identity-held':
      what = `the verified identity of ${user} changed; nothing is sent to ${user} and their new devices' messages wait until cloister client identity ${user} --accept`;
      break;
    case 'device-added':
      what = `on ${user}'s signed device list now; the safety number with ${user} changed`;
      break;
    case 'device-removed':
      what = `no longer on ${user}'s signed device list`;
      break;
    case 'device-pending':
      what = `enrolled but not on ${user}'s signed device list; if it is yours, link it with cloister client link <code>, else tell an administrator`;
      break;
    case 'device-linked':
      what = `this device is on ${user}'s signed device list now`;
      break;
    case 'device-list-refused':
      what = `the server's device lists for ${user} do not follow the pinned one; the pinned list stays`;
      break;
    case 'undecryptable':
      what = `a message from a device that is not on ${user}'s signed device list was dropped`;
      break;
  }
  return `${line.at} ${subject}: [${line.event}: ${what}]\n`;
}

/** A file name for `name` inside `dir` that does not exist yet (created exclusively). */
function saveFile(dir: string, name: string | undefined, fallback: string, bytes: Uint8Array): string {
  const base = (name === undefined ? '' : basename(name.replace(/\\/g, '/')))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f/:*?"<>|]/g, '_')
    .replace(/^\.+/, '_');
  const safe = base.length === 0 ? fallback : base;
  const dot = safe.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ''];
  for (let i = 0; i < 1000; i++) {
    const path = join(dir, i === 0 ? safe : `${stem}-${i}${ext}`);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`--download: cannot write to ${dir}`, { cause: error });
    }
    try {
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    return path;
  }
  throw new Error(`--download: too many files named ${safe} in ${dir}`);
}

async function listen(options: ListenOptions, io: ResolvedIO): Promise<void> {
  if (options.download !== undefined) {
    let ok = false;
    try {
      ok = statSync(options.download).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageFailure(`--download: ${options.download} is not a directory`);
  }
  await withUnlocked(options, io, async (client) => {
    let printed = 0;
    let queue: Promise<void> = Promise.resolve();
    let finish: (error?: Error) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Observed by the await below; this keeps an early failure (before that await) from being unhandled.
    finished.catch(() => undefined);
    const handle = async (message: ClientMessage): Promise<void> => {
      const body = message.content.body;
      let savedTo: string | undefined;
      if (body.type === 'file' && options.download !== undefined) {
        const progress = await transferProgress(io, body.file.fileName ?? 'file');
        try {
          const bytes = await client.downloadFile(body.file, { onProgress: progress.update });
          savedTo = saveFile(options.download, body.file.fileName, `file-${message.id.slice(0, 12)}`, bytes);
        } finally {
          progress.stop();
        }
      }
      const line: ListenJson = {
        id: message.id,
        from: message.from.userId,
        device: message.from.deviceId,
        conversation: message.conversationId,
        sentAt: new Date(message.sentAt).toISOString(),
        outgoing: message.outgoing,
        type: body.type,
        ...(body.type === 'text' ? { text: body.text } : {}),
        ...(body.type === 'file'
          ? {
              file: {
                name: body.file.fileName ?? null,
                size: body.file.size,
                mediaType: body.file.mediaType,
              },
            }
          : {}),
        ...(savedTo === undefined ? {} : { savedTo }),
      };
      if (options.json === true) io.stdout(`${JSON.stringify(line)}\n`);
      else {
        const what =
          body.type === 'text'
            ? printable(body.text)
            : body.type === 'file'
              ? `[file ${printable(body.file.fileName ?? '(no name)')} ${body.file.size} bytes${savedTo === undefined ? '' : ` saved to ${savedTo}`}]`
              : `[${body.type}]`;
        io.stdout(
          `${line.sentAt} ${line.from}/${line.device}${line.outgoing ? ' (sent)' : ''} in ${line.conversation}: ${what}\n`,
        );
      }
      printed++;
      if (options.count !== undefined && printed >= options.count) finish();
    };
    const offMessage = client.on('message', (e) => {
      queue = queue
        .then(() => handle(e.message))
        .catch((error: unknown) => {
          finish(error instanceof Error ? error : new Error('a message could not be handled'));
        });
    });
    // Device-list and identity events, in order with the messages; they do not count for --count.
    const self = client.me.userId;
    const offEvents = LISTENED_EVENTS.map((type) =>
      client.on(type, (e: ClientEvent) => {
        const line = eventLine(e, self, new Date().toISOString());
        if (line === undefined) return;
        queue = queue.then(() => {
          io.stdout(options.json === true ? `${JSON.stringify(line)}\n` : describeEvent(line));
        });
      }),
    );
    const offWiped = client.on('wiped', () => finish());
    const offSignal = io.onSignal(() => finish());
    const timer =
      options.timeout === undefined
        ? undefined
        : setTimeout(() => {
            if (options.count === undefined) finish();
            else
              finish(
                new Error(
                  `timed out after ${options.timeout} ms with ${printed} of ${options.count} messages`,
                ),
              );
          }, options.timeout);
    try {
      await startClient(client);
      await finished;
      await queue;
      if (client.status === 'wiped') await failWiped(client);
      // Let the acknowledgements of what was shown reach the server before stopping.
      await client.idle();
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      offSignal();
      offWiped();
      for (const off of offEvents) off();
      offMessage();
      await client.stop();
    }
  });
}

async function wipeStatus(options: WipeStatusOptions, io: ResolvedIO): Promise<void> {
  const dir = clientDir(options.dataDir);
  const config = readClientConfig(dir);
  const pin = options.check === true ? await readPin(options, io) : undefined;
  const status = await withClientDir(
    dir,
    config,
    async (client) => {
      if (client.status === 'unenrolled') {
        throw new Error('the client in this directory is not enrolled: run cloister client enroll');
      }
      if (pin !== undefined && client.status !== 'wiped') {
        await unlockClient(client, pin);
        await client.checkWipe();
      }
      return client.wipeStatus();
    },
    io.pinWrap,
  );
  if (options.json === true) {
    io.stdout(
      `${JSON.stringify(
        status.wiped
          ? {
              wiped: true,
              commandId: status.commandId,
              wipedAt: new Date(status.wipedAt).toISOString(),
              reported: status.reported,
            }
          : { wiped: false },
      )}\n`,
    );
    return;
  }
  io.stdout(
    status.wiped
      ? `wiped at ${new Date(status.wipedAt).toISOString()} (command ${status.commandId}; report ${status.reported ? 'accepted by' : 'not yet sent to'} the server)\n`
      : `not wiped${options.check === true ? ' (the server has no wipe for this device)' : ''}\n`,
  );
}

/**
 * Adds `cloister client …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerClientCommands(program, resolveIO());
 * ```
 */
export function registerClientCommands(program: Command, io: ResolvedIO): Command {
  const client = program
    .command('client')
    .description('a device: enrol, send, receive, wipe status, device linking and safety numbers');
  client
    .command('enroll')
    .description('enrol a new device with an enrolment token; prints its user and device id')
    .addOption(dataDirOption())
    .addOption(
      new Option('--server <url>', "the server's https:// URL")
        .argParser(parseServerUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--server-pin <pin>',
        "the server's public-key pin, sha256/<base64> (server start prints it)",
      )
        .argParser(parseServerPin)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--token <code>',
        'the enrolment code (token.fingerprint, 87 characters; admin users invite prints it) or a bare token',
      )
        .argParser(parseToken)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--organisation-root <fingerprint>',
        "with a bare token: the organisation root's fingerprint (as an MDM configuration carries it)",
      ).argParser(parseOrganisationRoot),
    )
    .addOption(pinFileOption())
    .addOption(
      new Option('--user <id>', 'the user id to ask for (when the token is not bound to one)').argParser(
        parseUserId,
      ),
    )
    .addOption(new Option('--display-name <name>', 'display name (1 to 256 characters)').argParser(parseName))
    .addOption(
      new Option('--suites <list>', 'suites in preference order (default v2,static-v1)').argParser(
        parseSuites,
      ),
    )
    .option('--json', 'print one JSON line {"user","device","linked","linkCode"}')
    .action((options: EnrollOptions) => enroll(options, io));

  client
    .command('send')
    .description('send a text message and wait until the server has taken it; prints its id')
    .argument('<text...>', 'the message text (the words are joined with spaces)')
    .addOption(dataDirOption())
    .addOption(new Option('--to <user>', 'the user to send to').argParser(parseUserId))
    .addOption(new Option('--group <id>', 'the group to send to (64 hex digits)').argParser(parseGroup))
    .addOption(pinFileOption())
    .addOption(
      new Option(
        '--timeout <ms>',
        `how long to wait for the server (default ${DEFAULT_SEND_TIMEOUT_MS})`,
      ).argParser(parseTimeout),
    )
    .option('--json', 'print one JSON line {"id","conversation","devices"}')
    .action((words: string[], options: SendOptions) => send(words, options, io));

  client
    .command('send-file')
    .description('encrypt, upload and send a file (streamed from disk); prints the message id')
    .argument('<path>', 'the file to send', parsePath)
    .addOption(dataDirOption())
    .addOption(new Option('--to <user>', 'the user to send to').argParser(parseUserId))
    .addOption(new Option('--group <id>', 'the group to send to (64 hex digits)').argParser(parseGroup))
    .addOption(
      new Option('--media-type <type>', 'type/subtype (default application/octet-stream)').argParser(
        parseMediaType,
      ),
    )
    .addOption(
      new Option('--name <name>', 'the file name the recipient sees (default the base name)').argParser(
        parseName,
      ),
    )
    .addOption(pinFileOption())
    .addOption(
      new Option(
        '--timeout <ms>',
        `how long to wait for the server (default ${DEFAULT_SEND_TIMEOUT_MS})`,
      ).argParser(parseTimeout),
    )
    .option('--json', 'print one JSON line {"id","conversation","devices"}')
    .action((path: string, options: SendFileOptions) => sendFile(path, options, io));

  client
    .command('listen')
    .description(
      'print incoming messages (and device-list events) as they arrive, until --count, --timeout or SIGINT',
    )
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .addOption(new Option('--count <n>', 'stop after n messages').argParser(positiveInteger(1_000_000)))
    .addOption(new Option('--timeout <ms>', 'stop after this many milliseconds').argParser(parseTimeout))
    .addOption(new Option('--download <dir>', 'save received files in this directory').argParser(parsePath))
    .option('--json', 'print one JSON line per message and per event')
    .action((options: ListenOptions) => listen(options, io));

  client
    .command('wipe-status')
    .description('whether this device was wiped (no PIN needed); --check also asks the server')
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .option('--check', 'unlock (needs the PIN) and ask the server for a pending wipe')
    .option('--json', 'print one JSON line {"wiped","commandId","wipedAt","reported"}')
    .action((options: WipeStatusOptions) => wipeStatus(options, io));
  return client;
}
