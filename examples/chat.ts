/**
 * A small interactive chat in the terminal over the client SDK.
 *
 *   npx tsx --conditions=@cloister/source examples/chat.ts \
 *     --server https://chat.example.org:8443 --server-pin sha256/… --data ./alice --token <enrolment token>
 *
 * The first run enrols this device with the token; later runs unlock it with the PIN. Options may
 * also come from the environment: CLOISTER_SERVER, CLOISTER_SERVER_PIN, CLOISTER_DATA,
 * CLOISTER_TOKEN and CLOISTER_PIN (the PIN is asked for when neither gives it).
 *
 * Commands: `/to <user>` or `/to group:<id>` picks who the following lines go to, `/help`,
 * `/quit`. Incoming messages are printed as they arrive and marked read.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type ClientMessage, type CloisterClient, createClient, type Recipient } from '@cloister/client';
import { UsageError, ValidationError } from '@cloister/crypto';
import { createPGliteAdapter } from '@cloister/storage/sql';

/** Where and how a command-line client connects. */
export interface ClientCliOptions {
  /** The server's base URL (`https://…`). */
  readonly serverUrl: string;
  /** The server's public-key pin (`sha256/<base64>`). */
  readonly serverPin: string;
  /** The directory of the device's encrypted local store. */
  readonly dataDir: string;
  /** The enrolment token, needed on the first run only. */
  readonly token?: string;
  /** The device PIN; asked for when absent. */
  readonly pin?: string;
}

/**
 * Reads the options from the command line, falling back to the environment; `defaultDataDir` is
 * used when neither names a data directory.
 *
 * @example
 * ```ts
 * const options = parseClientCliOptions(process.argv.slice(2), process.env, './.cloister-chat');
 * ```
 */
export function parseClientCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultDataDir: string,
): ClientCliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      server: { type: 'string' },
      'server-pin': { type: 'string' },
      data: { type: 'string' },
      token: { type: 'string' },
      pin: { type: 'string' },
    },
    strict: true,
  });
  const serverUrl = values.server ?? env.CLOISTER_SERVER;
  const serverPin = values['server-pin'] ?? env.CLOISTER_SERVER_PIN;
  if (serverUrl === undefined || !serverUrl.startsWith('https://')) {
    throw new ValidationError('--server', 'the server URL (https://…), or CLOISTER_SERVER');
  }
  if (serverPin === undefined || !serverPin.startsWith('sha256/')) {
    throw new ValidationError(
      '--server-pin',
      "the server's key pin (sha256/<base64>), or CLOISTER_SERVER_PIN",
    );
  }
  const token = values.token ?? env.CLOISTER_TOKEN;
  const pin = values.pin ?? env.CLOISTER_PIN;
  return {
    serverUrl,
    serverPin,
    dataDir: values.data ?? env.CLOISTER_DATA ?? defaultDataDir,
    ...(token === undefined ? {} : { token }),
    ...(pin === undefined ? {} : { pin }),
  };
}

/**
 * Opens the device in `options.dataDir` (PGlite): enrols it with the token on the first run,
 * unlocks it with the PIN afterwards, then starts it.
 *
 * @example
 * ```ts
 * const client = await openCliClient(options, () => ask('PIN: '));
 * ```
 */
export async function openCliClient(
  options: ClientCliOptions,
  askPin: () => Promise<string>,
): Promise<CloisterClient> {
  const client = await createClient({
    server: { url: options.serverUrl, pin: options.serverPin },
    storage: await createPGliteAdapter({ dataDir: options.dataDir }),
  });
  try {
    if (client.status === 'wiped') throw new UsageError('this device was remotely wiped');
    const pin = options.pin ?? (await askPin());
    if (client.status === 'unenrolled') {
      if (options.token === undefined) {
        throw new ValidationError('--token', 'an enrolment token for the first run, or CLOISTER_TOKEN');
      }
      await client.enroll(options.token, { pin });
    } else {
      await client.unlock(pin);
    }
    await client.start();
    return client;
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}

/**
 * One line for a message: `[sender] text`, `[sender in group] text` or a description of a file.
 *
 * @example
 * ```ts
 * client.on('message', (e) => console.log(formatMessage(e.message)));
 * ```
 */
export function formatMessage(m: ClientMessage): string {
  const where = m.conversationId.startsWith('g:') ? ` in ${m.conversationId.slice(0, 10)}…` : '';
  const body = m.content.body;
  const text =
    body.type === 'text'
      ? body.text
      : body.type === 'file'
        ? `(file ${body.file.fileName ?? 'unnamed'}, ${body.file.size} bytes)`
        : `(${body.type})`;
  return `[${m.from.userId}${where}] ${text}`;
}

function recipientOf(arg: string): Recipient {
  return arg.startsWith('group:') ? { group: arg.slice('group:'.length) } : { user: arg };
}

const HELP = '/to <user> | /to group:<id>  pick the recipient; /quit  leave; any other line is sent';

/**
 * Runs the chat on `io`: prints incoming messages (and marks them read), reads commands and
 * lines to send. Resolves on `/quit` or at the end of the input; the client stays open.
 *
 * @example
 * ```ts
 * await runChat(client, { input: process.stdin, output: process.stdout });
 * ```
 */
export async function runChat(
  client: CloisterClient,
  io: { readonly input: Readable; readonly output: Writable },
): Promise<void> {
  const print = (line: string) => io.output.write(`${line}\n`);
  const off = client.on('message', (e) => {
    if (e.message.outgoing) return;
    print(formatMessage(e.message));
    void client.markRead(e.message.conversationId, [e.message.id]).catch(() => undefined);
  });
  const offFailed = client.on('send-failed', (e) => print(`! not delivered: ${e.reason}`));
  print(`${client.me.userId} (device ${client.me.deviceId}) is online. ${HELP}`);
  let to: Recipient | undefined;
  const lines = createInterface({ input: io.input, terminal: false });
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      if (line === '/quit') break;
      if (line === '/help') {
        print(HELP);
        continue;
      }
      if (line.startsWith('/to ')) {
        to = recipientOf(line.slice(4).trim());
        print(`-> now writing to ${'user' in to ? to.user : `group ${to.group}`}`);
        continue;
      }
      if (line.startsWith('/')) {
        print(`unknown command. ${HELP}`);
        continue;
      }
      if (to === undefined) {
        print('pick a recipient first: /to <user>');
        continue;
      }
      try {
        await client.sendText(to, line);
      } catch (e) {
        print(`! ${e instanceof Error ? e.message : 'could not send'}`);
      }
    }
  } finally {
    lines.close();
    off();
    offFailed();
  }
}

async function main(): Promise<void> {
  const options = parseClientCliOptions(process.argv.slice(2), process.env, './.cloister-chat');
  const ask = () =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      rl.question('PIN: ', (answer) => {
        rl.close();
        resolve(answer);
      });
    });
  const client = await openCliClient(options, ask);
  try {
    await runChat(client, { input: process.stdin, output: process.stdout });
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : 'failed');
    process.exitCode = 1;
  });
}
