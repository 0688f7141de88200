/**
 * A crash at any durable step loses no message and reuses no key: two clients in a child process
 * are killed with SIGKILL at each step of sending and receiving (`ClientStep`), then started again
 * from their PGlite directories. Every message must then be in the receiver's history exactly
 * once, nothing may fail to decrypt (a reused message key or a lost ratchet step would), and a
 * message sent after the recovery must arrive too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientStep } from '../src/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const TENANT = tenantId('crash');
let server: CloisterServer;
let url: string;
let serverDir: string;
let users = 0;

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly result?: { texts: string[]; undecryptable: number };
  readonly stderr: string;
}

function runChild(job: object): Promise<Outcome> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=@cloister/source', '--import', 'tsx', CHILD],
      {
        env: { ...process.env, CLOISTER_CRASH_JOB: JSON.stringify(job) },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      const line = stdout.trim().split('\n').filter(Boolean).at(-1);
      resolve({ code, signal, stderr, ...(line === undefined ? {} : { result: JSON.parse(line) }) });
    });
  });
}

beforeAll(async () => {
  serverDir = mkdtempSync(join(tmpdir(), 'cloister-crash-server-'));
  server = await createServer({ dataDir: serverDir, logLevel: 'silent' });
  url = await server.listen({ port: 0, host: '127.0.0.1' });
  await createTenant(server.context, { id: TENANT, name: 'Crash' });
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(serverDir, { recursive: true, force: true });
});

const STEPS: readonly { client: 'sender' | 'receiver'; step: ClientStep }[] = [
  { client: 'sender', step: 'enqueue:committed' },
  { client: 'sender', step: 'send:directory' },
  { client: 'sender', step: 'send:encrypted' },
  { client: 'sender', step: 'send:submitted' },
  { client: 'sender', step: 'send:marked' },
  { client: 'receiver', step: 'receive:committed' },
  { client: 'receiver', step: 'receive:acked' },
  // The receiver's delivery receipts go through its own outbox.
  { client: 'receiver', step: 'send:encrypted' },
  { client: 'receiver', step: 'send:submitted' },
];

describe('crash between durable steps', () => {
  it.each(STEPS)(
    '$client killed at $step',
    async ({ client, step }) => {
      // Each case gets its own two users (user ids are per tenant) and data directories.
      users++;
      const dir = mkdtempSync(join(tmpdir(), 'cloister-crash-client-'));
      try {
        const tokens = {
          sender: (
            await createEnrolmentToken(server.context, { tenant: TENANT, user: userId(`sender-${users}`) })
          ).token,
          receiver: (
            await createEnrolmentToken(server.context, { tenant: TENANT, user: userId(`receiver-${users}`) })
          ).token,
        };
        const base = {
          url,
          pin: server.pin,
          dir,
          names: { sender: `sender-${users}`, receiver: `receiver-${users}` },
        };
        const crashed = await runChild({
          ...base,
          tokens,
          crash: { client, step, occurrence: 2 },
          send: ['one', 'two', 'three'],
          expect: ['one', 'two', 'three'],
        });
        expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
        const recovered = await runChild({ ...base, send: ['after'], expect: ['one', 'two', 'after'] });
        expect(recovered.code, recovered.stderr).toBe(0);
        const texts = recovered.result!.texts;
        expect(recovered.result!.undecryptable).toBe(0);
        for (const t of ['one', 'two', 'after']) expect(texts.filter((x) => x === t)).toHaveLength(1);
        // "three" was either sent before the crash or never (the crash stopped the sender's loop).
        expect(texts.filter((x) => x === 'three').length).toBeLessThanOrEqual(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
