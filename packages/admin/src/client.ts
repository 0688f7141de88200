/**
 * `AdminClient`: a typed call for every route of the admin API (`spec/admin-sdk.md` §4), over an
 * {@link AdminTransport}, with the server's error answers turned into typed errors
 * ({@link errorFromAnswer}). It holds one credential: an administrator session
 * (`Cloister-Admin`), an integration key (`Cloister-Admin-Key`) or the operator token
 * (`Cloister-Operator`).
 *
 * Where the server states something about the organisation root (`getOrganisation`'s
 * `rootFingerprint`, an invite's `rootFingerprint` and `enrolmentCode`), a client given the root
 * public key it holds locally (`organisationRoot`) checks the statement against it and refuses a
 * substituted root with `InvalidKeyError`; the enrolment code it returns is computed locally.
 *
 * @module
 */
import { type CryptoProvider, getProvider, InvalidKeyError, utf8, ValidationError } from '@cloister/crypto';
import {
  type AdminRole,
  equalRootFingerprints,
  type OrganisationObjectKind,
  rootFingerprint,
} from '@cloister/protocol';
import { toBase64Url } from './_base64url.js';
import { enrolmentCode } from './enrolment-code.js';
import { errorFromAnswer } from './errors.js';
import type { AdminRequest, AdminResponse, AdminTransport } from './transport.js';

/**
 * The credential an {@link AdminClient} sends.
 *
 * @example
 * ```ts
 * const credential: AdminCredential = { kind: 'session', token: session.token };
 * ```
 */
export type AdminCredential =
  | { readonly kind: 'session'; readonly token: string }
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'operator'; readonly token: string };

/**
 * Options of {@link AdminClient}.
 *
 * @example
 * ```ts
 * const options: AdminClientOptions = { transport, credential, organisationRoot: root.publicKey };
 * ```
 */
export interface AdminClientOptions {
  readonly transport: AdminTransport;
  readonly credential?: AdminCredential;
  /** The organisation root public key this administrator holds locally (32 bytes). */
  readonly organisationRoot?: Uint8Array;
  /** Default: `getProvider()`. */
  readonly provider?: CryptoProvider;
}

/**
 * A JSON object the server answers with, where the SDK does not type it further.
 *
 * @example
 * ```ts
 * const layers: JsonObject = await admin.listPolicyLayers();
 * ```
 */
export type JsonObject = { readonly [key: string]: unknown };

/**
 * `POST /admin/v1/session`'s body.
 *
 * @example
 * ```ts
 * const input: LoginInput = { tenant: 'acme', email: 'olivia@acme.example', password, totp: '123456' };
 * ```
 */
export interface LoginInput {
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  readonly totp?: string;
  readonly recoveryCode?: string;
}

/**
 * `POST /admin/v1/session`'s answer.
 *
 * @example
 * ```ts
 * const { token, expiresAt, freshFactorUntil } = session;
 * ```
 */
export interface LoginAnswer {
  readonly token: string;
  readonly tenant: string;
  readonly admin: string;
  readonly role: AdminRole;
  readonly expiresAt: number;
  readonly idleTimeoutMs: number;
  readonly freshFactorUntil: number;
  readonly recoveryCodesLeft: number;
}

/**
 * `GET /admin/v1/session`'s answer.
 *
 * @example
 * ```ts
 * const me: WhoAmI = await admin.whoami();
 * ```
 */
export interface WhoAmI {
  readonly tenant: string;
  readonly admin: string;
  readonly email: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly via: 'session' | 'key';
  readonly permissions: readonly string[];
  readonly expiresAt?: number;
  readonly freshFactorUntil?: number;
}

/**
 * `POST /admin/v1/tenants`'s body (operator).
 *
 * @example
 * ```ts
 * const input: CreateTenantInput = { id: 'acme', name: 'ACME', owner: { email, name: 'Olivia', password } };
 * ```
 */
export interface CreateTenantInput {
  readonly id: string;
  readonly name: string;
  readonly domains?: readonly string[];
  readonly owner: { readonly email: string; readonly name: string; readonly password: string };
}

