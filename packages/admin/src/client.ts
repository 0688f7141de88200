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

import {
  type CryptoProvider,
  getProvider,
  InvalidKeyError,
  UsageError,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import {
  type AdminRole,
  equalRootFingerprints,
  type ManagedConfigValues,
  managedConfigValues,
  type OrganisationObjectKind,
  rootFingerprint,
} from '@cloister/protocol';
import { toBase64Url } from './_base64url.js';
import { AllowlistApi } from './allowlist.js';
import { ArchiveApi } from './archive/api.js';
import { DevicesApi } from './devices.js';
import { type AuditGap, AuditLogApi } from './audit-log.js';
import { BroadcastsApi } from './broadcasts.js';
import { BulkApi } from './bulk.js';
import type { AdminCaller } from './caller.js';
import { enrolmentCode } from './enrolment-code.js';
import { errorFromAnswer } from './errors.js';
import { IntegrationsApi } from './integrations.js';
import { ScimApi } from './scim.js';
import { PoolsApi } from './pools.js';
import { RestrictionsApi } from './restrictions.js';
import { StatisticsApi } from './statistics.js';
import { SubjectsApi } from './subjects.js';
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
 * const options: AdminClientOptions = {
 *   transport,
 *   credential: { kind: 'session', token: session.token },
 *   organisationRoot: rootPublicKey,
 * };
 * ```
 */
export interface AdminClientOptions {
  /** How requests reach the server (`pinnedTransport` from `@cloister/admin/node`, or {@link fetchTransport}). */
  readonly transport: AdminTransport;
  /** The credential sent with every request; none for `login` and `openApi`. */
  readonly credential?: AdminCredential;
  /** The organisation root public key this administrator holds locally (32 bytes). */
  readonly organisationRoot?: Uint8Array;
  /** Default: `getProvider()`. */
  readonly provider?: CryptoProvider;
  /**
   * The server's base URL and key pin as devices reach it, for the managed configurations that
   * `inviteUser({ managed: true })` builds (the values the transport was pinned to, usually).
   */
  readonly server?: { readonly url: string; readonly pin: string };
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
  /** The tenant id. */
  readonly tenant: string;
  /** The administrator's e-mail address. */
  readonly email: string;
  /** The administrator's password. */
  readonly password: string;
  /** The current 6-digit TOTP code; give exactly one of `totp` and `recoveryCode`. */
  readonly totp?: string;
  /** A single-use recovery code (`xxxx-xxxx-xxxx-xxxx`), accepted once the TOTP is active. */
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
  /** The session token (43 base64url characters): a secret, sent as `Cloister-Admin <token>`. */
  readonly token: string;
  /** The tenant id. */
  readonly tenant: string;
  /** The administrator's id (`adm_…`). */
  readonly admin: string;
  /** The administrator's role. */
  readonly role: AdminRole;
  /** The session's hard end, ms since the epoch (8 hours after login). */
  readonly expiresAt: number;
  /** How long the session may stay unused before it ends, in ms (15 minutes). */
  readonly idleTimeoutMs: number;
  /** Until when the second factor counts as fresh, ms since the epoch (5 minutes after it). */
  readonly freshFactorUntil: number;
  /** How many unused recovery codes the administrator has left. */
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
  /** The tenant id. */
  readonly tenant: string;
  /** The caller's administrator id (`adm_…`). */
  readonly admin: string;
  /** The caller's e-mail address. */
  readonly email: string;
  /** The caller's display name. */
  readonly name: string;
  /** The caller's role. */
  readonly role: AdminRole;
  /** Whether the caller authenticated with a session or an integration key. */
  readonly via: 'session' | 'key';
  /** The permissions the role (or the key's scopes) grants, e.g. `users.read`. */
  readonly permissions: readonly string[];
  /** The session's hard end, ms since the epoch (sessions only). */
  readonly expiresAt?: number;
  /** Until when the second factor counts as fresh, ms since the epoch (sessions only). */
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
  /** The new tenant's id. */
  readonly id: string;
  /** The tenant's display name. */
  readonly name: string;
  /** The tenant's e-mail domains. */
  readonly domains?: readonly string[];
  /** The first owner: e-mail address, display name and password (12 .. 1024 characters). */
  readonly owner: { readonly email: string; readonly name: string; readonly password: string };
}

/**
 * `POST /admin/v1/tenants`'s answer: the owner's TOTP URI and recovery codes, shown once.
 *
 * @example
 * ```ts
 * const { tenant, owner } = await operator.createTenant({
 *   id: 'acme', name: 'ACME', owner: { email, name: 'Olivia', password },
 * });
 * // show owner.totpUri as a QR code and owner.recoveryCodes to the owner, once
 * ```
 */
export interface CreateTenantAnswer {
  /** The tenant created. */
  readonly tenant: TenantView;
  /** The first owner: their id, TOTP URI (for a QR code) and recovery codes, shown once. */
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
 * const invited = await admin.inviteAdministrator({
 *   email: 'ci@acme.example', name: 'CI', role: 'integration', scopes: ['users.read'],
 * });
 * const apiKey = 'apiKey' in invited ? invited.apiKey : undefined; // shown once: keep it now
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
  /** The user id; the user is created when missing. */
  readonly user: string;
  /** A new user's display name (default: the id); an existing user keeps theirs. */
  readonly displayName?: string;
  /** A new user's pools, which must exist. */
  readonly pools?: readonly string[];
  /** A new user's e-mail address (the server lower-cases its domain); an existing user keeps theirs. */
  readonly email?: string;
  /** The token's lifetime in ms, 1 minute .. 366 days (default 7 days). */
  readonly ttlMs?: number;
  /** How many devices may enrol with the token, 1 .. 100 (default 1). */
  readonly uses?: number;
  /**
   * A managed enrolment token for an MDM configuration (`spec/managed-config.md`): single-use,
   * `ttlMs` default 8 hours, at most 72; the answer carries `managedConfig`. Needs the client's
   * `server` option and the tenant's organisation root.
   */
  readonly managed?: boolean;
}

/**
 * An invitation as the SDK returns it: the server's answer with `enrolmentCode` computed locally
 * from the token and the root this administrator holds (`rootVerified`), or the server's when the
 * client holds no root (`rootVerified: false`).
 *
 * @example
 * ```ts
 * const invite = await admin.inviteUser({ user: 'alice' });
 * const code = invite.rootVerified ? invite.enrolmentCode : null; // hand it to Alice, never log it
 * ```
 */
export interface UserInvitation {
  /** The enrolment token (43 base64url characters), answered once: a secret. */
  readonly token: string;
  /** When the token expires, ms since the epoch. */
  readonly expiresAt: number;
  /** The organisation root's fingerprint (`cloister-root:v1:…`), or null when the tenant has no root. */
  readonly rootFingerprint: string | null;
  /** `<token>.<fingerprint digest>` (87 characters), or null when the tenant has no root. */
  readonly enrolmentCode: string | null;
  /** True when the fingerprint and the code were checked against the root this client holds. */
  readonly rootVerified: boolean;
  /**
   * For `managed: true`: the managed configuration to push to the device (server URL and pin
   * from the client's `server` option, the root fingerprint, the token, the tenant, the user as
   * hint). Contains the token: a secret, never log it.
   */
  readonly managedConfig?: ManagedConfigValues;
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
  /** The organisation root's fingerprint (`cloister-root:v1:…`), or null before it is set. */
  readonly rootFingerprint: string | null;
  /** The tenant's server signing key (base64url, 32 bytes): what a delegation names. */
  readonly serverSigningKey: string;
  /** The next sequence of each kind. */
  readonly sequences: Readonly<Record<OrganisationObjectKind, number>>;
  /** The validity (ms since the epoch) of the current certificate delegation, or null. */
  readonly delegation: { readonly notBeforeMs: number; readonly notAfterMs: number } | null;
}

/**
 * The answer of every publish route.
 *
 * @example
 * ```ts
 * const { kind, sequence, scope } = await admin.publishPoolRules(bytes);
 * ```
 */
export interface PublishAnswer {
  /** The kind of the object published. */
  readonly kind: OrganisationObjectKind;
  /** Its sequence number (per kind, from 1). */
  readonly sequence: number;
  /** The scope it replaces an older object in, e.g. `wipe/alice/2` or `policy-layer/tenant`. */
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
  /** `none`, `pending` (published, not yet reported by the device) or `confirmed`. */
  readonly state: 'none' | 'pending' | 'confirmed';
  /** The wipe command's id (base64url of 16 bytes), or null without a wipe. */
  readonly commandId: string | null;
  /** When the wipe was published, ms since the epoch, or null. */
  readonly issuedAt: number | null;
  /** When the device's signed report arrived, ms since the epoch, or null. */
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
  /** Earliest record time, ms since the epoch (inclusive). */
  readonly from?: number;
  /** Latest record time, ms since the epoch (inclusive). */
  readonly to?: number;
  /** Only records of this actor (`adm_…`, `operator`, `system`). */
  readonly actor?: string;
  /** Only this action (`user.block`), or every action it starts when it ends with `.` (`user.`). */
  readonly action?: string;
  /** Only records of this target (`alice`, `alice/2`). */
  readonly target?: string;
  /** Most records in the page (default 100). */
  readonly limit?: number;
  /** Read from the record after this sequence number (a page's `next`). */
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
  /** The page's items, possibly fewer than the limit (even none) when `next` is present. */
  readonly items: readonly T[];
  /** Where the next page starts; absent on the last page. */
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
  /** The tenant id. */
  readonly id: string;
  /** The display name. */
  readonly name: string;
  /** The tenant's e-mail domains. */
  readonly domains: readonly string[];
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** The tenant's server signing key (base64url, 32 bytes). */
  readonly serverSigningKey: string;
  /** The organisation root's fingerprint (`cloister-root:v1:…`), or null before it is set. */
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
  /** The administrator's id (`adm_…`). */
  readonly id: string;
  /** E-mail address. */
  readonly email: string;
  /** Display name. */
  readonly name: string;
  /** The administrator's role on the server (what the admin API lets them do). */
  readonly role: AdminRole;
  /** An integration's permissions; empty for a person. */
  readonly scopes: readonly string[];
  /** True when the administrator may no longer authenticate. */
  readonly disabled: boolean;
  /** The TOTP: `none` (an integration), `pending` (no code accepted yet) or `active`. */
  readonly totp: 'none' | 'pending' | 'active';
  /** Creation time, ms since the epoch. */
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
  /** The user id. */
  readonly id: string;
  /** Display name. */
  readonly displayName: string;
  /** The pools the user belongs to. */
  readonly pools: readonly string[];
  /** True when the user's devices are refused. */
  readonly blocked: boolean;
  /** The user's e-mail address (domain lower-cased), or null. */
  readonly email: string | null;
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** Present when a directory manages the user (`spec/directory.md` §1). */
  readonly directory?: {
    /** `scim` or `ldap:<name>`. */
    readonly source: string;
    /** The directory's id of the user, or null. */
    readonly externalId: string | null;
    /** The directory's view: `active`, `disabled` or `left`. */
    readonly state: 'active' | 'disabled' | 'left';
    /** When `state` last changed, ms. */
    readonly since: number;
    /** The directory re-enabled the user; not applied until an administrator unblocks. */
    readonly reenableRequested: boolean;
  };
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
  /** The device id within its user. */
  readonly id: number;
  /** True when the device is refused. */
  readonly blocked: boolean;
  /** Enrolment time, ms since the epoch. */
  readonly createdAt: number;
  /** Last request answered, ms since the epoch (recorded at most every 5 minutes), or null. */
  readonly lastSeenAt: number | null;
  /** The device's identity signing key (base64url Ed25519 public key). */
  readonly identityKey: string;
  /** What the device sends as `cloister-client-version`, or null. */
  readonly clientVersion: string | null;
  /** `managed` when the device enrolled with a managed token (an MDM configuration), else `token`. */
  readonly enrolledVia: 'token' | 'managed';
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
  /** The user id. */
  readonly user: string;
  /** When the user was created, ms since the epoch. */
  readonly createdAt: number;
  /** True when the user is blocked. */
  readonly blocked: boolean;
  /** Enrolment of the oldest device still enrolled, ms since the epoch, or null. */
  readonly enrolledAt: number | null;
  /** The latest of the devices' last-seen times, ms since the epoch, or null. */
  readonly lastSeenAt: number | null;
  /** How many devices the user has. */
  readonly deviceCount: number;
  /** What waits in all the user's mailboxes (envelopes, stored bytes) and one mailbox's quotas. */
  readonly pending: {
    readonly envelopes: number;
    readonly bytes: number;
    readonly maxEnvelopesPerMailbox: number;
    readonly maxBytesPerMailbox: number;
  };
  /** Each device: id, times (ms since the epoch), blocked flag, client version and mailbox. */
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
  /** The storage quotas the server enforces (bytes and counts). */
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
  /** The record's sequence number in the tenant's chain, from 1. */
  readonly seq: number;
  /** When it was written, ms since the epoch. */
  readonly at: number;
  /** Who acted: an administrator id, `operator` or `system`. */
  readonly actor: string;
  /** What was done, e.g. `user.block`. */
  readonly action: string;
  /** What it was done to, e.g. `alice` or `alice/2`. */
  readonly target: string;
  /** `success`, or `failure` for a refused attempt. */
  readonly outcome: string;
  /** The action's details (bytes as base64url; never secrets). */
  readonly details: JsonObject;
  /** The previous record's hash (base64url). */
  readonly prevHash: string;
  /** This record's hash in the chain (base64url). */
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
 * const transport = pinnedTransport({ url: 'https://relay.example:8443', pin });
 * const { client: admin } = await AdminClient.login({ transport }, { tenant: 'acme', email, password, totp });
 * await admin.blockUser('mallory');
 * ```
 */
export class AdminClient {
  readonly #transport: AdminTransport;
  readonly #credential: AdminCredential | undefined;
  readonly #root: Uint8Array | undefined;
  readonly #provider: CryptoProvider | undefined;
  readonly #server: { readonly url: string; readonly pin: string } | undefined;
  /** The calls each area of the SDK is built on (`caller.ts`). */
  readonly #caller: AdminCaller = {
    call: (method, path, options) => this.#call(method, path, options),
    send: (method, path, options) => this.#send(method, path, options),
    provider: () => this.#provide(),
  };

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
    if (options.server !== undefined) {
      if (
        typeof options.server !== 'object' ||
        options.server === null ||
        typeof options.server.url !== 'string' ||
        typeof options.server.pin !== 'string'
      ) {
        throw new ValidationError('options.server', 'an object with url and pin');
      }
      this.#server = { url: options.server.url, pin: options.server.pin };
    }
  }

  /**
   * Logs in with a password and a TOTP code (or a recovery code); resolves a client holding the
   * new session and the session's answer (its token is what a session store keeps).
   *
   * @example
   * ```ts
   * const { client, session } = await AdminClient.login({ transport }, { tenant: 'acme', email, password, totp });
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
   * import { readFileSync } from 'node:fs';
   * const token = readFileSync('./cloister-data/operator.token', 'utf8').trim();
   * const operator = admin.withCredential({ kind: 'operator', token });
   * ```
   */
  withCredential(credential: AdminCredential): AdminClient {
    return new AdminClient({
      transport: this.#transport,
      credential,
      ...(this.#root === undefined ? {} : { organisationRoot: this.#root }),
      ...(this.#provider === undefined ? {} : { provider: this.#provider }),
      ...(this.#server === undefined ? {} : { server: this.#server }),
    });
  }

  /**
   * The same client with the server's URL and key pin as devices reach it (the `server` option),
   * which `inviteUser({ managed: true })` puts into the managed configuration.
   *
   * @example
   * ```ts
   * const devicesReach = { url: 'https://relay.example:8443', pin };
   * const { managedConfig } = await admin.withServer(devicesReach).inviteUser({ user: 'ann', managed: true });
   * ```
   */
  withServer(server: { readonly url: string; readonly pin: string }): AdminClient {
    return new AdminClient({
      transport: this.#transport,
      ...(this.#credential === undefined ? {} : { credential: this.#credential }),
      ...(this.#root === undefined ? {} : { organisationRoot: this.#root }),
      ...(this.#provider === undefined ? {} : { provider: this.#provider }),
      server,
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

  // --- Areas: each a class of its own module, built on `this.#caller` --------------------------

  /**
   * Integrations: API keys (`admin.integrations.createKey()`, `.keys()`, `.revokeKey()`) and
   * signed webhooks (`.createWebhook()`, `.webhooks()`, `.deleteWebhook()`, `.deliveries()`).
   *
   * @example
   * ```ts
   * const { apiKey } = await admin.integrations.createKey('adm_…', { name: 'HR sync', scopes: ['users:read'] });
   * ```
   */
  get integrations(): IntegrationsApi {
    return new IntegrationsApi(this.#caller);
  }

  /**
   * The compliance archive as auditors read it: `admin.archive.createKeySet()`, `.keySets()`,
   * `.items()`, `.export()`, and legal holds `.holds.create()`, `.list()`, `.lift()`
   * (`spec/audit-tool.md`).
   *
   * @example
   * ```ts
   * for await (const item of admin.archive.export({ from, to, purpose: 'case 2026-114' })) console.log(item.id);
   * ```
   */
  get archive(): ArchiveApi {
    return new ArchiveApi(this.#caller);
  }

  /**
   * SCIM tokens: `admin.scim.createToken()`, `.listTokens()`, `.revokeToken()`
   * (`spec/directory.md` §2).
   *
   * @example
   * ```ts
   * const { token } = await admin.scim.createToken({ name: 'Entra ID' });
   * ```
   */
  get scim(): ScimApi {
    return new ScimApi(this.#caller);
  }

  /**
   * The audit log for outsiders: `admin.audit.checkpoint()`, `.inclusionProof()`,
   * `.consistencyProof()`, `.logKey()`, `.export({ format })`.
   *
   * @example
   * ```ts
   * const note = await admin.audit.checkpoint();
   * ```
   */
  get audit(): AuditLogApi {
    return new AuditLogApi(this.#caller);
  }

  /**
   * Restrictions per tenant, pool and user layer, signed: `admin.restrictions.layers()`, `.get()`,
   * `.set()`, and the non-compliant devices: `.nonCompliant()`.
   *
   * @example
   * ```ts
   * await admin.restrictions.set(signer, { layer: 'tenant' }, { screenshots: { value: false, locked: true } });
   * ```
   */
  get restrictions(): RestrictionsApi {
    return new RestrictionsApi(this.#caller);
  }

  /**
   * Filters and bulk jobs: `admin.bulk.findUsers()`, `.users()`, `.findDevices()`, `.devices()`,
   * `.dryRun()`, `.block()`, `.unblock()`, `.move()`, `.invite()`, `.wipe()`, `.delete()`,
   * `.wait()`, `.results()`, `.resume()`.
   *
   * @example
   * ```ts
   * const job = await admin.bulk.block({ filter: { domain: 'contractor.example' } });
   * ```
   */
  get bulk(): BulkApi {
    return new BulkApi(this.#caller);
  }

  /**
   * Pools (closed areas): `admin.pools.list()`, `.get()`, `.create()`, `.rename()`, `.delete()`,
   * `.members()`, `.add()`, `.remove()`, `.setUserPools()`.
   *
   * @example
   * ```ts
   * await admin.pools.add('ward-3', ['alice', 'bob']);
   * ```
   */
  get pools(): PoolsApi {
    return new PoolsApi(this.#caller);
  }

  /**
   * The allowlist of who may be invited and enrol: `admin.allowlist.get()`, `.replace()`, `.add()`, `.remove()`.
   *
   * @example
   * ```ts
   * await admin.allowlist.replace({ enabled: true, domains: ['acme.example'] });
   * ```
   */
  get allowlist(): AllowlistApi {
    return new AllowlistApi(this.#caller);
  }

  /**
   * Zero-touch admission of enrolled devices by the organisation: `admin.devices.admissionState()`,
   * `.admit()`, `.admitManaged()` (`spec/device-lists.md` §5).
   *
   * @example
   * ```ts
   * const { admitted } = await admin.devices.admitManaged(signer);
   * ```
   */
  get devices(): DevicesApi {
    return new DevicesApi(this.#caller);
  }

  /**
   * Usage statistics: `admin.statistics.daily()`, `.monthly()`, `.csv()`.
   *
   * @example
   * ```ts
   * const { series } = await admin.statistics.daily({ from: '2026-11-01' });
   * ```
   */
  get statistics(): StatisticsApi {
    return new StatisticsApi(this.#caller);
  }

  /**
   * Data-subject requests: `admin.subjects.export(user)`, `admin.subjects.erase(user)`.
   *
   * @example
   * ```ts
   * const doc = await admin.subjects.export('u-7f3a');
   * ```
   */
  get subjects(): SubjectsApi {
    return new SubjectsApi(this.#caller);
  }

  /**
   * Broadcasts sent end to end: `admin.broadcasts.send(...)`, `admin.broadcasts.counts(id)`.
   *
   * @example
   * ```ts
   * const { broadcastId } = await admin.broadcasts.send({ text: 'Fire drill at 10:00', audience: { kind: 'tenant' } }, signer);
   * ```
   */
  get broadcasts(): BroadcastsApi {
    return new BroadcastsApi(this.#caller);
  }

  // --- Session -------------------------------------------------------------------------------

  /**
   * Who is calling: `GET /admin/v1/session`.
   *
   * @example
   * ```ts
   * const { role, permissions } = await admin.whoami();
   * ```
   */
  whoami(): Promise<WhoAmI> {
    return this.#caller.call('GET', '/admin/v1/session');
  }

  /**
   * Presents a fresh TOTP code (step-up) for routes that need a fresh second factor.
   *
   * @example
   * ```ts
   * const { freshFactorUntil } = await admin.stepUp(totp);
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
   * await admin.logout();
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
   * const created = await operator.createTenant({ id: 'acme', name: 'ACME', owner: { email, name: 'Olivia', password } });
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
   * await admin.setAdministratorRole('adm_3kT9fQx2VbN7LmP0aR5sWe', 'user-manager');
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
   * await admin.removeAdministrator('adm_3kT9fQx2VbN7LmP0aR5sWe');
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
   * const { managedConfig } = await admin.inviteUser({ user: 'bob', managed: true }); // push it with the MDM
   * ```
   */
  async inviteUser(input: InviteUserInput): Promise<UserInvitation> {
    // Checked before the call: a managed invite this client cannot complete spends no token.
    if (input?.managed === true && this.#server === undefined) {
      throw new UsageError('a managed invite needs the server option (url and pin) of AdminClient');
    }
    const answer = await this.#call<{
      token: string;
      expiresAt: number;
      rootFingerprint: string | null;
      enrolmentCode: string | null;
      tenant?: string;
    }>('POST', '/admin/v1/users/invite', { json: input });
    const ours = await this.#checkRoot(answer.rootFingerprint ?? null, 'rootFingerprint');
    const managed = (fingerprint: string | null) => {
      if (input.managed !== true || this.#server === undefined) return {};
      if (fingerprint === null || typeof answer.tenant !== 'string') {
        throw new InvalidKeyError(
          'rootFingerprint',
          'a managed invite names the organisation root and the tenant',
        );
      }
      return {
        managedConfig: managedConfigValues({
          serverUrl: this.#server.url,
          serverPin: this.#server.pin,
          organisationRoot: fingerprint,
          enrolmentToken: answer.token,
          tenant: answer.tenant,
          userHint: input.user,
        }),
      };
    };
    if (ours === undefined) {
      return {
        token: answer.token,
        expiresAt: answer.expiresAt,
        rootFingerprint: answer.rootFingerprint ?? null,
        enrolmentCode: answer.enrolmentCode ?? null,
        rootVerified: false,
        ...managed(answer.rootFingerprint ?? null),
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
      ...managed(ours),
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
   * Detaches a user from their directory (fresh second factor): the directory record goes, so a
   * user who left the directory may then be unblocked.
   *
   * @example
   * ```ts
   * await admin.detachUser('usr_…');
   * await admin.unblockUser('usr_…');
   * ```
   */
  detachUser(user: string): Promise<UserView> {
    return this.#call('POST', `/admin/v1/users/${seg(user)}/detach`);
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
   * // bytes: a wipe command signed with signOrganisationObject (signWipe does both steps)
   * const { sequence } = await admin.wipeDevice('alice', 2, bytes);
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
   * const page = await admin.searchAudit({ actor: 'adm_3kT9fQx2VbN7LmP0aR5sWe', limit: 50 });
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
   * beyond one line. Where sequence numbers are missing the server sends a gap record
   * `{ type: 'gap', from, to }` instead of skipping them.
   *
   * @example
   * ```ts
   * const from = Date.now() - 30 * 86_400_000;
   * for await (const record of admin.exportAudit({ from })) process.stdout.write(`${JSON.stringify(record)}\n`);
   * ```
   */
  async *exportAudit(
    query: { readonly from?: number; readonly to?: number } = {},
  ): AsyncGenerator<AuditRecordView | AuditGap> {
    const response = await this.#send('GET', '/admin/v1/audit/export', { query: queryOf({ ...query }) });
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line.length > 0) yield JSON.parse(line) as AuditRecordView | AuditGap;
        nl = pending.indexOf('\n');
      }
      if (pending.length > 1024 * 1024) throw new ValidationError('response', 'JSON lines of at most 1 MiB');
    }
    pending += decoder.decode();
    if (pending.trim().length > 0) yield JSON.parse(pending) as AuditRecordView | AuditGap;
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
