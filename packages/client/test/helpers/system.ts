/**
 * A server in this process (PGlite in a temporary directory) with a tenant, and clients over
 * memory adapters enrolled with tokens: the public API end to end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import type { Suite } from '@cloister/protocol';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { createMemoryAdapter, type StorageAdapter } from '@cloister/storage';
import { type ClientEvent, type ClientOptions, type CloisterClient, createClient } from '../../src/index.js';

export const PIN = '2468-1357';
export const TENANT = tenantId('acme');

export interface TestSystem {
  readonly server: CloisterServer;
  readonly url: string;
  readonly signingPublicKey: Uint8Array;
  token(user: string): Promise<string>;
  /**
   * Creates and enrols a client for `user` (a new device each call) and starts it. A later device
   * of a user is linked from the user's first device unless `link` is false (it then stays
   * pending, as a device enrolled with a token alone does).
   */
  client(
    user: string,
    options?: {
      suites?: Suite[];
      storage?: StorageAdapter;
      start?: boolean;
      link?: boolean;
    } & Partial<ClientOptions>,
  ): Promise<CloisterClient>;
  close(): Promise<void>;
}

export async function startSystem(): Promise<TestSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-client-e2e-'));
  // Every test client shares one address: the per-address limit is raised so that it never trips.
  const server = await createServer({ dataDir, logLevel: 'silent', rateLimitPerMinute: 10_000 });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  const { signingPublicKey } = await createTenant(server.context, { id: TENANT, name: 'ACME' });
  const clients: CloisterClient[] = [];
  const firstDevice = new Map<string, CloisterClient>();
  const token = async (user: string) =>
    (await createEnrolmentToken(server.context, { tenant: TENANT, user: userId(user) })).token;
  return {
    server,
    url,
    signingPublicKey,
    token,
    async client(user, options = {}) {
      const { suites, storage, start = true, link = true, ...rest } = options;
      const client = await createClient({
        server: { url, pin: server.pin },
        storage: storage ?? createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        ...(suites === undefined ? {} : { suites }),
        ...rest,
      });
      const enrolling = client.status === 'unenrolled';
      if (enrolling) await client.enroll(await token(user), { pin: PIN });
      else await client.unlock(PIN);
      const first = firstDevice.get(user);
      if (first === undefined) firstDevice.set(user, client);
      else if (enrolling && link && first.status === 'ready') {
        await first.linkDevice(await client.linkCode());
        await client.linkStatus();
      }
      if (start) await client.start();
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the first event of `type` that satisfies `match`, or rejects after `ms`. */
export function nextEvent<E extends ClientEvent['type']>(
  client: CloisterClient,
  type: E,
  match: (e: Extract<ClientEvent, { type: E }>) => boolean = () => true,
  ms = 10_000,
): Promise<Extract<ClientEvent, { type: E }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
