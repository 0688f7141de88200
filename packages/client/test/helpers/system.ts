/**
 * A server in this process (PGlite in a temporary directory) with a tenant, and clients over
 * memory adapters enrolled with tokens: the public API end to end. By default the tenant has an
 * organisation root (generated here, the owner's certificate issued to the root's own key), a
 * certificate delegation for the tenant's server key is published, and clients enrol with the
 * 87-character code that carries the root's fingerprint; `{ root: false }` keeps the legacy path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceId, type KeyPair, PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  type OrganisationPayload,
  type PolicyLayerPayload,
  poolId,
  ROOT_FINGERPRINT_PREFIX,
  rootFingerprint,
  type Suite,
  signOrganisationObject,
  tenantId,
  userId,
} from '@cloister/protocol';
import {
  type CloisterServer,
  createEnrolmentToken,
  createServer,
  createTenant,
  nextOrganisationSequence,
  publishOrganisationObject,
  setOrganisationRoot,
} from '@cloister/server';
import { createMemoryAdapter, type StorageAdapter } from '@cloister/storage';
import {
  type ClientEvent,
  type ClientOptions,
  type CloisterClient,
  createClient,
  createNodeTransport,
  type TransportFactory,
} from '../../src/index.js';

export const PIN = '2468-1357';
export const TENANT = tenantId('acme');

/** An organisation's signer: a root (or the operator's own), its owner certificate, and how to sign. */
export interface TestSigner {
  readonly root: KeyPair;
  readonly fingerprint: string;
  /** The owner's certificate, issued by the root to its own key. */
  readonly certificate: Uint8Array;
  /** Signs an object of the tenant with the owner's key (sequence: the server's next unless given). */
  sign(
    object: OrganisationPayload & { readonly sequence?: number; readonly issuedAtMs?: number },
  ): Promise<Uint8Array>;
}

/** The tenant's genuine organisation: its signer and how to publish through the server's checks. */
export interface TestOrganisation extends TestSigner {
  /** Signs and publishes an object (the server verifies it against the root); resolves its bytes. */
  publish(object: OrganisationPayload & { readonly sequence?: number }): Promise<Uint8Array>;
  /** Signs and publishes a policy layer. */
  policyLayer(
    layer: PolicyLayerPayload['layer'],
    target: string | null,
    document: PolicyLayerPayload['document'],
  ): Promise<Uint8Array>;
  /** Signs and publishes a wipe of a device; resolves its bytes. */
  wipe(user: string, deviceId: DeviceId): Promise<Uint8Array>;
}

export interface TestSystem {
  readonly server: CloisterServer;
  readonly url: string;
  /** The server's data directory (PGlite): a server started on it again has the same state. */
  readonly dataDir: string;
  readonly signingPublicKey: Uint8Array;
  /** The tenant's organisation root; undefined with `{ root: false }`. */
  readonly organisation: TestOrganisation | undefined;
  /** An enrolment code: `<token>.<root digest>` with a root, the plain token without one. */
  token(user: string, pool?: string): Promise<string>;
  /** A plain 43-character enrolment token (the user joins `pool` when given). */
  rawToken(user: string, pool?: string): Promise<string>;
  /** A signer of the operator's own: another root with an owner certificate of this tenant. */
  operatorSigner(): Promise<TestSigner>;
  /**
   * Creates and enrols a client for `user` (a new device each call) and starts it. A later device
   * of a user is linked from the user's first device unless `link` is false (it then stays
   * pending, as a device enrolled with a token alone does).
   */
  client(
    user: string,
    options?: {
      suites?: Suite[];
      storage?: StorageAdapter;
      start?: boolean;
      link?: boolean;
      /** The enrolment code to use instead of a fresh one for `user`. */
      code?: string;
    } & Partial<ClientOptions>,
  ): Promise<CloisterClient>;
  close(): Promise<void>;
}

const DAY = 86_400_000;

/** A root of its own with an owner certificate for `TENANT`, signing with the server's next sequences. */
async function makeSigner(server: CloisterServer): Promise<TestSigner> {
  const ctx = server.context;
  const root = await generateOrganisationRoot(ctx.provider);
  const now = Date.now();
  const certificate = await issueAdminCertificate(ctx.provider, root.privateKey, {
    tenant: TENANT,
    admin: 'owner-1',
    adminPublicKey: root.publicKey,
    role: 'owner',
    issuedAtMs: now - 60_000,
    expiresAtMs: now + 365 * DAY,
    serial: 1,
  });
  return {
    root,
    fingerprint: await rootFingerprint(ctx.provider, root.publicKey),
    certificate,
    async sign(object) {
      const { sequence, issuedAtMs, ...rest } = object as typeof object & Record<string, unknown>;
      return signOrganisationObject(ctx.provider, root.privateKey, certificate, {
        ...(rest as unknown as OrganisationPayload),
        tenant: TENANT,
        issuedAtMs: (issuedAtMs as number | undefined) ?? Date.now(),
        sequence:
          (sequence as number | undefined) ?? (await nextOrganisationSequence(ctx, TENANT, object.kind)),
      });
    },
  };
}

