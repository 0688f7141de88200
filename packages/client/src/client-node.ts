/**
 * `createClient` of the Node entry (`@cloister/client`): a client whose default transport is the
 * Node transport (`transport/node.ts`: TLS 1.3 sockets whose server key is checked against the
 * pin before any byte is written).
 *
 * @module
 */
import { CloisterClient, openClient } from './client.js';
import type { ClientOptions } from './options.js';
import { createNodeTransport } from './transport/node.js';

/**
 * Creates a client over `options.storage` and reads its vault (nothing else is read until
 * `unlock` or `enroll`). Without `options.transport` it talks to the server through the Node
 * transport ({@link createNodeTransport}); a bad URL or pin is `ValidationError` here.
 *
 * @example
 * ```ts
 * import { createClient } from '@cloister/client';
 * import { createPGliteAdapter } from '@cloister/storage/sql';
 *
 * const client = await createClient({ server: { url, pin }, storage: await createPGliteAdapter({ dataDir: './cloister-data' }) });
 * if (client.status === 'unenrolled') await client.enroll(code, { pin: '4711-2023' });
 * else await client.unlock('4711-2023');
 * client.on('message', (e) => console.log(e.message.from.userId, e.message.content.body.type));
 * await client.start();
 * await client.sendText({ user: 'bob' }, 'hello');
 * ```
 */
export function createClient(options: ClientOptions): Promise<CloisterClient> {
  return openClient(options, (o) => createNodeTransport(o));
}

export { CloisterClient };
