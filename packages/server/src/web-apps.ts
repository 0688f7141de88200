/**
 * Static web apps served on the server's own origin (`ServerOptions.webApps`): the admin portal
 * or an organisation's web client, each under a path prefix such as `/app/`, with a content
 * security policy that lets the page talk to this server's API and WebSocket and nothing else.
 *
 * Path rules: GET and HEAD only; no directory listing; no file or directory whose name starts
 * with a dot; no `.`/`..` segment, backslash, NUL, empty segment or encoded slash, before or after
 * percent-decoding (all answered 404 `ERR_NOT_FOUND`, like a missing file, so a refusal reveals
 * nothing). `index.html` answers for the prefix itself; with `spaFallback`, a GET or HEAD for a
 * path whose last segment has no extension and that names no file answers `index.html` too.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canonicalIp, certificateHostNames } from './tls.js';

/**
 * One static web app of {@link ServerOptions.webApps}.
 *
 * @example
 * ```ts
 * const portal: WebAppOptions = { prefix: '/app/', root: './web/dist', spaFallback: true };
 * const server = await createServer({ dataDir: './cloister-data', webApps: [portal] });
 * // https://host:8443/app/ answers ./web/dist/index.html
 * ```
 */
export interface WebAppOptions {
  /**
   * The path it is served under: starts and ends with `/` (`/app/`), segments of letters, digits
   * and `- _ ~ .` (not starting with a dot), at most 128 characters; it may not overlap the API
   * ({@link RESERVED_WEB_PATHS}) or another web app.
   */
  readonly prefix: string;
  /** An existing directory holding the app's files (`index.html` at its top). */
  readonly root: string;
  /**
   * Answer `index.html` for a GET or HEAD under the prefix that names no file and whose last
   * segment has no extension (client-side routing). Default `false`: such paths answer 404.
   */
  readonly spaFallback?: boolean;
  /**
   * Serve the app's HTML files with a fresh style nonce per answer (for apps whose style library
   * injects `<style>` elements at run time, such as emotion under MUI). Every occurrence of
   * the placeholder `__CLOISTER_CSP_NONCE__` (Vite: `html.cspNonce`) in `index.html`, `<dir>/index.html`, any other `.html` file and
   * the SPA fallback is replaced by 16 random bytes in base64, the policy's `style-src 'self'`
   * becomes `style-src 'self' 'nonce-<that nonce>'` for that answer, and the answer carries
   * `Cache-Control: no-store` and no `ETag`/`Last-Modified` (a cached copy would hold a stale
   * nonce). Scripts stay `'self'` only. Other files are served unchanged. Default `false`.
   *
   * @example
   * ```ts
   * const app: WebAppOptions = { prefix: '/console/', root: './console/dist', spaFallback: true, styleNonce: true };
   * // index.html: <meta property="csp-nonce" nonce="__CLOISTER_CSP_NONCE__"> is answered with a fresh nonce
   * ```
   */
  readonly styleNonce?: boolean;
}

/** What a `styleNonce` app writes where the answer's nonce goes (Vite: `html.cspNonce`). */
const CSP_NONCE_PLACEHOLDER = '__CLOISTER_CSP_NONCE__';

/**
 * A checked {@link WebAppOptions}: the prefix as given, the root as an absolute real path.
 *
 * @example
 * ```ts
 * const [resolved]: readonly ResolvedWebApp[] = checkWebApps([{ prefix: '/app/', root: './web/dist' }]);
 * resolved?.spaFallback; // → false (the default)
 * ```
 */
export interface ResolvedWebApp {
  /** The path prefix the app is served under, as given (`/app/`). */
  readonly prefix: string;
  /** The app's directory, as an absolute path with symbolic links resolved. */
  readonly root: string;
  /** Whether unknown extension-less paths under the prefix answer `index.html`. */
  readonly spaFallback: boolean;
  /**
   * Whether the app's HTML files are answered with a fresh style nonce (`WebAppOptions.styleNonce`).
   *
   * @example
   * ```ts
   * const [app] = checkWebApps([], { root: './portal/dist' });
   * app?.styleNonce; // → true: the portal's pages get a nonce
   * ```
   */
  readonly styleNonce: boolean;
}

/**
 * Paths of the server's own routes that no web app prefix may overlap: prefixes (ending in `/`)
 * and exact routes.
 *
 * @example
 * ```ts
 * RESERVED_WEB_PATHS.includes('/v1/'); // true
 * ```
 */
export const RESERVED_WEB_PATHS: readonly string[] = [
  '/v1/',
  '/admin/',
  '/scim/',
  '/health',
  '/healthz',
  '/ready',
];