/** Gives `TENANT` its organisation root and publishes a delegation for its server key. */
async function makeOrganisation(server: CloisterServer, serverKey: Uint8Array): Promise<TestOrganisation> {
  const ctx = server.context;
  const signer = await makeSigner(server);
  await setOrganisationRoot(ctx, TENANT, {
    rootPublicKey: signer.root.publicKey,
    ownerCertificate: signer.certificate,
    actor: 'owner-1',
  });
  const publish = async (object: OrganisationPayload & { readonly sequence?: number }) => {
    const bytes = await signer.sign(object);
    await publishOrganisationObject(ctx, TENANT, bytes, { actor: 'owner-1' });
    return bytes;
  };
  const notBeforeMs = Date.now() - 60_000;
  await publish({
    kind: 'certificate-delegation',
    payload: { serverSigningPublicKey: serverKey, notBeforeMs, notAfterMs: notBeforeMs + 7 * DAY },
  });
  return {
    ...signer,
    publish,
    policyLayer: (layer, target, document) =>
      publish({ kind: 'policy-layer', payload: { layer, target, document } }),
    wipe: (user, deviceId) =>
      publish({
        kind: 'wipe',
        payload: { user: userId(user), deviceId, commandId: ctx.provider.randomBytes(16) },
      }),
  };
}

export async function startSystem(options: { readonly root?: boolean } = {}): Promise<TestSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-client-e2e-'));
  // Every test client shares one address: the per-address limit is raised so that it never trips.
  const server = await createServer({ dataDir, logLevel: 'silent', rateLimitPerMinute: 10_000 });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  const { signingPublicKey } = await createTenant(server.context, { id: TENANT, name: 'ACME' });
  const organisation = options.root === false ? undefined : await makeOrganisation(server, signingPublicKey);
  const clients: CloisterClient[] = [];
  const firstDevice = new Map<string, CloisterClient>();
  const rawToken = async (user: string, pool?: string) =>
    (
      await createEnrolmentToken(server.context, {
        tenant: TENANT,
        user: userId(user),
        ...(pool === undefined ? {} : { pool: poolId(pool) }),
      })
    ).token;
  const token = async (user: string, pool?: string) =>
    organisation === undefined
      ? rawToken(user, pool)
      : `${await rawToken(user, pool)}.${organisation.fingerprint.slice(ROOT_FINGERPRINT_PREFIX.length)}`;
  return {
    server,
    url,
    dataDir,
    signingPublicKey,
    organisation,
    token,
    rawToken,
    operatorSigner: () => makeSigner(server),
    async client(user, options = {}) {
      const { suites, storage, start = true, link = true, code, ...rest } = options;
      const client = await createClient({
        server: { url, pin: server.pin },
        storage: storage ?? createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        ...(suites === undefined ? {} : { suites }),
        ...rest,
      });
      const enrolling = client.status === 'unenrolled';
      if (enrolling) await client.enroll(code ?? (await token(user)), { pin: PIN });
      else await client.unlock(PIN);
      const first = firstDevice.get(user);
      if (first === undefined) firstDevice.set(user, client);
      else if (enrolling && link && first.status === 'ready') {
        await first.linkDevice(await client.linkCode());
        await client.linkStatus();
      }
      if (start) await client.start();
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the first event of `type` that satisfies `match`, or rejects after `ms`. */
export function nextEvent<E extends ClientEvent['type']>(
  client: CloisterClient,
  type: E,
  match: (e: Extract<ClientEvent, { type: E }>) => boolean = () => true,
  ms = 10_000,
): Promise<Extract<ClientEvent, { type: E }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** A transport that records the method and path of every request in `log`. */
export function recording(log: string[]): TransportFactory {
  return (options) => {
    const inner = createNodeTransport(options);
    return {
      ...inner,
      request: async (method, path, body) => {
        log.push(`${method} ${path}`);
        return inner.request(method, path, body);
      },
    };
  };
}

/** The requests of a {@link recording} log that touched blobs (uploads and downloads). */
export const blobRequests = (log: readonly string[]): string[] => log.filter((l) => l.includes('/v1/blobs'));