/**
 * `POST /admin/v1/tenants`'s answer: the owner's TOTP URI and recovery codes, shown once.
 *
 * @example
 * ```ts
 * const { owner } = await operator.createTenant(input); // owner.totpUri → QR code
 * ```
 */
export interface CreateTenantAnswer {
  readonly tenant: TenantView;
  readonly owner: {
    readonly admin: string;
    readonly totpUri: string;
    readonly recoveryCodes: readonly string[];
  };
}

/**
 * `POST /admin/v1/administrators`'s body: a person (password, TOTP set up from the answer) or an
 * integration (scopes; an API key in the answer).
 *
 * @example
 * ```ts
 * const input: InviteAdministratorInput = { email, name: 'Carol', role: 'user-manager', password };
 * ```
 */
export type InviteAdministratorInput =
  | {
      readonly email: string;
      readonly name: string;
      readonly role: Exclude<AdminRole, 'integration'>;
      readonly password: string;
    }
  | {
      readonly email: string;
      readonly name: string;
      readonly role: 'integration';
      readonly scopes: readonly string[];
    };

/**
 * `POST /admin/v1/administrators`'s answer: a person's TOTP URI and recovery codes, or an
 * integration's API key, shown once.
 *
 * @example
 * ```ts
 * const invited = await admin.inviteAdministrator(input);
 * if ('apiKey' in invited) store(invited.apiKey);
 * ```
 */
export type AdministratorInvitation =
  | { readonly admin: AdministratorView; readonly totpUri: string; readonly recoveryCodes: readonly string[] }
  | { readonly admin: AdministratorView; readonly apiKey: string };

/**
 * `POST /admin/v1/users/invite`'s body.
 *
 * @example
 * ```ts
 * const input: InviteUserInput = { user: 'alice', pools: ['ward-3'], ttlMs: 86_400_000 };
 * ```
 */
export interface InviteUserInput {
  readonly user: string;
  readonly displayName?: string;
  readonly pools?: readonly string[];
  readonly ttlMs?: number;
  readonly uses?: number;
}

/**
 * An invitation as the SDK returns it: the server's answer with `enrolmentCode` computed locally
 * from the token and the root this administrator holds (`rootVerified`), or the server's when the
 * client holds no root (`rootVerified: false`).
 *
 * @example
 * ```ts
 * const invite = await admin.inviteUser({ user: 'alice' });
 * if (invite.rootVerified) show(invite.enrolmentCode);
 * ```
 */
export interface UserInvitation {
  readonly token: string;
  readonly expiresAt: number;
  readonly rootFingerprint: string | null;
  readonly enrolmentCode: string | null;
  readonly rootVerified: boolean;
}

/**
 * `GET /admin/v1/organisation`'s answer.
 *
 * @example
 * ```ts
 * const { sequences } = await admin.getOrganisation();
 * console.log(sequences.wipe); // the next wipe's sequence
 * ```
 */
export interface OrganisationState {
  readonly rootFingerprint: string | null;
  /** The tenant's server signing key (base64url, 32 bytes): what a delegation names. */
  readonly serverSigningKey: string;
  /** The next sequence of each kind. */
  readonly sequences: Readonly<Record<OrganisationObjectKind, number>>;
  readonly delegation: { readonly notBeforeMs: number; readonly notAfterMs: number } | null;
}

/**
 * The answer of every publish route.
 *
 * @example
 * ```ts
 * const { kind, sequence, scope } = await admin.publishBroadcast(bytes);
 * ```
 */
export interface PublishAnswer {
  readonly kind: OrganisationObjectKind;
  readonly sequence: number;
  readonly scope: string;
}

/**
 * `GET …/devices/:device/wipe`'s answer.
 *
 * @example
 * ```ts
 * const { state } = await admin.getWipe('alice', 2);
 * ```
 */
export interface WipeState {
  readonly state: 'none' | 'pending' | 'confirmed';
  readonly commandId: string | null;
  readonly issuedAt: number | null;
  readonly confirmedAt: number | null;
}

/**
 * Filters of the audit search and export (all optional; times in ms since the epoch).
 *
 * @example
 * ```ts
 * const page = await admin.searchAudit({ action: 'device.wipe', limit: 50 });
 * ```
 */
export interface AuditQuery {
  readonly from?: number;
  readonly to?: number;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly limit?: number;
  readonly after?: number;
}

