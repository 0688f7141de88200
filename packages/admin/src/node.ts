/**
 * `@cloister/admin/node`: what the admin SDK needs from Node: the HTTPS transport that checks the
 * server's public-key pin before writing a byte (the same `pinnedConnect` the client SDK and the
 * CLI's client commands use), and key-store files of mode 0600.
 *
 * @module @cloister/admin/node
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { NetworkError, type NetworkErrorCode, parsePin, pinnedConnect } from '@cloister/client';
import { ValidationError } from '@cloister/crypto';
import type { AdminResponse, AdminTransport } from './transport.js';

/**
 * Options of {@link pinnedTransport}.
 *
 * @example
 * ```ts
 * const options: PinnedTransportOptions = { url: 'https://relay.example:8443', pin, timeoutMs: 10_000 };
 * ```
 */
export interface PinnedTransportOptions {
  /** The server's base URL, `https://host:port`. */
  readonly url: string;
  /** The server's public-key pin, `sha256/<base64>` (what `cloister server start` prints). */
  readonly pin: string;
  /** Milliseconds before a connection or a request is abandoned (default 30000). */
  readonly timeoutMs?: number;
}

function headersOf(h: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * An {@link AdminTransport} over HTTPS (TLS 1.3) that opens each connection with the client SDK's
 * `pinnedConnect`: the request, with its credential, is written only to a server whose key matches
 * `pin`; otherwise the call rejects with `PinMismatchError` (`ERR_INVALID_KEY`).
 *
 * @example
 * ```ts
 * import { AdminClient } from '@cloister/admin';
 * import { pinnedTransport } from '@cloister/admin/node';
 * const transport = pinnedTransport({ url: 'https://relay.example:8443', pin });
 * const admin = new AdminClient({ transport, credential: { kind: 'session', token: session.token } });
 * ```
 */
export function pinnedTransport(options: PinnedTransportOptions): AdminTransport {
  const pin = parsePin(options.pin);
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new ValidationError('url', 'an https URL');
  }
  if (base.protocol !== 'https:') throw new ValidationError('url', 'an https URL');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const host = base.hostname;
  const port = base.port === '' ? 443 : Number(base.port);
  return async (request) => {
    const target = new URL(request.path, base);
    for (const [k, v] of Object.entries(request.query ?? {})) target.searchParams.set(k, v);
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    const socket = await pinnedConnect({ host, port, pin, timeoutMs, alpn: ['http/1.1'] });
    return new Promise<AdminResponse>((resolve, reject) => {
      const req = httpsRequest(
        target,
        { method: request.method, headers, createConnection: () => socket },
        (res) => {
          clearTimeout(timer);
          async function* body(): AsyncGenerator<Uint8Array> {
            for await (const chunk of res) yield new Uint8Array(chunk as Buffer);
          }
          resolve({ status: res.statusCode ?? 0, headers: headersOf(res.headers), body: body() });
        },
      );
      const timer = setTimeout(() => req.destroy(new NetworkError('ETIMEDOUT', base.origin)), timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e instanceof NetworkError ? e : new NetworkError(codeOf(e), base.origin, { cause: e }));
      });
      req.end(request.body === undefined ? undefined : Buffer.from(request.body));
    });
  };
}

/** A socket error's code as a {@link NetworkError} code (a reset for anything else). */
function codeOf(e: unknown): NetworkErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ETIMEDOUT' || code === 'ECONNREFUSED' ? code : 'ECONNRESET';
}

/**
 * Writes a key store's text to `path` with mode 0600 (written to a temporary file in the same
 * directory first, then renamed, so a crash never leaves half a key store).
 *
 * @example
 * ```ts
 * import { writeKeyStoreFile } from '@cloister/admin/node';
 * writeKeyStoreFile('./root.key', await sealRootKey(provider, { tenant: 'acme', ...org.root }, passphrase));
 * ```
 */
export function writeKeyStoreFile(path: string, text: string): void {
  const temporary = join(dirname(path), `.${randomBytes(8).toString('hex')}.tmp`);
  writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/**
 * Reads a key store's text from `path`. On POSIX systems a file that its group or others may
 * read or write is refused (`ValidationError`, field `path`), as SSH refuses such a private key.
 *
 * @example
 * ```ts
 * import { readKeyStoreFile } from '@cloister/admin/node';
 * const root = await openRootKey(provider, readKeyStoreFile('./root.key'), passphrase);
 * ```
 */
export function readKeyStoreFile(path: string): string {
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    throw new ValidationError('path', 'a key store file only its owner may read (mode 0600)');
  }
  return readFileSync(path, 'utf8');
}

export { EML_REPORT_FILE, emlDirectory } from './archive/eml-directory.js';
export * from './directory/index.js';
