/**
 * `cloister client …`: a device on the command line. `enroll` registers a new device with an
 * enrolment token and keeps its data in a directory (an embedded database under `db/`, the
 * server's URL and key pin in `client.json`); `send`, `send-file`, `listen` and `wipe-status`
 * then need only `--data-dir` and the PIN.
 *
 * @module
 */
import { closeSync, createReadStream, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { ClientMessage, CloisterClient, Recipient } from '@cloister/client';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  CLIENT_CONFIG_FILE,
  clientDir,
  failWiped,
  type PinOptionValues,
  parseServerPin,
  parseServerUrl,
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

interface DirOptions extends PinOptionValues {
  readonly dataDir: string;
  readonly json?: boolean;
}

interface EnrollOptions extends DirOptions {
  readonly server: string;
  readonly serverPin: string;
  readonly token: string;
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
 * What `client listen --json` prints for each message, one JSON object per line.
 *
 * @example
 * ```ts
 * const line: ListenJson = JSON.parse(stdoutLine);
 * if (line.type === 'text') console.log(line.text);
 * ```
 */
export interface ListenJson {
  readonly id: string;
  readonly from: string;
  readonly device: number;
  readonly conversation: string;
  readonly sentAt: string;
  readonly outgoing: boolean;
  readonly type: string;
  readonly text?: string;
  readonly file?: { readonly name: string | null; readonly size: number; readonly mediaType: string };
  /** Where `--download` saved the file. */
  readonly savedTo?: string;
}

function parseToken(value: string): string {
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new InvalidArgumentError('expected an enrolment token (43 characters, base64url).');
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

function dataDirOption(): Option {
  return new Option('--data-dir <dir>', "the client's directory (created by client enroll)")
    .argParser(parsePath)
    .makeOptionMandatory();
}

function pinFileOption(): Option {
  return new Option(
    '--pin-file <file>',
    'read the device PIN from the first line of this file (else $CLOISTER_PIN, else a prompt)',
  ).argParser(parsePath);
}

/** Opens the directory's client, unlocks it and runs `fn`; wiped clients fail with a message. */
async function withUnlocked<T>(
  options: DirOptions,
  io: ResolvedIO,
  fn: (client: CloisterClient) => Promise<T>,
): Promise<T> {
  const dir = clientDir(options.dataDir);
  const config = readClientConfig(dir);
  const pin = await readPin(options, io);
  return withClientDir(dir, config, async (client) => {
    await unlockClient(client, pin);
    return fn(client);
  });
}

/** Starts `client`; a wipe found at start (or on connecting) is a failure. */
async function startClient(client: CloisterClient): Promise<void> {
  await client.start();
  if (client.status === 'wiped') await failWiped(client);
}

/**
 * Watches the outbox events while one message is sent: `wait(id)` flushes until a `sent` event
 * for that message id has arrived, and rejects on its `send-failed`, a wipe, or after `timeoutMs`.
 */
function deliveryWatch(client: CloisterClient, timeoutMs: number) {
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
          throw new Error(
            `the message was not delivered to the server within ${timeoutMs} ms; it stays queued and is sent by the next client command`,
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
  const pin = await readPin(options, io, 'choose a PIN for this device: ');
  const config = { version: 1, server: { url: options.server, pin: options.serverPin } } as const;
  const result = await withClientDir(dir, config, async (client) => {
    if (client.status !== 'unenrolled') {
      throw new Error(`the client database in ${dir} is already ${client.status}`);
    }
    return client.enroll(options.token, {
      pin,
      ...(options.user === undefined ? {} : { userId: options.user }),
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
    });
  });
  writeClientConfig(dir, config);
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ user: result.userId, device: result.deviceId })}\n`);
    return;
  }
  io.stdout(`enrolled user ${result.userId}, device ${result.deviceId}\n`);
}

async function send(words: readonly string[], options: SendOptions, io: ResolvedIO): Promise<void> {
  const to = recipient(options);
  const text = words.join(' ');
  if (text.trim().length === 0) throw new UsageFailure('the message text is empty');
  await withUnlocked(options, io, async (client) => {
    await startClient(client);
    const watch = deliveryWatch(client, options.timeout ?? DEFAULT_SEND_TIMEOUT_MS);
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
    const watch = deliveryWatch(client, options.timeout ?? DEFAULT_SEND_TIMEOUT_MS);
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
      offMessage();
      await client.stop();
    }
  });
}

async function wipeStatus(options: WipeStatusOptions, io: ResolvedIO): Promise<void> {
  const dir = clientDir(options.dataDir);
  const config = readClientConfig(dir);
  const pin = options.check === true ? await readPin(options, io) : undefined;
  const status = await withClientDir(dir, config, async (client) => {
    if (client.status === 'unenrolled') {
      throw new Error('the client in this directory is not enrolled: run cloister client enroll');
    }
    if (pin !== undefined && client.status !== 'wiped') {
      await unlockClient(client, pin);
      await client.checkWipe();
    }
    return client.wipeStatus();
  });
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
  const client = program.command('client').description('a device: enrol, send, receive, wipe status');
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
      new Option('--token <token>', 'the enrolment token (43 characters)')
        .argParser(parseToken)
        .makeOptionMandatory(),
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
    .option('--json', 'print one JSON line {"user","device"}')
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
    .description('print incoming messages as they arrive, until --count, --timeout or SIGINT')
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .addOption(new Option('--count <n>', 'stop after n messages').argParser(positiveInteger(1_000_000)))
    .addOption(new Option('--timeout <ms>', 'stop after this many milliseconds').argParser(parseTimeout))
    .addOption(new Option('--download <dir>', 'save received files in this directory').argParser(parsePath))
    .option('--json', 'print one JSON line per message')
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
