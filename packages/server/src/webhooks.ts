/**
 * Signed webhooks (`spec/integrations.md` §3): the signature of the Standard Webhooks
 * specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256
 * over "id.timestamp.body">` under the subscription's secret), the URL rules, the retry schedule
 * (exponential backoff with jitter, a bounded number of attempts) and the dispatcher that
 * delivers the outbox (`store/integrations.ts`) at least once: it claims due rows by moving
 * them to a lease, so two instances do not send the same row at once and a crash lets the row
 * come due again; receivers deduplicate by `webhook-id`. During a secret rotation's overlap each
 * delivery carries two `v1,` signatures (the new secret's and the previous one's); a successful
 * attempt re-queues the webhook's failed events (the receiver is back).
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '@cloister/crypto';
import type { ServerContext } from './context.js';
import { type OutboxItem, signingSecrets } from './store/integrations.js';

/**
 * Options of the webhook dispatcher (`createServer({ webhooks })`).
 *
 * @example
 * ```ts
 * const webhooks: WebhookOptions = { maxAttempts: 8, baseDelayMs: 30_000 };
 * ```
 */
export interface WebhookOptions {
  /** Whether this instance runs a dispatcher (default true). */
  readonly dispatch?: boolean;
  /** How often the outbox is polled, ms (default 1000). */
  readonly pollMs?: number;
  /** Rows claimed per poll (default 10). */
  readonly batch?: number;
  /** Attempts before an event is marked failed (default 8). */
  readonly maxAttempts?: number;
  /** Delay before the first retry, ms (default 30 s); doubled each time, with jitter. */
  readonly baseDelayMs?: number;
  /** Longest delay between attempts, ms (default 6 hours). */
  readonly maxDelayMs?: number;
  /** Time allowed for one attempt, ms (default 10 s). */
  readonly timeoutMs?: number;
  /**
   * Accept `http://localhost`, `http://127.0.0.1` and `http://[::1]` URLs and loopback
   * addresses (default false: HTTPS only, and no private, loopback or link-local address). For
   * tests and local development.
   */
  readonly allowHttpLocalhost?: boolean;
}

/**
 * The defaults of {@link WebhookOptions}.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_WEBHOOK_OPTIONS.maxAttempts); // 8
 * ```
 */
export const DEFAULT_WEBHOOK_OPTIONS: Required<WebhookOptions> = Object.freeze({
  dispatch: true,
  pollMs: 1000,
  batch: 10,
  maxAttempts: 8,
  baseDelayMs: 30_000,
  maxDelayMs: 6 * 3_600_000,
  timeoutMs: 10_000,
  allowHttpLocalhost: false,
});

const configs = new WeakMap<object, Required<WebhookOptions>>();

function checkInt(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ValidationError(field, `an integer from ${min} to ${max}`);
  }
  return v;
}

/**
 * Checks webhook options and fills in the defaults; `ValidationError` naming the option.
 *
 * @example
 * ```ts
 * const options = checkWebhookOptions({ maxAttempts: 3 });
 * ```
 */
export function checkWebhookOptions(options: WebhookOptions = {}): Required<WebhookOptions> {
  const o = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  checkInt(o.pollMs, 'webhooks.pollMs', 10, 3_600_000);
  checkInt(o.batch, 'webhooks.batch', 1, 100);
  checkInt(o.maxAttempts, 'webhooks.maxAttempts', 1, 20);
  checkInt(o.baseDelayMs, 'webhooks.baseDelayMs', 1, 86_400_000);
  checkInt(o.maxDelayMs, 'webhooks.maxDelayMs', o.baseDelayMs, 7 * 86_400_000);
  checkInt(o.timeoutMs, 'webhooks.timeoutMs', 100, 120_000);
  if (typeof o.allowHttpLocalhost !== 'boolean')
    throw new ValidationError('webhooks.allowHttpLocalhost', 'a boolean');
  if (typeof o.dispatch !== 'boolean') throw new ValidationError('webhooks.dispatch', 'a boolean');
  return Object.freeze(o);
}

/**
 * The webhook options of a server context (the defaults when none were configured).
 *
 * @example
 * ```ts
 * const { allowHttpLocalhost } = webhookOptionsOf(ctx);
 * ```
 */
export function webhookOptionsOf(ctx: ServerContext): Required<WebhookOptions> {
  return configs.get(ctx) ?? DEFAULT_WEBHOOK_OPTIONS;
}

/**
 * The delay before the next attempt after `attempts` failed ones: `min(base · 2^(attempts−1),
 * max)`, times a random factor in [0.5, 1) (jitter, so that receivers coming back are not hit by
 * every sender at once).
 *
 * @example
 * ```ts
 * webhookRetryDelay(1, DEFAULT_WEBHOOK_OPTIONS); // 15000..30000
 * ```
 */
