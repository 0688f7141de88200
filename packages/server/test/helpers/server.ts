/**
 * Test helpers: a server on a temporary data directory and loopback port, and an HTTPS client
 * that checks the server's public-key pin on every connection (as real clients must).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { authorizationHeader } from '../../src/auth.js';
import type { RouteModule } from '../../src/context.js';
import { healthRoutes } from '../../src/routes/health.js';
import { type CloisterServer, createServer, type ServerOptions } from '../../src/server.js';

/** The pin of the certificate a TLS socket presented. */
export function socketPin(socket: TLSSocket): string {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) throw new Error('no peer certificate');
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly
  readonly json: any;
}

export interface RequestOptions {
  readonly json?: unknown;
  readonly body?: Uint8Array;
  readonly contentType?: string;
  readonly credential?: Uint8Array;
  readonly headers?: Record<string, string>;
}

/** One HTTPS request to `url` + `path`, refusing a server whose key does not match `pin`. */
export function pinnedRequest(
  url: string,
  pin: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse> {
  const target = new URL(path, url);
  const headers: Record<string, string> = { ...options.headers };
  let payload: Buffer | undefined;
  if (options.json !== undefined) {
    payload = Buffer.from(JSON.stringify(options.json));
    headers['content-type'] = 'application/json';
  } else if (options.body !== undefined) {
    payload = Buffer.from(options.body);
    headers['content-type'] = options.contentType ?? 'application/x-protobuf';
  }
  if (options.credential !== undefined) headers.authorization = authorizationHeader(options.credential);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      target,
      { method, headers, rejectUnauthorized: false, minVersion: 'TLSv1.3', agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      socket.on('secureConnect', () => {
        if (socketPin(socket as TLSSocket) !== pin)
          req.destroy(new Error('server key does not match the pin'));
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface TestServer {
  readonly server: CloisterServer;
  readonly url: string;
  readonly pin: string;
  readonly dataDir: string;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

/**
 * Starts a server on a new temporary data directory (PGlite) and a random loopback port. With
 * `extraRoutes`, only the health routes and those modules are served.
 */
export async function startTestServer(
  options: ServerOptions & { readonly extraRoutes?: readonly RouteModule[] } = {},
): Promise<TestServer> {
  const { extraRoutes = [], ...serverOptions } = options;
  const dataDir = serverOptions.dataDir ?? mkdtempSync(join(tmpdir(), 'cloister-server-test-'));
  // With `extraRoutes`, serve health plus exactly those modules (they may be configured variants
  // of modules in ROUTES, which would otherwise be declared twice); without, serve ROUTES.
  const routes = extraRoutes.length > 0 ? [healthRoutes, ...extraRoutes] : undefined;
  const server = await createServer({
    logLevel: 'silent',
    ...serverOptions,
    dataDir,
    ...(routes ? { routes } : {}),
  });
  const url = await server.listen({ port: 0 });
  return {
    server,
    url,
    pin: server.pin,
    dataDir,
    request: (method, path, requestOptions) => pinnedRequest(url, server.pin, method, path, requestOptions),
    async close() {
      await server.close();
      if (serverOptions.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