/**
 * A page of a list: `next`, when present, is passed as `after` for the following page.
 *
 * @example
 * ```ts
 * let page = await admin.listUsers();
 * while (page.next !== undefined) page = await admin.listUsers({ after: page.next });
 * ```
 */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

/**
 * A tenant as the admin API shows it.
 *
 * @example
 * ```ts
 * const { id, rootFingerprint } = await admin.getTenant();
 * ```
 */
export interface TenantView {
  readonly id: string;
  readonly name: string;
  readonly domains: readonly string[];
  readonly createdAt: number;
  readonly serverSigningKey: string;
  readonly rootFingerprint: string | null;
}

/**
 * An administrator as the admin API shows it.
 *
 * @example
 * ```ts
 * const { items } = await admin.listAdministrators();
 * ```
 */
export interface AdministratorView {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly scopes: readonly string[];
  readonly disabled: boolean;
  readonly totp: 'none' | 'pending' | 'active';
  readonly createdAt: number;
}

/**
 * A user as the admin API shows it.
 *
 * @example
 * ```ts
 * const alice: UserView = await admin.getUser('alice');
 * ```
 */
export interface UserView {
  readonly id: string;
  readonly displayName: string;
  readonly pools: readonly string[];
  readonly blocked: boolean;
  readonly createdAt: number;
}

/**
 * A device as the admin API shows it.
 *
 * @example
 * ```ts
 * const { items } = await admin.listDevices('alice');
 * ```
 */
export interface DeviceView {
  readonly id: number;
  readonly blocked: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number | null;
  readonly identityKey: string;
  readonly clientVersion: string | null;
}

/**
 * A user's activity: no content, no contacts.
 *
 * @example
 * ```ts
 * const { lastSeenAt, deviceCount } = await admin.userActivity('alice');
 * ```
 */
export interface UserActivity {
  readonly user: string;
  readonly createdAt: number;
  readonly blocked: boolean;
  readonly enrolledAt: number | null;
  readonly lastSeenAt: number | null;
  readonly deviceCount: number;
  /** What waits in all the user's mailboxes (envelopes, stored bytes) and one mailbox's quotas. */
  readonly pending: {
    readonly envelopes: number;
    readonly bytes: number;
    readonly maxEnvelopesPerMailbox: number;
    readonly maxBytesPerMailbox: number;
  };
  readonly devices: readonly {
    readonly id: number;
    readonly createdAt: number;
    readonly lastSeenAt: number | null;
    readonly blocked: boolean;
    readonly clientVersion: string | null;
    /** What waits in this device's mailbox: envelopes and the bytes they take in storage. */
    readonly pending: { readonly envelopes: number; readonly bytes: number };
  }[];
}

/**
 * What the tenant's blobs and archive hold on the server, and the storage quotas it enforces.
 *
 * @example
 * ```ts
 * const { blobs, archive, quotas } = await admin.usage();
 * const used = (blobs.bytes + archive.bytes) / quotas.tenantMaxBytes;
 * ```
 */
export interface TenantUsageView {
  /** Declared bytes and count of the tenant's blobs (unfinished uploads included). */
  readonly blobs: { readonly bytes: number; readonly count: number };
  /** Sealed bytes and items of the tenant's compliance archive. */
  readonly archive: { readonly bytes: number; readonly count: number };
  readonly quotas: {
    /** Most bytes of blobs and archive together. */
    readonly tenantMaxBytes: number;
    readonly blobMaxBytesPerDevice: number;
    readonly blobMaxCountPerDevice: number;
    /** Per mailbox. */
    readonly mailboxMaxEnvelopes: number;
    /** Per mailbox. */
    readonly mailboxMaxBytes: number;
  };
}

/**
 * One audit record (hash-chained).
 *
 * @example
 * ```ts
 * const { items } = await admin.searchAudit({ action: 'device.wipe' });
 * ```
 */