export function webhookRetryDelay(
  attempts: number,
  options: Pick<Required<WebhookOptions>, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const raw = Math.min(options.baseDelayMs * 2 ** Math.max(0, attempts - 1), options.maxDelayMs);
  return Math.max(1, Math.floor(raw * (0.5 + random() / 2)));
}

/**
 * A new signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form).
 *
 * @example
 * ```ts
 * const secret = newWebhookSecret(); // 'whsec_…', shown once
 * ```
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function secretKey(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith('whsec_'))
    throw new ValidationError('secret', 'whsec_<base64>');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (key.length < 24 || key.length > 64)
    throw new ValidationError('secret', 'whsec_<base64 of 24..64 bytes>');
  return key;
}

/**
 * The `webhook-signature` value of a message: `v1,` and the base64 HMAC-SHA256, under the
 * secret's bytes, of `<id>.<timestamp>.<body>`.
 *
 * @example
 * ```ts
 * const signature = signWebhook(newWebhookSecret(), 'msg_abc', 1_750_000_000, '{"type":"user.block"}');
 * ```
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * Verifies a received webhook as a receiver must: the timestamp within `toleranceSeconds`
 * (default 300) of `now`, and one of the space-separated `v1,` signatures equal (in constant
 * time) to the expected one. Answers whether it holds.
 *
 * @example
 * ```ts
 * const secret = process.env.WEBHOOK_SECRET ?? '';
 * const ok = verifyWebhookSignature(secret, request.headers, String(request.body), { now: Date.now() });
 * ```
 */
export function verifyWebhookSignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { readonly now?: number; readonly toleranceSeconds?: number } = {},
): boolean {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = one('webhook-id');
  const ts = one('webhook-timestamp');
  const sigs = one('webhook-signature');
  if (id === undefined || ts === undefined || sigs === undefined || !/^\d{1,12}$/.test(ts)) return false;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - Number(ts)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, id, Number(ts), body));
  return sigs
    .split(' ')
    .some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Checks a subscription's URL: `https:` with a host name or a public address, no credentials,
 * at most 2048 characters; `http:` only to a loopback host when `allowHttpLocalhost`.
 * `ValidationError('url')` otherwise.
 *
 * @example
 * ```ts
 * checkWebhookUrl('https://hooks.acme.example/cloister', false);
 * ```
 */
export function checkWebhookUrl(url: string, allowHttpLocalhost: boolean): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError('url', 'an absolute https URL');
  }
  if (url.length > 2048 || u.username !== '' || u.password !== '' || u.hash !== '') {
    throw new ValidationError(
      'url',
      'an https URL of at most 2048 characters without credentials or fragment',
    );
  }
  const loopback = LOOPBACK_HOSTS.includes(u.hostname);
  if (u.protocol === 'http:' && allowHttpLocalhost && loopback) return u;
  if (u.protocol !== 'https:') throw new ValidationError('url', 'an https URL');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!allowHttpLocalhost && (loopback || (isIP(host) !== 0 && !isPublicAddress(host)))) {
    throw new ValidationError('url', 'a public host');
  }
  return u;
}

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/**
 * Whether an IP address is public (not private, loopback, link-local, shared, multicast or
 * reserved): the dispatcher connects to public addresses only, so a subscription cannot make the
 * server call into its own network.
 *
 * @example
 * ```ts
 * isPublicAddress('10.1.2.3'); // false
 * ```
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function guardedLookup(allowLoopback: boolean) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const ok = list.filter(
        (a) =>
          isPublicAddress(a.address) || (allowLoopback && (a.address === '127.0.0.1' || a.address === '::1')),
      );
      if (ok.length === 0 || ok.length !== list.length) {
        const e: NodeJS.ErrnoException = new Error('address not allowed');
        e.code = 'EADDRNOTALLOWED';
        return callback(e, '');
      }
      if ((options as { all?: boolean }).all) return callback(null, ok);
      const first = ok[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Sends one event: answers the HTTP status, or a reason (`timeout`, `network`, `address`).
 *
 * @example
 * ```ts
 * const result = await postWebhook(new URL(url), headers, '{}', { timeoutMs: 10_000, allowHttpLocalhost: false });
 * ```
 */
export function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  options: {
    readonly timeoutMs: number;
    readonly allowHttpLocalhost: boolean;
    readonly signal?: AbortSignal;
  },
): Promise<number | 'timeout' | 'network' | 'address'> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.allowHttpLocalhost) as never,
        timeout: options.timeoutMs,
        agent: false,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (res) => {
        let seen = 0;
        res.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > 65_536) res.destroy();
        });
        res.on('close', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EADDRNOTALLOWED' ? 'address' : 'network'),
    );
    req.end(body);
  });
}

