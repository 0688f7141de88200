/**
 * An echo bot over the client SDK: it marks every text it receives as read and answers it, in the
 * same 1:1 conversation or group.
 *
 *   npx tsx --conditions=@cloister/source examples/bot.ts \
 *     --server https://chat.example.org:8443 --server-pin sha256/… --data ./echo-bot --token <token> --pin <pin>
 *
 * The options and environment variables are those of `chat.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { ClientMessage, CloisterClient, Recipient } from '@cloister/client';
import { UsageError } from '@cloister/crypto';
import { openCliClient, parseClientCliOptions } from './chat.js';

/** A running bot. */
export interface Bot {
  /** Texts answered so far. */
  readonly answered: number;
  /** Stops answering; resolves once the answers under way are queued. */
  stop(): Promise<void>;
}

/** Options of {@link startBot}. */
export interface BotOptions {
  /** The answer to a text (default: `echo: <text>`). */
  readonly reply?: (text: string, from: string) => string;
  /** Where the bot reports what it does (default: nowhere). */
  readonly log?: (line: string) => void;
}

function replyTarget(m: ClientMessage): Recipient {
  return m.conversationId.startsWith('g:') ? { group: m.conversationId.slice(2) } : { user: m.from.userId };
}

/**
 * Starts answering the texts `client` receives (other users' and this user's other devices' own
 * messages are ignored), one at a time in arrival order, with a read receipt first.
 *
 * @example
 * ```ts
 * const bot = startBot(client, { reply: (text) => text.toUpperCase() });
 * // later
 * await bot.stop();
 * ```
 */
export function startBot(client: CloisterClient, options: BotOptions = {}): Bot {
  const reply = options.reply ?? ((text) => `echo: ${text}`);
  let answered = 0;
  let running = true;
  let queue: Promise<void> = Promise.resolve();
  const handle = async (m: ClientMessage) => {
    if (!running || m.content.body.type !== 'text') return;
    const text = m.content.body.text;
    await client.markRead(m.conversationId, [m.id]);
    await client.sendText(replyTarget(m), reply(text, m.from.userId));
    answered += 1;
    options.log?.(`answered ${m.from.userId}`);
  };
  const off = client.on('message', (e) => {
    if (e.message.outgoing) return;
    queue = queue
      .then(() => handle(e.message))
      .catch((err: unknown) =>
        options.log?.(`could not answer: ${err instanceof Error ? err.message : 'error'}`),
      );
  });
  return {
    get answered() {
      return answered;
    },
    async stop() {
      running = false;
      off();
      await queue;
    },
  };
}

async function main(): Promise<void> {
  const options = parseClientCliOptions(process.argv.slice(2), process.env, './.cloister-bot');
  const client = await openCliClient(options, () => {
    throw new UsageError('the bot needs its PIN: --pin or CLOISTER_PIN');
  });
  const bot = startBot(client, { log: (line) => console.log(line) });
  console.log(`${client.me.userId} (device ${client.me.deviceId}) answers every text; Ctrl-C stops it.`);
  process.once('SIGINT', () => {
    void bot.stop().finally(() => client.close());
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : 'failed');
    process.exitCode = 1;
  });
}
