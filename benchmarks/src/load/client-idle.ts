/**
 * The child process of the client benchmark's `memory-per-idle-client` case (forked by
 * `client.ts` with `--expose-gc`). It receives the server's URL and pin and N + 1 enrolment tokens
 * over IPC, enrols and starts one warm-up client (so that module loading, JIT and the first TLS
 * session are not counted), samples its memory after forced garbage collections, enrols and
 * starts N more clients (memory adapters, scrypt at the floor cost), waits until each is idle with
 * its delivery socket open, samples again and sends back both samples. It then closes every
 * client and exits.
 */

import { type CloisterClient, createClient } from '@cloister/client';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { createMemoryAdapter } from '@cloister/storage';

/** What the parent sends. */
export interface IdleSetup {
  readonly type: 'setup';
  readonly url: string;
  readonly pin: string;
  /** N + 1 single-use tokens: the first for the warm-up client. */
  readonly tokens: readonly string[];
}

/** One memory sample of this process. */
export interface IdleMemory {
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  readonly rssBytes: number;
}

/** What the child answers. */
export type IdleResult =
  | {
      readonly type: 'result';
      readonly clients: number;
      readonly before: IdleMemory;
      readonly after: IdleMemory;
      readonly setupSeconds: number;
      /** Of the N clients, those whose socket is open at the second sample. */
      readonly online: number;
    }
  | { readonly type: 'error'; readonly message: string };

const PIN = '2468-1357';

async function sample(): Promise<IdleMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return {
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    rssBytes: m.rss,
  };
}

async function run(setup: IdleSetup): Promise<IdleResult> {
  const clients: CloisterClient[] = [];
  const online = new Set<CloisterClient>();
  const make = async (token: string) => {
    const client = await createClient({
      server: { url: setup.url, pin: setup.pin },
      storage: createMemoryAdapter(),
      pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
    });
    clients.push(client);
    client.on('connection', (e) => {
      if (e.state === 'offline') online.delete(client);
      else online.add(client);
    });
    await client.enroll(token, { pin: PIN });
    await client.start();
    return client;
  };
  try {
    const [warm, ...rest] = setup.tokens;
    if (warm === undefined) throw new Error('no tokens');
    const warmClient = await make(warm);
    await warmClient.idle();
    await new Promise((r) => setTimeout(r, 300));
    const before = await sample();
    const started = performance.now();
    for (const token of rest) await make(token);
    // Let every socket's "synced" frame and the prekey-count check that follows it settle.
    await new Promise((r) => setTimeout(r, 500));
    for (const c of clients) await c.idle();
    const setupSeconds = (performance.now() - started) / 1000;
    const after = await sample();
    return {
      type: 'result',
      clients: rest.length,
      before,
      after,
      setupSeconds,
      online: [...online].filter((c) => c !== warmClient).length,
    };
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
  }
}

process.once('message', (m: IdleSetup) => {
  run(m).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (e: unknown) =>
      process.send?.(
        { type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies IdleResult,
        () => process.exit(1),
      ),
  );
});
