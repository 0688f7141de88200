/**
 * How the admin SDK reaches a server: one function from a request to a response whose body is a
 * stream of bytes (so the audit export can be read line by line). The Node transport with the
 * server's public-key pin is `pinnedTransport` in `@cloister/admin/node`; {@link fetchTransport}
 * serves a browser (the portal, same origin) or a test.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/**
 * One request of the admin API.
 *
 * @example
 * ```ts
 * const request: AdminRequest = {
 *   method: 'GET',
 *   path: '/admin/v1/users',
 *   query: { limit: '50' },
 *   headers: { authorization: `Cloister-Admin ${session.token}` },
 * };
 * ```
 */
export interface AdminRequest {
  /** The HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path, starting with `/admin/v1/`, each parameter already percent-encoded. */
  readonly path: string;
  /** Query parameters, unencoded (the transport encodes them). */
  readonly query?: Readonly<Record<string, string>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON body's bytes (`content-type: application/json` is in `headers`). */
  readonly body?: Uint8Array;
}

/**
 * One response: status, lower-case headers and the body as a stream of chunks.
 *
 * @example
 * ```ts
 * const response = await transport({ method: 'GET', path: '/admin/v1/openapi.json', headers: {} });
 * const chunks: Uint8Array[] = [];
 * for await (const chunk of response.body) chunks.push(chunk);
 * ```
 */
export interface AdminResponse {
  /** The HTTP status. */
  readonly status: number;
  /** The response headers by lower-case name. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body, chunk by chunk as it arrives. */
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Sends an {@link AdminRequest}.
 *
 * @example
 * ```ts
 * const transport: AdminTransport = pinnedTransport({ url: 'https://relay.example:8443', pin });
 * ```
 */
export type AdminTransport = (request: AdminRequest) => Promise<AdminResponse>;

/**
 * A transport over WHATWG `fetch` against `baseUrl`: for the portal, served by the server itself
 * (the browser's TLS is its only check, so there is no pin), or for tests.
 *
 * @example
 * ```ts
 * import { AdminClient, fetchTransport } from '@cloister/admin';
 * const admin = new AdminClient({ transport: fetchTransport(location.origin) });
 * ```
 */
export function fetchTransport(baseUrl: string, fetchImpl: typeof fetch = globalThis.fetch): AdminTransport {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new ValidationError('baseUrl', 'an absolute URL');
  }
  return async (request) => {
    const url = new URL(request.path, base);
    for (const [k, v] of Object.entries(request.query ?? {})) url.searchParams.set(k, v);
    const res = await fetchImpl(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body as BodyInit }),
    });
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const stream = res.body;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (stream === null) return;
      const reader = stream.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    }
    return { status: res.status, headers, body: chunks() };
  };
}
