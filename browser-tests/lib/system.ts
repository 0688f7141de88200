/**
 * The server side of the browser tests: a real `@cloister/server` in this process on its embedded
 * database (PGlite in a temporary directory), with a certificate from its local certificate
 * authority and the test page as a web app under `/app/`; the organisation set up through the
 * admin API as its people would (as `examples/demo-system.ts` does); and Node clients.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient, generateOrganisation, type OrganisationSigner, signDelegation } from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import { type CloisterClient, createClient } from '@cloister/client';
import { getProvider, PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { type CloisterServer, createServer } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { URI as OtpUri, TOTP } from 'otpauth';

/** The tenant of the tests. */
const TENANT = tenantId('acme');

/** Where the server serves the page. */
const APP_PREFIX = '/app/';

const OWNER_EMAIL = 'olivia@acme.example';
const OWNER_PASSWORD = 'correct horse battery staple';

/** The PIN of the Node clients (the page uses its own). */
const NODE_PIN = '135790';

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

/** What an authenticator app shows for `totpUri` now. */
function authenticatorCode(totpUri: string): string {
  const otp = OtpUri.parse(totpUri);
  if (!(otp instanceof TOTP)) throw new Error('the owner was not given a TOTP enrolment');
  return otp.generate();
}

/**
 * Starts the server (local CA, web app at {@link APP_PREFIX} from `appRoot`) and sets the
 * organisation up through the admin API: the operator creates the tenant and its owner; the owner
 * signs in with password and TOTP, generates the organisation root on their side, registers it and
 * delegates sender certificates to the server.
 *
 * @example
 * ```ts
 * const system = await startSystem(page.root);
 * const bob = await system.nodeClient('bob');
 * await system.close();
 * ```
 */
export async function startSystem(appRoot: string): Promise<TestSystem> {
  const root = mkdtempSync(join(tmpdir(), 'cloister-browser-server-'));
  const clients: CloisterClient[] = [];
  let server: CloisterServer | undefined;
  try {
    const operatorToken = randomBytes(32).toString('base64url');
    server = await createServer({
      dataDir: join(root, 'server'),
      logLevel: 'silent',
      operatorToken,
      localCa: true,
      webApps: [{ prefix: APP_PREFIX, root: appRoot }],
    });
    const caPem = server.localCa?.caCert;
    if (caPem === undefined) throw new Error('the server started with localCa reports no CA');
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    const pin = server.pin;
    const provider = await getProvider();
    const transport = pinnedTransport({ url, pin });

    const operator = new AdminClient({
      transport,
      provider,
      credential: { kind: 'operator', token: operatorToken },
    });
    const created = await operator.createTenant({
      id: TENANT,
      name: 'ACME Hospital',
      domains: ['acme.example'],
      owner: { email: OWNER_EMAIL, name: 'Olivia (owner)', password: OWNER_PASSWORD },
    });
    const { client: session, session: login } = await AdminClient.login(
      { transport, provider },
      {
        tenant: TENANT,
        email: OWNER_EMAIL,
        password: OWNER_PASSWORD,
        totp: authenticatorCode(created.owner.totpUri),
      },
    );
    const org = await generateOrganisation(provider, { tenant: TENANT, admin: login.admin });
    const registered = await session.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    org.root.privateKey.fill(0);
    const admin = new AdminClient({
      transport,
      provider,
      organisationRoot: org.root.publicKey,
      credential: { kind: 'session', token: login.token },
    });
    const owner: OrganisationSigner = { provider, key: org.owner, client: admin };
    await signDelegation(owner);

    const invite = async (user: string) => {
      const invitation = await admin.inviteUser({ user });
      if (invitation.enrolmentCode === null) throw new Error('the invitation carries no root fingerprint');
      return invitation.enrolmentCode;
    };
    const running = server;
    return {
      server: running,
      url,
      appUrl: new URL(APP_PREFIX, url).href,
      pin,
      caPem,
      rootFingerprint: registered.fingerprint,
      invite,
      async nodeClient(user) {
        const client = await createClient({
          server: { url, pin },
          storage: createMemoryAdapter(),
          pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        });
        clients.push(client);
        await client.enroll(await invite(user), { pin: NODE_PIN });
        await client.start();
        return client;
      },
      async close() {
        for (const client of clients) await client.close().catch(() => undefined);
        await running.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const client of clients) await client.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
