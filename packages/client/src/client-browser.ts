/**
 * `createClient` of the browser entry (`@cloister/client/browser`): a client whose default
 * transport is the browser transport (`transport/browser.ts`: `fetch`, WebSocket and the
 * server-key proof). Nothing here reaches a Node module.
 *
 * @module
 */
import { CloisterClient, openClient } from './client.js';
import type { ClientOptions } from './options.js';
import { createBrowserTransport } from './transport/browser.js';

/**
 * Creates a client over `options.storage` and reads its vault (nothing else is read until
 * `unlock` or `enroll`). Without `options.transport` it talks to the server through the browser
 * transport ({@link createBrowserTransport}) with the page's `fetch`, `WebSocket` and WebCrypto;
 * a bad URL or pin is `ValidationError` here.
 *
 * @example
 * ```ts
 * import { createClient } from '@cloister/client/browser';
 * import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';
 *
 * const client = await createClient({ server: { url, pin }, storage: await createIndexedDbAdapter({ name: 'cloister' }) });
 * if (client.status === 'unenrolled') await client.enroll(code, { pin: '4711-2023' });
 * else await client.unlock('4711-2023');
 * await client.start();
 * ```
 */
export function createClient(options: ClientOptions): Promise<CloisterClient> {
  return openClient(options, (o) => createBrowserTransport(o));
}

export { CloisterClient };