const PREFIX = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+\/$/;
const MAX_PREFIX = 128;

function overlaps(prefix: string, other: string): boolean {
  const a = prefix.toLowerCase();
  const b = other.toLowerCase();
  if (b.endsWith('/')) return a.startsWith(b) || b.startsWith(a);
  // An exact route overlaps a prefix that contains it or that is the route plus a slash.
  return b.startsWith(a) || a === `${b}/`;
}

/**
 * Checks the `webApps` option, and the `portal` option when given, before anything is created:
 * every prefix well formed and clear of the API and of every other app (the portal is the app at
 * `/portal/`, listed first), every root an existing directory (the portal's holding
 * `index.html`). Throws `ValidationError` naming the field (`webApps[1].prefix`, `portal.root`).
 *
 * @example
 * ```ts
 * const apps = checkWebApps([{ prefix: '/app/', root: './dist' }]);
 * apps[0]?.root; // the absolute real path of ./dist
 * const withPortal = checkWebApps([{ prefix: '/app/', root: './dist' }], { root: './portal/dist' });
 * withPortal[0]?.prefix; // '/portal/'
 * ```
 */
export function checkWebApps(
  apps: readonly WebAppOptions[] | undefined,
  portal?: { readonly root: string },
): readonly ResolvedWebApp[] {
  const checked: ResolvedWebApp[] = [];
  if (portal !== undefined) checked.push(checkPortal(portal));
  if (apps === undefined) return checked;
  if (!Array.isArray(apps)) throw new ValidationError('webApps', 'an array of { prefix, root }');
  apps.forEach((app: WebAppOptions, i) => {
    const field = `webApps[${i}]`;
    if (typeof app !== 'object' || app === null)
      throw new ValidationError(field, 'an object { prefix, root }');
    const { prefix, root, spaFallback, styleNonce } = app;
    if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX || !PREFIX.test(prefix)) {
      throw new ValidationError(
        `${field}.prefix`,
        `a path that starts and ends with / (like /app/), of segments of letters, digits and - _ ~ . not starting with a dot, at most ${MAX_PREFIX} characters`,
      );
    }
    const reserved = RESERVED_WEB_PATHS.find((path) => overlaps(prefix, path));
    if (reserved !== undefined) {
      throw new ValidationError(`${field}.prefix`, `a path that does not overlap the server's ${reserved}`);
    }
    const other = checked.find((done) => overlaps(prefix, done.prefix));
    if (other !== undefined) {
      throw new ValidationError(
        `${field}.prefix`,
        `a path that does not overlap the web app at ${other.prefix}`,
      );
    }
    if (spaFallback !== undefined && typeof spaFallback !== 'boolean') {
      throw new ValidationError(`${field}.spaFallback`, 'a boolean');
    }
    if (styleNonce !== undefined && typeof styleNonce !== 'boolean') {
      throw new ValidationError(`${field}.styleNonce`, 'a boolean');
    }
    const real = existingDirectory(root);
    if (real === undefined) throw new ValidationError(`${field}.root`, 'an existing directory');
    checked.push({ prefix, root: real, spaFallback: spaFallback === true, styleNonce: styleNonce === true });
  });
  return checked;
}