export interface AuditRecordView {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly details: JsonObject;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * The audit chain's verification.
 *
 * @example
 * ```ts
 * const check = await admin.verifyAudit();
 * if (!check.ok) console.log('broken at', check.firstBadSeq);
 * ```
 */
export type AuditVerification =
  | { readonly ok: true; readonly count: number; readonly head: string }
  | { readonly ok: false; readonly firstBadSeq: number };

type Method = AdminRequest['method'];

const seg = (value: string | number): string => encodeURIComponent(String(value));

function queryOf(
  q: Readonly<Record<string, string | number | undefined>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q ?? {})) if (v !== undefined) out[k] = String(v);
  return out;
}

async function readAll(body: AsyncIterable<Uint8Array>, limit = 64 * 1024 * 1024): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > limit) throw new ValidationError('response', `at most ${limit} bytes`);
    chunks.push(c);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * The admin API client.
 *
 * @example
 * ```ts
 * import { AdminClient } from '@cloister/admin';
 * import { pinnedTransport } from '@cloister/admin/node';
 * const transport = pinnedTransport({ url: 'https://relay.example:8443', pin: 'sha256/…' });
 * const { client: admin } = await AdminClient.login({ transport }, { tenant: 'acme', email, password, totp });
 * await admin.blockUser('mallory');
 * ```
 */
export class AdminClient {
  readonly #transport: AdminTransport;
  readonly #credential: AdminCredential | undefined;
  readonly #root: Uint8Array | undefined;
  readonly #provider: CryptoProvider | undefined;

  constructor(options: AdminClientOptions) {
    if (typeof options !== 'object' || options === null || typeof options.transport !== 'function') {
      throw new ValidationError('options.transport', 'a transport function');
    }
    if (options.organisationRoot !== undefined) {
      if (!(options.organisationRoot instanceof Uint8Array) || options.organisationRoot.length !== 32) {
        throw new ValidationError('options.organisationRoot', 'a 32-byte Ed25519 public key');
      }
    }
    this.#transport = options.transport;
    this.#credential = options.credential;
    this.#root = options.organisationRoot?.slice();
    this.#provider = options.provider;
  }

  /**
   * Logs in with a password and a TOTP code (or a recovery code); resolves a client holding the
   * new session and the session's answer (its token is what a session store keeps).
   *
   * @example
   * ```ts
   * const { client, session } = await AdminClient.login({ transport }, { tenant, email, password, totp });
   * ```
   */
  static async login(
    options: Omit<AdminClientOptions, 'credential'>,
    input: LoginInput,
  ): Promise<{ client: AdminClient; session: LoginAnswer }> {
    const anonymous = new AdminClient(options);
    const session = await anonymous.#call<LoginAnswer>('POST', '/admin/v1/session', { json: input });
    return { client: anonymous.withCredential({ kind: 'session', token: session.token }), session };
  }

