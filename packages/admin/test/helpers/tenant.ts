/**
 * A server on a temporary data directory with the tenant `acme`, created by the operator, and its
 * owner signed in through the admin SDK (password and TOTP): what most admin SDK test files start
 * from.
 */
import { randomBytes } from 'node:crypto';
import { type CryptoProvider, getProvider } from '@cloister/crypto';
import { type CloisterServer, createServer, type ServerOptions } from '@cloister/server';
import { AdminClient, type CreateTenantAnswer } from '../../src/index.js';
import { pinnedTransport } from '../../src/node.js';
import { totpCode } from '../totp.js';

/** The owner's password in {@link startTenant}. */
export const OWNER_PASSWORD = 'owner password 1234';

/** What {@link startTenant} started. */
export interface StartedTenant {
  readonly server: CloisterServer;
  /** The owner, signed in. */
  readonly admin: AdminClient;
  /** The owner as the operator created them (`admin`, `totpUri`, …). */
  readonly owner: CreateTenantAnswer['owner'];
  /** A new transport pinned to the server, for further clients. */
  readonly transport: () => ReturnType<typeof pinnedTransport>;
  readonly provider: CryptoProvider;
}

/** Starts a server on `dataDir` (with `options`), creates `acme` and signs its owner in. */
export async function startTenant(
  dataDir: string,
  options: Partial<ServerOptions> = {},
): Promise<StartedTenant> {
  const operatorToken = randomBytes(32).toString('base64url');
  const server = await createServer({ dataDir, logLevel: 'silent', operatorToken, ...options });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const transport = () => pinnedTransport({ url, pin: server.pin });
  const operator = new AdminClient({
    transport: transport(),
    credential: { kind: 'operator', token: operatorToken },
  });
  const created = await operator.createTenant({
    id: 'acme',
    name: 'ACME',
    owner: { email: 'olivia@acme.example', name: 'Olivia', password: OWNER_PASSWORD },
  });
  const provider = await getProvider();
  const { client } = await AdminClient.login(
    { transport: transport(), provider },
    {
      tenant: 'acme',
      email: 'olivia@acme.example',
      password: OWNER_PASSWORD,
      totp: totpCode(created.owner.totpUri),
    },
  );
  return { server, admin: client, owner: created.owner, transport, provider };
}
