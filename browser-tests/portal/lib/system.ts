/**
 * The server side of the portal scenario: `startLocalSystem` of `examples/demo-system.ts` with the
 * local CA and the built portal served at `/portal/` (the server's `portal` option), and what the owner
 * signs in with: tenant, e-mail, password, the TOTP URI (with the step the setup already used),
 * the recovery codes and the owner's signing key as the CLI writes it (`signing-key.json`) with its
 * passphrase.
 *
 * @module
 */
import { AdminClient, type CreateTenantAnswer, sealSigningKey } from '@cloister/admin';
import { getProvider, PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { type LocalSystem, startLocalSystem } from '../../../examples/demo-system.js';
import { TOTP_STEP_MS, TotpDevice } from './totp.js';

/** What the owner signs in to the portal with. */
export interface OwnerSignIn {
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  readonly totpUri: string;
  readonly recoveryCodes: readonly string[];
  /** The owner's signing key store, as `cloister admin` writes `signing-key.json`. */
  readonly signingKeyJson: string;
  readonly signingKeyPassphrase: string;
}

/**
 * The running system of the portal scenario.
 *
 * @example
 * ```ts
 * const { system, portalUrl, owner } = await startPortalSystem(root);
 * ```
 */
export interface PortalSystem {
  readonly system: LocalSystem;
  /** `https://…/portal/` */
  readonly portalUrl: string;
  /** The local CA's certificate (PEM). */
  readonly caPem: string;
  readonly owner: OwnerSignIn;
  /** The owner's authenticator (the setup's login step already used). */
  readonly ownerTotp: TotpDevice;
}

/** The demo's owner password (`examples/demo-system.ts`), when the system does not state it. */
const DEMO_OWNER_PASSWORD = 'correct horse battery staple';
/** The passphrase the owner's key store is sealed with here, when the system does not give one. */
const KEY_PASSPHRASE = 'portal scenario key passphrase';

type WithOwnerSignIn = LocalSystem & { readonly ownerSignIn?: OwnerSignIn };

/**
 * Starts the system with the portal at `/portal/` from `portalRoot`.
 *
 * @example
 * ```ts
 * const started = await startPortalSystem('/repo/packages/portal/dist');
 * await started.system.close();
 * ```
 */
export async function startPortalSystem(portalRoot: string): Promise<PortalSystem> {
  // Until the demo system states the owner's sign-in (`ownerSignIn`), the tenant creation's
  // answer (the owner's TOTP URI and recovery codes, shown once) is read as it passes.
  let created: CreateTenantAnswer | undefined;
  const createTenant = AdminClient.prototype.createTenant;
  AdminClient.prototype.createTenant = async function (this: AdminClient, input) {
    const answer = await createTenant.call(this, input);
    created = answer;
    return answer;
  };
  let system: WithOwnerSignIn;
  try {
    // The server's `portal` option: the portal at /portal/ (SPA fallback, a style nonce per HTML
    // answer) and /admin redirecting there; `startLocalSystem` hands its server options on as given.
    const server = { localCa: true, portal: { root: portalRoot } } as NonNullable<
      Parameters<typeof startLocalSystem>[0]
    >['server'];
    system = (await startLocalSystem({ ...(server === undefined ? {} : { server }) })) as WithOwnerSignIn;
  } finally {
    AdminClient.prototype.createTenant = createTenant;
  }
  const usedStep = Math.floor(Date.now() / TOTP_STEP_MS);
  const caPem = system.server.localCa?.caCert;
  if (caPem === undefined) {
    await system.close();
    throw new Error('the server started with localCa reports no CA');
  }
  let owner = system.ownerSignIn;
  if (owner === undefined) {
    if (created === undefined) throw new Error('the system did not create its tenant through the admin API');
    const key = system.owner.key;
    if (!(key.privateKey instanceof Uint8Array)) throw new Error("the owner's key is not exportable here");
    const provider = await getProvider();
    owner = {
      tenant: created.tenant.id,
      email: 'olivia@acme.example',
      password: DEMO_OWNER_PASSWORD,
      totpUri: created.owner.totpUri,
      recoveryCodes: created.owner.recoveryCodes,
      signingKeyJson: await sealSigningKey(provider, key, KEY_PASSPHRASE, { scrypt: PIN_SCRYPT_FLOOR }),
      signingKeyPassphrase: KEY_PASSPHRASE,
    };
  }
  return {
    system,
    portalUrl: new URL('/portal/', system.url).href,
    caPem,
    owner,
    ownerTotp: new TotpDevice(owner.totpUri, usedStep),
  };
}