  /**
   * The same client with another credential.
   *
   * @example
   * ```ts
   * const operator = admin.withCredential({ kind: 'operator', token: operatorToken });
   * ```
   */
  withCredential(credential: AdminCredential): AdminClient {
    return new AdminClient({
      transport: this.#transport,
      credential,
      ...(this.#root === undefined ? {} : { organisationRoot: this.#root }),
      ...(this.#provider === undefined ? {} : { provider: this.#provider }),
    });
  }

  /**
   * The organisation root public key this client checks the server's statements against.
   *
   * @example
   * ```ts
   * if (admin.organisationRoot === undefined) console.warn('no local root: invites are not checked');
   * ```
   */
  get organisationRoot(): Uint8Array | undefined {
    return this.#root?.slice();
  }

  #authorization(): Record<string, string> {
    const c = this.#credential;
    if (c === undefined) return {};
    if (c.kind === 'session') return { authorization: `Cloister-Admin ${c.token}` };
    if (c.kind === 'key') return { authorization: `Cloister-Admin-Key ${c.key}` };
    return { authorization: `Cloister-Operator ${c.token}` };
  }

  async #send(
    method: Method,
    path: string,
    options: { readonly json?: unknown; readonly query?: Record<string, string> } = {},
  ): Promise<AdminResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.#authorization() };
    let body: Uint8Array | undefined;
    if (options.json !== undefined) {
      body = utf8(JSON.stringify(options.json));
      headers['content-type'] = 'application/json';
    }
    const response = await this.#transport({
      method,
      path,
      headers,
      ...(options.query === undefined || Object.keys(options.query).length === 0
        ? {}
        : { query: options.query }),
      ...(body === undefined ? {} : { body }),
    });
    if (response.status >= 400) {
      const bytes = await readAll(response.body, 1024 * 1024);
      throw errorFromAnswer(response.status, parseJson(bytes), response.headers['retry-after']);
    }
    return response;
  }

  async #call<T>(
    method: Method,
    path: string,
    options: { readonly json?: unknown; readonly query?: Record<string, string> } = {},
  ): Promise<T> {
    const response = await this.#send(method, path, options);
    const bytes = await readAll(response.body);
    if (response.status === 204) return undefined as T;
    const json = parseJson(bytes);
    if (json === undefined) {
      throw errorFromAnswer(response.status, undefined);
    }
    return json as T;
  }

  async #provide(): Promise<CryptoProvider> {
    return this.#provider ?? getProvider();
  }

  /** Refuses a root statement that differs from the locally held root. */
  async #checkRoot(stated: string | null, field: string): Promise<string | undefined> {
    if (this.#root === undefined) return undefined;
    const ours = await rootFingerprint(await this.#provide(), this.#root);
    let same = false;
    try {
      same = stated !== null && equalRootFingerprints(ours, stated);
    } catch {
      same = false;
    }
    if (!same) {
      throw new InvalidKeyError(
        field,
        'the server states another organisation root than the one held locally',
      );
    }
    return ours;
  }

  // --- Session -------------------------------------------------------------------------------

  /**
   * Who is calling: `GET /admin/v1/session`.
   *
   * @example
   * ```ts
   * const { admin, role, permissions } = await client.whoami();
   * ```
   */
  whoami(): Promise<WhoAmI> {
    return this.#call('GET', '/admin/v1/session');
  }

  /**
   * Presents a fresh TOTP code (step-up) for routes that need a fresh second factor.
   *
   * @example
   * ```ts
   * const { freshFactorUntil } = await client.stepUp('123456');
   * ```
   */
  stepUp(totp: string): Promise<{ freshFactorUntil: number }> {
    return this.#call('POST', '/admin/v1/session/step-up', { json: { totp } });
  }

  /**
   * Ends the session: `DELETE /admin/v1/session`.
   *
   * @example
   * ```ts
   * await client.logout();
   * ```
   */
  async logout(): Promise<void> {
    await this.#call('DELETE', '/admin/v1/session');
  }

  // --- Tenants (operator) and the caller's tenant -----------------------------------------------

  /**
   * Creates a tenant and its first owner (operator credential).
   *
   * @example
   * ```ts
   * const created = await operator.createTenant({ id: 'acme', name: 'ACME', owner: { email, name, password } });
   * ```
   */
  createTenant(input: CreateTenantInput): Promise<CreateTenantAnswer> {
    return this.#call('POST', '/admin/v1/tenants', { json: input });
  }

  /**
   * Lists the tenants (operator credential).
   *
   * @example
   * ```ts
   * const tenants = await operator.listTenants();
   * ```
   */
  listTenants(query?: { readonly after?: string; readonly limit?: number }): Promise<Page<TenantView>> {
    return this.#call('GET', '/admin/v1/tenants', { query: queryOf(query) });
  }

  /**
   * The caller's tenant.
   *
   * @example
   * ```ts
   * const tenant = await admin.getTenant();
   * ```
   */
  getTenant(): Promise<TenantView> {
    return this.#call('GET', '/admin/v1/tenant');
  }

  /**
   * The tenant's e-mail domains.
   *
   * @example
   * ```ts
   * const domains = await admin.listDomains();
   * ```
   */
  listDomains(): Promise<{ domains: readonly string[] }> {
    return this.#call('GET', '/admin/v1/tenant/domains');
  }

  /**
   * Adds an e-mail domain to the tenant.
   *
   * @example
   * ```ts
   * await admin.addDomain('acme.example');
   * ```
   */
  addDomain(domain: string): Promise<{ domains: readonly string[] }> {
    return this.#call('POST', '/admin/v1/tenant/domains', { json: { domain } });
  }

  /**
   * Removes an e-mail domain.
   *
   * @example
   * ```ts
   * await admin.removeDomain('old.example');
   * ```
   */
  async removeDomain(domain: string): Promise<void> {
    await this.#call('DELETE', `/admin/v1/tenant/domains/${seg(domain)}`);
  }

  // --- Administrators ------------------------------------------------------------------------

  /**
   * Lists the tenant's administrators.
   *
   * @example
   * ```ts
   * const admins = await admin.listAdministrators();
   * ```
   */
  listAdministrators(query?: {
    readonly after?: string;
    readonly limit?: number;
  }): Promise<Page<AdministratorView>> {
    return this.#call('GET', '/admin/v1/administrators', { query: queryOf(query) });
  }

  /**
   * Invites an administrator: a person's answer carries the TOTP URI and recovery codes, an
   * integration's its API key, each shown once.
   *
   * @example
   * ```ts
   * const carol = await admin.inviteAdministrator({ email, name: 'Carol', role: 'admin', password });
   * ```
   */
  inviteAdministrator(input: InviteAdministratorInput): Promise<AdministratorInvitation> {
    return this.#call('POST', '/admin/v1/administrators', { json: input });
  }

  /**
   * Changes an administrator's role (fresh second factor).
   *
   * @example
   * ```ts
   * await admin.setAdministratorRole('adm_…', 'user-manager');
   * ```
   */
  setAdministratorRole(admin: string, role: AdminRole): Promise<AdministratorView> {
    return this.#call('PATCH', `/admin/v1/administrators/${seg(admin)}`, { json: { role } });
  }

  /**
   * Removes an administrator (fresh second factor).
   *
   * @example
   * ```ts
   * await admin.removeAdministrator('adm_…');
   * ```
   */
  async removeAdministrator(admin: string): Promise<void> {
    await this.#call('DELETE', `/admin/v1/administrators/${seg(admin)}`);
  }

  // --- Users ---------------------------------------------------------------------------------

  /**
   * Lists users (query passed through: paging as the server defines it).
   *
   * @example
   * ```ts
   * const page = await admin.listUsers({ limit: 100 });
   * ```
   */
  listUsers(query?: { readonly after?: string; readonly limit?: number }): Promise<Page<UserView>> {
    return this.#call('GET', '/admin/v1/users', { query: queryOf(query) });
  }

  /**
   * One user.
   *
   * @example
   * ```ts
   * const alice = await admin.getUser('alice');
   * ```
   */
  getUser(user: string): Promise<UserView> {
    return this.#call('GET', `/admin/v1/users/${seg(user)}`);
  }

  /**
   * Invites a user: an enrolment token and, when the tenant has a root, the enrolment code. With a
   * locally held root, the server's fingerprint must be that root's (else `InvalidKeyError`,
   * field `rootFingerprint`: the server substituted the root) and the code is computed here.
   *
   * @example
   * ```ts
   * const { enrolmentCode } = await admin.inviteUser({ user: 'alice' });
   * ```
   */
  async inviteUser(input: InviteUserInput): Promise<UserInvitation> {
    const answer = await this.#call<{
      token: string;
      expiresAt: number;
      rootFingerprint: string | null;
      enrolmentCode: string | null;
    }>('POST', '/admin/v1/users/invite', { json: input });
    const ours = await this.#checkRoot(answer.rootFingerprint ?? null, 'rootFingerprint');
    if (ours === undefined) {
      return {
        token: answer.token,
        expiresAt: answer.expiresAt,
        rootFingerprint: answer.rootFingerprint ?? null,
        enrolmentCode: answer.enrolmentCode ?? null,
        rootVerified: false,
      };
    }
    const code = enrolmentCode(answer.token, ours);
    if (
      answer.enrolmentCode !== null &&
      answer.enrolmentCode !== undefined &&
      answer.enrolmentCode !== code
    ) {
      throw new InvalidKeyError(
        'enrolmentCode',
        'the server names another organisation root than the one held locally',
      );
    }
    return {
      token: answer.token,
      expiresAt: answer.expiresAt,
      rootFingerprint: ours,
      enrolmentCode: code,
      rootVerified: true,
    };
  }

  /**
   * Blocks a user at once.
   *
   * @example
   * ```ts
   * await admin.blockUser('mallory');
   * ```
   */
  blockUser(user: string): Promise<UserView> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/block`);
  }

  /**
   * Unblocks a user.
   *
   * @example
   * ```ts
   * await admin.unblockUser('mallory');
   * ```
   */
  unblockUser(user: string): Promise<UserView> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/unblock`);
  }

  /**
   * Deletes a user and the server's data of theirs (fresh second factor).
   *
   * @example
   * ```ts
   * await admin.deleteUser('bob');
   * ```
   */
  async deleteUser(user: string): Promise<void> {
    await this.#call('DELETE', `/admin/v1/users/${seg(user)}`);
  }

  /**
   * A user's activity: enrolled, last seen, devices, versions (no content, no contacts).
   *
   * @example
   * ```ts
   * const activity = await admin.userActivity('alice');
   * ```
   */
  userActivity(user: string): Promise<UserActivity> {
    return this.#call('GET', `/admin/v1/users/${seg(user)}/activity`);
  }

  /**
   * What the tenant's blobs and archive hold, with the storage quotas (`activity.read`).
   *
   * @example
   * ```ts
   * const { blobs, archive } = await admin.usage();
   * ```
   */
  usage(): Promise<TenantUsageView> {
    return this.#call('GET', '/admin/v1/usage');
  }

  // --- Devices -------------------------------------------------------------------------------

  /**
   * A user's devices.
   *
   * @example
   * ```ts
   * const devices = await admin.listDevices('alice');
   * ```
   */
  listDevices(user: string): Promise<{ items: readonly DeviceView[] }> {
    return this.#call('GET', `/admin/v1/users/${seg(user)}/devices`);
  }

  /**
   * Blocks one device.
   *
   * @example
   * ```ts
   * await admin.blockDevice('alice', 2);
   * ```
   */
  blockDevice(user: string, device: number): Promise<DeviceView> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/devices/${seg(device)}/block`);
  }

  /**
   * Unblocks one device.
   *
   * @example
   * ```ts
   * await admin.unblockDevice('alice', 2);
   * ```
   */
  unblockDevice(user: string, device: number): Promise<DeviceView> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/devices/${seg(device)}/unblock`);
  }

  /**
   * Publishes a signed wipe command for one device (fresh second factor); see `signWipe`.
   *
   * @example
   * ```ts
   * await admin.wipeDevice('alice', 2, commandBytes);
   * ```
   */
  wipeDevice(user: string, device: number, command: Uint8Array): Promise<PublishAnswer> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/devices/${seg(device)}/wipe`, {
      json: { command: toBase64Url(command) },
    });
  }

  /**
   * Whether a device has a wipe, pending or confirmed.
   *
   * @example
   * ```ts
   * const { state } = await admin.getWipe('alice', 2);
   * ```
   */
  getWipe(user: string, device: number): Promise<WipeState> {
    return this.#call('GET', `/admin/v1/users/${seg(user)}/devices/${seg(device)}/wipe`);
  }

  // --- Organisation --------------------------------------------------------------------------

  /**
   * The organisation's state: root fingerprint, the server's signing key, the next sequence of
   * each kind, the current delegation. With a locally held root, a different (or missing)
   * fingerprint is an `InvalidKeyError` (field `rootFingerprint`).
   *
   * @example
   * ```ts
   * const { sequences, serverSigningKey } = await admin.getOrganisation();
   * ```
   */
  async getOrganisation(): Promise<OrganisationState> {
    const state = await this.#call<OrganisationState>('GET', '/admin/v1/organisation');
    if (state.rootFingerprint !== null) await this.#checkRoot(state.rootFingerprint, 'rootFingerprint');
    return state;
  }

  /**
   * Registers the organisation root with the owner certificate (once per tenant; fresh second
   * factor; the certificate must name the caller).
   *
   * @example
   * ```ts
   * await admin.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
   * ```
   */
  setOrganisationRoot(
    rootPublicKey: Uint8Array,
    ownerCertificate: Uint8Array,
  ): Promise<{ fingerprint: string }> {
    return this.#call('PUT', '/admin/v1/organisation/root', {
      json: { rootPublicKey: toBase64Url(rootPublicKey), ownerCertificate: toBase64Url(ownerCertificate) },
    });
  }

  /**
   * Publishes a signed policy layer.
   *
   * @example
   * ```ts
   * await admin.publishPolicyLayer(bytes);
   * ```
   */
  publishPolicyLayer(object: Uint8Array): Promise<PublishAnswer> {
    return this.#call('POST', '/admin/v1/organisation/policy-layers', {
      json: { object: toBase64Url(object) },
    });
  }

  /**
   * The stored signed policy layers.
   *
   * @example
   * ```ts
   * const layers = await admin.listPolicyLayers();
   * ```
   */
  listPolicyLayers(): Promise<JsonObject> {
    return this.#call('GET', '/admin/v1/organisation/policy-layers');
  }

  /**
   * Publishes a signed broadcast.
   *
   * @example
   * ```ts
   * await admin.publishBroadcast(bytes);
   * ```
   */
  publishBroadcast(object: Uint8Array): Promise<PublishAnswer> {
    return this.#call('POST', '/admin/v1/broadcasts', { json: { object: toBase64Url(object) } });
  }

  /**
   * The stored broadcasts.
   *
   * @example
   * ```ts
   * const broadcasts = await admin.listBroadcasts();
   * ```
   */
  listBroadcasts(): Promise<JsonObject> {
    return this.#call('GET', '/admin/v1/broadcasts');
  }

  /**
   * Publishes the signed pool rules.
   *
   * @example
   * ```ts
   * await admin.publishPoolRules(bytes);
   * ```
   */
  publishPoolRules(object: Uint8Array): Promise<PublishAnswer> {
    return this.#call('PUT', '/admin/v1/organisation/pool-rules', { json: { object: toBase64Url(object) } });
  }

  /**
   * Publishes a signed zero-touch device admission.
   *
   * @example
   * ```ts
   * await admin.publishAdmission(bytes);
   * ```
   */
  publishAdmission(object: Uint8Array): Promise<PublishAnswer> {
    return this.#call('POST', '/admin/v1/organisation/admissions', { json: { object: toBase64Url(object) } });
  }

  /**
   * Publishes a signed certificate delegation (owner, fresh second factor).
   *
   * @example
   * ```ts
   * await admin.publishDelegation(bytes);
   * ```
   */
  publishDelegation(object: Uint8Array): Promise<PublishAnswer> {
    return this.#call('POST', '/admin/v1/organisation/delegations', {
      json: { object: toBase64Url(object) },
    });
  }

  // --- Audit ---------------------------------------------------------------------------------

  /**
   * Searches the audit log (one page).
   *
   * @example
   * ```ts
   * const page = await admin.searchAudit({ actor: 'adm_…', limit: 50 });
   * ```
   */
  searchAudit(query: AuditQuery = {}): Promise<Page<AuditRecordView>> {
    return this.#call('GET', '/admin/v1/audit', { query: queryOf({ ...query }) });
  }

  /**
   * Verifies the audit log's hash chain.
   *
   * @example
   * ```ts
   * const result = await admin.verifyAudit();
   * ```
   */
  verifyAudit(): Promise<AuditVerification> {
    return this.#call('GET', '/admin/v1/audit/verify');
  }

  /**
   * Streams the audit log as records (the server sends JSON lines); nothing is held in memory
   * beyond one line.
   *
   * @example
   * ```ts
   * for await (const record of admin.exportAudit({ from })) out.write(`${JSON.stringify(record)}\n`);
   * ```
   */
  async *exportAudit(
    query: { readonly from?: number; readonly to?: number } = {},
  ): AsyncGenerator<AuditRecordView> {
    const response = await this.#send('GET', '/admin/v1/audit/export', { query: queryOf({ ...query }) });
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line.length > 0) yield JSON.parse(line) as AuditRecordView;
        nl = pending.indexOf('\n');
      }
      if (pending.length > 1024 * 1024) throw new ValidationError('response', 'JSON lines of at most 1 MiB');
    }
    pending += decoder.decode();
    if (pending.trim().length > 0) yield JSON.parse(pending) as AuditRecordView;
  }

  /**
   * The OpenAPI document of the admin API (no credential needed).
   *
   * @example
   * ```ts
   * const doc = await admin.openApi();
   * ```
   */
  openApi(): Promise<JsonObject> {
    return this.#call('GET', '/admin/v1/openapi.json');
  }
}
