/**
 * The server side of the browser tests: a real `@cloister/server` in this process on its embedded
 * database (PGlite in a temporary directory), with a certificate from its local certificate
 * authority and the test page as a web app under `/app/`; the organisation set up through the
 * admin API as its people would (`startLocalSystem` of `examples/demo-system.ts`); and Node clients.
 *
 * @module
 */
import type { CloisterClient } from '@cloister/client';
import type { CloisterServer } from '@cloister/server';
import { startLocalSystem } from '../../examples/demo-system.js';

/** Where the server serves the page. */
const APP_PREFIX = '/app/';

/**
 * A running server with its organisation, ready to invite users.
 *
 * @example
 * ```ts
 * const system: TestSystem = await startSystem(page.root);
 * const code = await system.invite('alice');
 * ```
 */
export interface TestSystem {
  readonly server: CloisterServer;
  /** The base URL, `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** The page's URL on the server's origin. */
  readonly appUrl: string;
  /** The pin clients are configured with (the leaf certificate's key). */
  readonly pin: string;
  /** The local CA's certificate (PEM): what a browser imports to trust the server. */
  readonly caPem: string;
  /** The organisation root's fingerprint, as the owner computed it and the server confirmed. */
  readonly rootFingerprint: string;
  /** An enrolment code (token and root fingerprint) for one device of `user`. */
  invite(user: string): Promise<string>;
  /** A Node client for `user` on memory storage, enrolled and started. */
  nodeClient(user: string): Promise<CloisterClient>;
  /** Closes the clients and the server and removes the temporary directory. */
  close(): Promise<void>;
}

/**
 * Starts the server (local CA, web app at {@link APP_PREFIX} from `appRoot`) and sets the
 * organisation up through the admin API, as `startLocalSystem` of `examples/demo-system.ts` does:
 * the operator creates the tenant and its owner; the owner signs in with password and TOTP,
 * generates the organisation root on their side, registers it and delegates sender certificates
 * to the server.
 *
 * @example
 * ```ts
 * const system = await startSystem(page.root);
 * const bob = await system.nodeClient('bob');
 * await system.close();
 * ```
 */
export async function startSystem(appRoot: string): Promise<TestSystem> {
  const system = await startLocalSystem({
    server: { localCa: true, webApps: [{ prefix: APP_PREFIX, root: appRoot }] },
  });
  const caPem = system.server.localCa?.caCert;
  if (caPem === undefined) {
    await system.close();
    throw new Error('the server started with localCa reports no CA');
  }
  return {
    server: system.server,
    url: system.url,
    appUrl: new URL(APP_PREFIX, system.url).href,
    pin: system.server.pin,
    caPem,
    rootFingerprint: system.admin.rootFingerprint,
    invite: (user) => system.token(user),
    nodeClient: (user) => system.client(user),
    close: () => system.close(),
  };
}