/**
 * A running dispatcher.
 *
 * @example
 * ```ts
 * const dispatcher: WebhookDispatcher = startWebhookDispatcher(ctx, checkWebhookOptions({}));
 * await dispatcher.stop();
 * ```
 */
export interface WebhookDispatcher {
  /**
   * Claims and sends what is due now, until nothing is; answers how many attempts were made.
   *
   * @example
   * ```ts
   * const attempts = await startWebhookDispatcher(ctx, checkWebhookOptions({ dispatch: false })).runOnce();
   * ```
   */
  runOnce(): Promise<number>;
  /**
   * Stops polling and aborts attempts in flight (their rows come due again after the lease).
   *
   * @example
   * ```ts
   * await startWebhookDispatcher(ctx, checkWebhookOptions({})).stop();
   * ```
   */
  stop(): Promise<void>;
}

/**
 * Starts the dispatcher of a server context (`createServer` does it): every `pollMs` it claims
 * due outbox rows, signs and posts each, then marks it delivered (2xx), due again after
 * {@link webhookRetryDelay}, or failed after `maxAttempts`. A delivery re-queues the webhook's
 * failed events (the store's `settle`). Log lines carry the outcome only, never a URL, secret or
 * body.
 *
 * @example
 * ```ts
 * const dispatcher = startWebhookDispatcher(ctx, checkWebhookOptions({ pollMs: 500 }));
 * ```
 */
export function startWebhookDispatcher(
  ctx: ServerContext,
  options: Required<WebhookOptions>,
): WebhookDispatcher {
  configs.set(ctx, options);
  const abort = new AbortController();
  const leaseMs = options.timeoutMs + 30_000;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> | undefined;
  let stopped = false;

  async function deliver(item: OutboxItem): Promise<void> {
    const hook = await ctx.stores.integrations.getWebhook(item.tenant, item.webhook);
    if (hook === undefined) return ctx.stores.integrations.drop(item);
    const sentAt = ctx.now();
    const timestamp = Math.floor(sentAt / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Cloister-Webhooks/1',
      'webhook-id': item.event,
      'webhook-timestamp': String(timestamp),
      // The new secret's signature first; during a rotation's overlap the previous one's too.
      'webhook-signature': signingSecrets(hook, sentAt)
        .map((secret) => signWebhook(secret, item.event, timestamp, item.body))
        .join(' '),
    };
    let url: URL;
    let result: number | string;
    try {
      url = checkWebhookUrl(hook.url, options.allowHttpLocalhost);
      result = await postWebhook(url, headers, item.body, {
        timeoutMs: options.timeoutMs,
        allowHttpLocalhost: options.allowHttpLocalhost,
        signal: abort.signal,
      });
    } catch {
      result = 'address';
    }
    if (abort.signal.aborted) return; // shutting down: the lease runs out and the row comes due again
    const at = ctx.now();
    const attempts = item.attempts + 1;
    if (typeof result === 'number' && result >= 200 && result < 300) {
      const requeued = await ctx.stores.integrations.settle(item, {
        status: 'delivered',
        at,
        result: String(result),
      });
      if (requeued > 0) ctx.log.info({ requeued }, 'webhook receiver answers again: failed events re-queued');
      return;
    }
    if (attempts >= options.maxAttempts) {
      ctx.log.warn({ result: String(result), attempts }, 'webhook event failed for good');
      await ctx.stores.integrations.settle(item, { status: 'failed', at, result: String(result) });
      return;
    }
    await ctx.stores.integrations.settle(item, {
      status: 'pending',
      at,
      result: String(result),
      retryAt: at + webhookRetryDelay(attempts, options),
    });
  }

  async function runOnce(): Promise<number> {
    let attempts = 0;
    while (!stopped) {
      const items = await ctx.stores.integrations.claimDue(ctx.now(), options.batch, leaseMs);
      if (items.length === 0) break;
      await Promise.all(items.map((item) => deliver(item)));
      attempts += items.length;
    }
    return attempts;
  }

  function schedule(): void {
    if (stopped || !options.dispatch) return;
    timer = setTimeout(() => {
      current = runOnce()
        .catch((error: unknown) => {
          if (!stopped) ctx.log.warn({ code: (error as { code?: string }).code }, 'webhook dispatcher error');
          return 0;
        })
        .finally(schedule);
    }, options.pollMs);
    timer.unref();
  }
  schedule();

  return {
    runOnce: () => {
      const run = runOnce();
      return run;
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      abort.abort();
      await current?.catch(() => undefined);
    },
  };
}
