/**
 * The webhook push notifier (R08): for a device with no live delivery socket, the server POSTs
 * `{"mailboxHint":"<mailbox id>"}` and nothing else (no sender, no content, no size, no time
 * beyond the request itself) to a URL the organisation runs; that service maps the mailbox to the
 * device's push token and sends a content-free wake-up. With a secret, the request is signed:
 *
 *   cloister-push-timestamp: <ms since the epoch>
 *   cloister-push-signature: v1=<hex HMAC-SHA256(secret, "cloister/server/v1/push-hint" | u64(timestamp) | body)>
 *
 * Each hint is tried at most twice (one retry after a backoff, only on a network error, a
 * timeout or a 5xx answer); hints for a mailbox whose hint is still in flight are coalesced, and
 * at most `maxConcurrent` requests run at once (further hints are dropped: the device still gets
 * its envelopes when it next connects). `notify` never rejects; failures are logged as a warning
 * that names neither the hint nor the URL.
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import { ValidationError } from '@cloister/crypto';
import type { Notifier } from './context.js';

/**
 * The HMAC label of a signed push hint.
 *
 * @example
 * ```ts
 * console.log(PUSH_HINT_LABEL); // 'cloister/server/v1/push-hint'
 * ```
 */
export const PUSH_HINT_LABEL = 'cloister/server/v1/push-hint';
/**
 * Header carrying the signing time of a push hint.
 *
 * @example
 * ```ts
 * // in the push service that receives the hints
 * const timestamp = Number(request.headers[PUSH_TIMESTAMP_HEADER]); // ms since the epoch
 * ```
 */
export const PUSH_TIMESTAMP_HEADER = 'cloister-push-timestamp';
/**
 * Header carrying the signature of a push hint.
 *
 * @example
 * ```ts
 * // in the push service that receives the hints
 * const signature = String(request.headers[PUSH_SIGNATURE_HEADER]); // 'v1=<64 hex digits>'
 * ```
 */
export const PUSH_SIGNATURE_HEADER = 'cloister-push-signature';

/**
 * Options of {@link createWebhookNotifier}.
 *
 * @example
 * ```ts
 * const options: WebhookNotifierOptions = { url: 'https://push.example.org/hint', secret: pushSecret, timeoutMs: 3_000 };
 * const notifier = createWebhookNotifier(options);
 * ```
 */
export interface WebhookNotifierOptions {
  /** The `http:` or `https:` URL to POST hints to. */
  readonly url: string;
  /** HMAC key (at least 16 bytes; a string is taken as UTF-8). Absent: hints are not signed. */
  readonly secret?: Uint8Array | string;
  /** Timeout of one attempt, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Wait before the one retry, ms (default 1000). */
  readonly retryDelayMs?: number;
  /** Most requests in flight at once (default 64). */
  readonly maxConcurrent?: number;
  /** Where warnings go (default: none). Messages never contain the hint, the URL or the secret. */
  readonly log?: { warn(message: string): void };
  /** The clock used for the timestamp header (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * The signature value of a push hint body, `v1=<hex HMAC-SHA256>` (what the receiver recomputes
 * and compares in constant time); `ValidationError` for a timestamp that is not a non-negative
 * integer.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from 'node:crypto';
 * // in the push service: `rawBody` is the request body exactly as received
 * const expected = Buffer.from(pushHintSignature(pushSecret, Number(request.headers[PUSH_TIMESTAMP_HEADER]), rawBody));
 * const given = Buffer.from(String(request.headers[PUSH_SIGNATURE_HEADER]));
 * const ok = given.length === expected.length && timingSafeEqual(given, expected);
 * ```
 */
export function pushHintSignature(secret: Uint8Array | string, timestamp: number, body: Uint8Array): string {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new ValidationError('timestamp', 'ms since the epoch');
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp));
  const mac = createHmac('sha256', key).update(PUSH_HINT_LABEL).update(time).update(body).digest('hex');
  return `v1=${mac}`;
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(field, 'a positive integer');
  return value;
}

/**
 * A {@link Notifier} that POSTs content-free hints to a webhook.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   notifier: createWebhookNotifier({ url: 'https://push.example.org/hint', secret: pushSecret }),
 * });
 * ```
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ValidationError('url', 'an http or https URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValidationError('url', 'an http or https URL');
  const secret = options.secret;
  if (secret !== undefined) {
    const length = typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.length;
    if (!(typeof secret === 'string' || secret instanceof Uint8Array) || length < 16) {
      throw new ValidationError('secret', 'at least 16 bytes');
    }
  }
  const timeoutMs = positive(options.timeoutMs, 5_000, 'timeoutMs');
  const retryDelayMs = positive(options.retryDelayMs, 1_000, 'retryDelayMs');
  const maxConcurrent = positive(options.maxConcurrent, 64, 'maxConcurrent');
  const now = options.now ?? Date.now;
  const warn = (message: string) => {
    try {
      options.log?.warn(message);
    } catch {
      // a failing logger must not reach the delivery path either
    }
  };
  const pending = new Set<string>();

  /** One attempt: 'ok', 'retry' (network, timeout, 5xx) or 'give-up' (other answers). */
  async function attempt(body: string): Promise<'ok' | 'retry' | 'give-up'> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret !== undefined) {
      const timestamp = now();
      headers[PUSH_TIMESTAMP_HEADER] = String(timestamp);
      headers[PUSH_SIGNATURE_HEADER] = pushHintSignature(secret, timestamp, Buffer.from(body, 'utf8'));
    }
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) return 'ok';
      return response.status >= 500 ? 'retry' : 'give-up';
    } catch {
      return 'retry';
    }
  }

  return {
    async notify(hint) {
      try {
        const mailboxHint = (hint as { mailboxHint?: unknown } | undefined)?.mailboxHint;
        if (typeof mailboxHint !== 'string' || mailboxHint.length === 0 || mailboxHint.length > 128) {
          warn('push hint skipped: invalid hint');
          return;
        }
        if (pending.has(mailboxHint)) return;
        if (pending.size >= maxConcurrent) {
          warn('push hint dropped: too many in flight');
          return;
        }
        pending.add(mailboxHint);
        try {
          const body = JSON.stringify({ mailboxHint });
          let outcome = await attempt(body);
          if (outcome === 'retry') {
            await new Promise((resolve) => setTimeout(resolve, retryDelayMs).unref());
            outcome = await attempt(body);
          }
          if (outcome !== 'ok') warn('push hint not delivered');
        } finally {
          pending.delete(mailboxHint);
        }
      } catch {
        warn('push hint failed');
      }
    },
  };
}