/** The absolute real path of `root` when it names an existing directory. */
function existingDirectory(root: unknown): string | undefined {
  try {
    if (typeof root !== 'string' || root === '') return undefined;
    const real = realpathSync(resolve(root));
    return statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The path the admin portal (`ServerOptions.portal`) is served under. */
export const PORTAL_PREFIX = '/portal/';

/**
 * Checks `ServerOptions.portal`: its root must be an existing directory holding `index.html` (the
 * built portal). The portal is the web app at {@link PORTAL_PREFIX} with the SPA fallback and the
 * style nonce.
 */
function checkPortal(portal: { readonly root: string }): ResolvedWebApp {
  if (typeof portal !== 'object' || portal === null)
    throw new ValidationError('portal', 'an object { root }');
  const real = existingDirectory(portal.root);
  let built = false;
  try {
    built = real !== undefined && statSync(join(real, 'index.html')).isFile();
  } catch {
    built = false;
  }
  if (real === undefined || !built) {
    throw new ValidationError('portal.root', 'an existing directory holding index.html (the built portal)');
  }
  return { prefix: PORTAL_PREFIX, root: real, spaFallback: true, styleNonce: true };
}

/**
 * The content security policy of every web app response: scripts, styles, fonts, images,
 * manifests and workers from the server's origin only, connections to the origin and to
 * `wssOrigin` (the server's own WebSocket), nothing else, no framing, no `<base>`. With
 * `styleNonce` (an HTML answer of a `styleNonce` app), `style-src` also allows `<style>` elements
 * carrying that nonce; scripts never get one.
 *
 * @example
 * ```ts
 * webAppPolicy('wss://localhost:8443');
 * // "default-src 'none'; script-src 'self'; … connect-src 'self' wss://localhost:8443; …"
 * webAppPolicy('wss://localhost:8443', 'q3Zq0mJr5Yc0e1hMPpTr7A==');
 * // "…; style-src 'self' 'nonce-q3Zq0mJr5Yc0e1hMPpTr7A=='; …"
 * ```
 */
export function webAppPolicy(wssOrigin: string, styleNonce?: string): string {
  const styles = styleNonce === undefined ? "'self'" : `'self' 'nonce-${styleNonce}'`;
  return (
    `default-src 'none'; script-src 'self'; style-src ${styles}; img-src 'self' data: blob:; ` +
    `font-src 'self'; connect-src 'self' ${wssOrigin}; manifest-src 'self'; worker-src 'self'; ` +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
  );
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An IP address as a URL host: `127.0.0.1`, `[::1]`. */
function urlHost(name: string): string {
  return name.includes(':') ? `[${name}]` : name;
}

const HOST_HEADER = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?$/;

/**
 * Chooses the WebSocket origin named in a web app's policy. The Host header is trusted only as a
 * choice among names the server's certificate holds: when its host is one of them (a wildcard
 * covering exactly one more label) and its port is the one the server listens on, the origin is
 * `wss://` and that name, rebuilt from the canonical spelling; any other Host (absent, another
 * name, another port, malformed) gets the certificate's first name at the listening port. The
 * header's own text never reaches the policy.
 *
 * @example
 * ```ts
 * const origin = webSocketOrigins(tls.cert, () => 8443);
 * origin('localhost:8443'); // 'wss://localhost:8443'
 * origin('evil.example:8443'); // 'wss://localhost:8443'
 * ```
 */
export function webSocketOrigins(
  certPem: string,
  listeningPort: () => number | undefined,
): (host: string | undefined) => string {
  const names = certificateHostNames(certPem);
  const exact = new Set(names.filter((n) => !n.startsWith('*.')));
  const wildcards = names.filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  const first = [...exact][0] ?? 'localhost';
  const origin = (host: string, port: number | undefined) =>
    port === undefined || port === 443 ? `wss://${urlHost(host)}` : `wss://${urlHost(host)}:${port}`;
  return (header) => {
    const port = listeningPort();
    const fallback = origin(first, port);
    const match = header === undefined ? null : HOST_HEADER.exec(header);
    if (match === null || port === undefined) return fallback;
    const [, v6, name, portText] = match;
    if ((portText === undefined ? 443 : Number(portText)) !== port) return fallback;
    const host = v6 !== undefined ? canonicalIp(v6) : name?.toLowerCase();
    if (host === undefined) return fallback;
    // Rebuilt from the certificate's own spelling: the header's text is only compared.
    for (const known of exact) if (known === host) return origin(known, port);
    for (const suffix of wildcards) {
      if (host.endsWith(suffix) && LABEL.test(host.slice(0, -suffix.length))) return origin(host, port);
    }
    return fallback;
  };
}

/**
 * Whether a request path under a web app's prefix may be served: every segment, raw and
 * percent-decoded, is free of dot-leading names, backslashes, NUL, encoded slashes and empty
 * segments (a trailing slash is allowed).
 */
function safeAppPath(rest: string): boolean {
  if (rest === '') return true;
  const segments = rest.split('/');
  for (let i = 0; i < segments.length; i++) {
    const raw = segments[i] as string;
    if (raw === '') {
      if (i === segments.length - 1) continue;
      return false;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return false;
    }
    for (const s of [raw, decoded]) {
      if (s.startsWith('.') || s.includes('\\') || s.includes('/') || s.includes('\0')) return false;
    }
  }
  return true;
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type('application/json')
    .send({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
}

/** The last segment of a path has an extension (`app.js`, not `settings`). */
function hasExtension(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes('.');
}

/**
 * The HTML file a request path (after the prefix, already passed by {@link safeAppPath}) names, as
 * `@fastify/static` would serve it: `index.html` of the directory for an empty path or one ending
 * in `/`, the file itself for a `.html`/`.htm` name, `<dir>/index.html` for an extension-less
 * directory name. `undefined` when that is no regular file inside the root.
 */
async function htmlFileFor(root: string, rest: string): Promise<string | undefined> {
  const segments = rest.split('/').map((segment) => decodeURIComponent(segment));
  const last = segments[segments.length - 1] as string;
  let parts: string[];
  if (last === '') parts = [...segments.slice(0, -1), 'index.html'];
  else if (/\.html?$/i.test(last)) parts = segments;
  else if (!last.includes('.')) parts = [...segments, 'index.html'];
  else return undefined;
  const file = join(root, ...parts);
  if (!file.startsWith(root + sep)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answers an HTML file of a `styleNonce` app: every placeholder replaced by a fresh nonce (16
 * random bytes, base64), the policy naming that nonce in `style-src`, `no-store` and no
 * validators (a conditional request gets the full answer: a `304` would reuse a stale nonce).
 */
async function sendWithNonce(
  reply: FastifyReply,
  file: string,
  policy: (nonce: string) => string,
): Promise<FastifyReply> {
  let html: string;
  try {
    html = await readFile(file, 'utf8');
  } catch {
    return notFound(reply);
  }
  const nonce = randomBytes(16).toString('base64');
  reply.raw.setHeader('content-security-policy', policy(nonce));
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html.replaceAll(CSP_NONCE_PLACEHOLDER, nonce));
}

/**
 * Registers the checked web apps on `app`, each in its own encapsulated scope with the static
 * file route, the path guard, the policy header and its own 404 (the SPA fallback). `wssOrigin`
 * picks the WebSocket origin of the policy for a request's Host header
 * ({@link webSocketOrigins}).
 *
 * @example
 * ```ts
 * const apps = checkWebApps([{ prefix: '/app/', root: './web/dist', spaFallback: true }]);
 * await registerWebApps(app, apps, webSocketOrigins(tls.cert, () => 8443));
 * ```
 */
export async function registerWebApps(
  app: FastifyInstance,
  apps: readonly ResolvedWebApp[],
  wssOrigin: (host: string | undefined) => string,
): Promise<void> {
  const policies = new Map<string, string>();
  const policyFor = (request: FastifyRequest): string => {
    const origin = wssOrigin(request.headers.host);
    let policy = policies.get(origin);
    if (policy === undefined) {
      policy = webAppPolicy(origin);
      if (policies.size < 64) policies.set(origin, policy);
    }
    return policy;
  };
  const noncedPolicy = (request: FastifyRequest) => (nonce: string) =>
    webAppPolicy(wssOrigin(request.headers.host), nonce);
  for (const web of apps) {
    const base = web.prefix.slice(0, -1);
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', async (request, reply) => {
          // After helmet's own onRequest hook (the parent's), so this policy replaces the API's.
          reply.raw.setHeader('content-security-policy', policyFor(request));
          const url = request.raw.url ?? '';
          const path = url.split('?', 1)[0] as string;
          if (path === base) return; // the redirect to the prefix
          if (!path.startsWith(web.prefix) || !safeAppPath(path.slice(web.prefix.length))) {
            return notFound(reply);
          }
          if (request.method !== 'GET' && request.method !== 'HEAD') return notFound(reply);
          if (web.styleNonce) {
            const file = await htmlFileFor(web.root, path.slice(web.prefix.length));
            if (file !== undefined) return sendWithNonce(reply, file, noncedPolicy(request));
          }
          return undefined;
        });
        await scope.register(fastifyStatic, {
          root: web.root,
          prefix: '/',
          index: ['index.html'],
          list: false,
          dotfiles: 'ignore',
          serveDotFiles: false,
          redirect: false,
          wildcard: true,
          cacheControl: false,
          acceptRanges: true,
          setHeaders: (res) => {
            void res.header('cache-control', 'no-cache');
          },
        });
        scope.get('/', { prefixTrailingSlash: 'no-slash' }, (_request, reply) => {
          void reply.redirect(web.prefix, 301);
        });
        scope.setNotFoundHandler((request, reply) => {
          const path = (request.raw.url ?? '').split('?', 1)[0] as string;
          if (
            web.spaFallback &&
            (request.method === 'GET' || request.method === 'HEAD') &&
            path.startsWith(web.prefix) &&
            !hasExtension(path)
          ) {
            if (web.styleNonce)
              return sendWithNonce(reply, join(web.root, 'index.html'), noncedPolicy(request));
            return reply.sendFile('index.html');
          }
          return notFound(reply);
        });
      },
      { prefix: base },
    );
  }
}

/**
 * With the portal configured: `GET`/`HEAD /admin` and `/admin/` answer `302` to
 * {@link PORTAL_PREFIX}. The rest of `/admin/` stays the admin API (`/admin/v1/…`), which is why
 * the portal itself cannot live there.
 */
export function registerPortalRedirect(app: FastifyInstance): void {
  for (const url of ['/admin', '/admin/']) {
    app.get(url, (_request, reply) => {
      void reply.redirect(PORTAL_PREFIX, 302);
    });
  }
}
