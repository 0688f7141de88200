/**
 * What an area of the admin SDK (pools, bulk jobs, statistics, integrations, …) needs from the
 * {@link AdminClient} that owns it: the client's authenticated JSON call and its raw call for
 * streamed answers. Each area is a class of its own module constructed with an
 * {@link AdminCaller}; the client exposes it as a getter (`admin.pools`, `admin.bulk`, …), so that
 * the client module stays the session and the users, and each area keeps its own model.
 *
 * @module
 */
import type { CryptoProvider } from '@cloister/crypto';
import type { AdminRequest, AdminResponse } from './transport.js';

/**
 * Options of one call: a JSON body and query parameters (unencoded).
 *
 * @example
 * ```ts
 * const options: AdminCallOptions = { json: { name: 'Ward 3' }, query: { limit: '50' } };
 * ```
 */
export interface AdminCallOptions {
  /** The JSON body. */
  readonly json?: unknown;
  /** Query parameters, unencoded. */
  readonly query?: Record<string, string>;
}

/**
 * The client's calls, handed to each area of the SDK.
 *
 * @example
 * ```ts
 * class PingApi {
 *   constructor(private readonly caller: AdminCaller) {}
 *   whoami() { return this.caller.call<{ admin: string }>('GET', '/admin/v1/session'); }
 * }
 * ```
 */
export interface AdminCaller {
  /**
   * Sends a request and parses the JSON answer (`undefined` for 204); an error status becomes
   * the typed error of `errors.ts`.
   *
   * @example
   * ```ts
   * const page = await caller.call<{ items: unknown[] }>('GET', '/admin/v1/users', { query: { limit: '10' } });
   * ```
   */
  call<T>(method: AdminRequest['method'], path: string, options?: AdminCallOptions): Promise<T>;
  /**
   * Sends a request and answers the raw response (status below 400) for a streamed body.
   *
   * @example
   * ```ts
   * const response = await caller.send('GET', '/admin/v1/audit/export');
   * for await (const chunk of response.body) process.stdout.write(chunk);
   * ```
   */
  send(method: AdminRequest['method'], path: string, options?: AdminCallOptions): Promise<AdminResponse>;
  /**
   * The crypto provider the client was given, or the default one.
   *
   * @example
   * ```ts
   * const provider = await caller.provider();
   * ```
   */
  provider(): Promise<CryptoProvider>;
}

/**
 * Percent-encodes one path segment.
 *
 * @example
 * ```ts
 * const path = `/admin/v1/pools/${pathSegment('ward 3')}`; // "/admin/v1/pools/ward%203"
 * ```
 */
export function pathSegment(value: string | number): string {
  return encodeURIComponent(String(value));
}

/**
 * Query parameters without the undefined ones, as strings.
 *
 * @example
 * ```ts
 * const query = queryParams({ limit: 50, after: undefined }); // { limit: '50' }
 * ```
 */
export function queryParams(
  q: Readonly<Record<string, string | number | boolean | undefined>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q ?? {})) if (v !== undefined) out[k] = String(v);
  return out;
}
