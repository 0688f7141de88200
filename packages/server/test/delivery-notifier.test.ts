/**
 * The webhook push notifier (spec/server-delivery.md §7) against a local HTTP server: the body is
 * `{"mailboxHint"}` only, signed when a secret is set; one retry after a 5xx or a timeout and
 * none after a 4xx; hints in flight for the same mailbox coalesce; `notify` never rejects and its
 * warnings never contain the hint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '@cloister/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWebhookNotifier,
  PUSH_SIGNATURE_HEADER,
  PUSH_TIMESTAMP_HEADER,
  pushHintSignature,
} from '../src/notifier.js';

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
/** Per path: the statuses to answer in turn ('hang' never answers). */
const plans = new Map<string, (number | 'hang')[]>();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = plans.get(path)?.shift() ?? 204;
      if (next === 'hang') return;
      res.writeHead(next).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const at = (path: string) => seen.filter((s) => s.path === path);

describe('webhook notifier', () => {
  it('posts only the mailbox hint, signed with the labelled HMAC', async () => {
    const warnings: string[] = [];
    const n = createWebhookNotifier({
      url: `${base}/signed`,
      secret: new Uint8Array(32).fill(9),
      now: () => 1_800_000_000_000,
      log: { warn: (m) => warnings.push(m) },
    });
    await n.notify({ mailboxHint: 'mbx_hint_1' });
    const [hit] = at('/signed');
    expect(hit).toBeDefined();
    expect(JSON.parse(hit!.body)).toEqual({ mailboxHint: 'mbx_hint_1' });
    expect(hit!.headers['content-type']).toBe('application/json');
    expect(hit!.headers[PUSH_TIMESTAMP_HEADER]).toBe('1800000000000');
    expect(hit!.headers[PUSH_SIGNATURE_HEADER]).toBe(
      pushHintSignature(new Uint8Array(32).fill(9), 1_800_000_000_000, Buffer.from(hit!.body)),
    );
    expect(hit!.headers[PUSH_SIGNATURE_HEADER]).not.toBe(
      pushHintSignature(new Uint8Array(32).fill(8), 1_800_000_000_000, Buffer.from(hit!.body)),
    );
    expect(warnings).toEqual([]);

    const unsigned = createWebhookNotifier({ url: `${base}/unsigned` });
    await unsigned.notify({ mailboxHint: 'mbx_hint_2' });
    expect(at('/unsigned')[0]?.headers[PUSH_SIGNATURE_HEADER]).toBeUndefined();
  });

  it('retries once after a 5xx or a timeout, never after a 4xx, and never rejects', async () => {
    const warnings: string[] = [];
    const options = { retryDelayMs: 20, timeoutMs: 300, log: { warn: (m: string) => warnings.push(m) } };
    plans.set('/flaky', [503]);
    await createWebhookNotifier({ url: `${base}/flaky`, ...options }).notify({ mailboxHint: 'mbx_a' });
    expect(at('/flaky')).toHaveLength(2);
    expect(warnings).toEqual([]);

    plans.set('/down', [500, 502, 500]);
    await createWebhookNotifier({ url: `${base}/down`, ...options }).notify({ mailboxHint: 'mbx_b' });
    expect(at('/down')).toHaveLength(2);

    plans.set('/gone', [404, 404]);
    await createWebhookNotifier({ url: `${base}/gone`, ...options }).notify({ mailboxHint: 'mbx_c' });
    expect(at('/gone')).toHaveLength(1);

    plans.set('/slow', ['hang', 'hang']);
    const started = Date.now();
    await createWebhookNotifier({ url: `${base}/slow`, ...options }).notify({ mailboxHint: 'mbx_d' });
    expect(at('/slow')).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5_000);

    await expect(
      createWebhookNotifier({ url: 'http://127.0.0.1:1/refused', ...options }).notify({
        mailboxHint: 'mbx_e',
      }),
    ).resolves.toBeUndefined();
    expect(warnings.length).toBe(4);
    for (const w of warnings) expect(w).not.toMatch(/mbx_|127\.0\.0\.1|\/down|\/slow/);
  });

  it('coalesces hints for a mailbox whose hint is in flight', async () => {
    plans.set('/coalesce', ['hang']);
    const n = createWebhookNotifier({ url: `${base}/coalesce`, timeoutMs: 300, retryDelayMs: 10 });
    await Promise.all([n.notify({ mailboxHint: 'mbx_x' }), n.notify({ mailboxHint: 'mbx_x' })]);
    expect(at('/coalesce')).toHaveLength(2); // one hint: first attempt timed out, one retry
  });

  it('validates its options', () => {
    expect(() => createWebhookNotifier({ url: 'ftp://example.org/x' })).toThrow(ValidationError);
    expect(() => createWebhookNotifier({ url: 'not a url' })).toThrow(ValidationError);
    expect(() => createWebhookNotifier({ url: base, secret: 'short' })).toThrow(ValidationError);
    expect(() => createWebhookNotifier({ url: base, timeoutMs: 0 })).toThrow(ValidationError);
  });
});
