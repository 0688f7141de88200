/**
 * A SCIM 2.0 client (RFC 7644) for the bridge: the users and groups (pools) of the Cloister
 * server's `/scim/v2`, authenticated with a SCIM bearer token. It speaks through an
 * {@link AdminTransport}: `pinnedTransport` in Node (the server's public-key pin is checked before
 * the token is written), or `fetchTransport` (WHATWG `fetch`) where the platform's TLS is the check.
 * Errors are typed ({@link ScimError}, with the HTTP status and SCIM `scimType`); 429 and 503 are
 * retried after `Retry-After` (at most three times, never longer than 60 s each).
 *
 * @module
 */
import { CloisterError, type CloisterErrorCode } from '@cloister/crypto';
import type { AdminRequest, AdminTransport } from '../transport.js';

/**
 * The SCIM schema URNs the bridge reads and writes.
 *
 * @example
 * ```ts
 * const body = { schemas: [SCIM_SCHEMAS.patch], Operations: [] };
 * ```
 */
export const SCIM_SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  cloisterUser: 'urn:ietf:params:scim:schemas:extension:cloister:2.0:User',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/**
 * A SCIM request failed: the HTTP status, the SCIM `scimType` when the server gave one, and its
 * `detail` (which the server keeps free of user data). `code` follows the status: 401
 * `ERR_UNAUTHENTICATED`, 403 `ERR_FORBIDDEN`, 404 `ERR_NOT_FOUND`, 409 and 412 `ERR_CONFLICT`, 429
 * `ERR_RATE_LIMITED`, 400 `ERR_VALIDATION`, anything else `ERR_USAGE`.
 *
 * @example
 * ```ts
 * try {
 *   await scim.patchUser('u_123', [{ op: 'replace', path: 'active', value: false }]);
 * } catch (e) {
 *   if (e instanceof ScimError && e.status === 409) console.log(e.scimType);
 * }
 * ```
 */
export class ScimError extends CloisterError {
  /** The class's name, kept through minification. */
  override name = 'ScimError';
  /** The HTTP status. */
  readonly status: number;
  /** The SCIM error type (`uniqueness`, `mutability`, `invalidFilter`, …), when given. */
  readonly scimType: string | undefined;

  constructor(status: number, scimType: string | undefined, detail: string | undefined) {
    super(
      codeFor(status),
      `SCIM request failed with HTTP ${status}${scimType === undefined ? '' : ` (${scimType})`}${detail === undefined ? '' : `: ${detail}`}`,
    );
    this.status = status;
    this.scimType = scimType;
  }
}

function codeFor(status: number): CloisterErrorCode {
  switch (status) {
    case 400:
      return 'ERR_VALIDATION';
    case 401:
      return 'ERR_UNAUTHENTICATED';
    case 403:
      return 'ERR_FORBIDDEN';
    case 404:
      return 'ERR_NOT_FOUND';
    case 409:
    case 412:
      return 'ERR_CONFLICT';
    case 429:
      return 'ERR_RATE_LIMITED';
    default:
      return 'ERR_USAGE';
  }
}

/**
 * A SCIM user as the Cloister server serves it (the fields the bridge reads).
 *
 * @example
 * ```ts
 * const user: ScimUser = await scim.getUser('u_123');
 * if (user.cloister.blocked) console.log('blocked');
 * ```
 */
export interface ScimUser {
  /** The Cloister user id. */
  readonly id: string;
  /** The directory's immutable id, or null. */
  readonly externalId: string | null;
  /** The SCIM `userName`. */
  readonly userName: string;
  /** `displayName` (else `name.formatted`), or null. */
  readonly displayName: string | null;
  /** The primary e-mail address, or null. */
  readonly email: string | null;
  /** The directory's view: true when `directoryState` is `active`. */
  readonly active: boolean;
  /** The Cloister extension (read-only attributes). */
  readonly cloister: {
    /** `scim` or `ldap:<name>`: which directory manages the user (null when none does). */
    readonly source: string | null;
    /** `active`, `disabled` or `left` (null when no directory manages the user). */
    readonly directoryState: 'active' | 'disabled' | 'left' | null;
    /** The Cloister block, whoever set it. */
    readonly blocked: boolean;
    /** A directory asked to re-enable the user and an administrator has not acted on it. */
    readonly reenableRequested: boolean;
  };
}

/**
 * A SCIM group (a pool): id, display name, members when asked for.
 *
 * @example
 * ```ts
 * const group: ScimGroup = await scim.getGroupMembers('staff');
 * ```
 */
export interface ScimGroup {
  /** The pool id. */
  readonly id: string;
  /** The pool's name. */
  readonly displayName: string;
  /** The members' user ids (all pages), or undefined when not read. */
  readonly members?: readonly string[];
}

/**
 * One PATCH operation (RFC 7644 §3.5.2).
 *
 * @example
 * ```ts
 * const op: ScimPatchOperation = { op: 'replace', path: 'displayName', value: 'Alice Example' };
 * ```
 */
export interface ScimPatchOperation {
  /** `add`, `remove` or `replace`. */
  readonly op: 'add' | 'remove' | 'replace';
  /** The attribute path. */
  readonly path?: string;
  /** The value. */
  readonly value?: unknown;
}

/**
 * Options of {@link ScimClient}.
 *
 * @example
 * ```ts
 * const options: ScimClientOptions = {
 *   transport: pinnedTransport({ url: 'https://relay.example:8443', pin }),
 *   token: readScimToken(config),
 * };
 * ```
 */
export interface ScimClientOptions {
  /** How requests reach the server (its base URL is the transport's). */
  readonly transport: AdminTransport;
  /** The SCIM token (`scim_…`). */
  readonly token: string;
  /** Retries of a 429 or 503 answer (default 3). */
  readonly retries?: number;
  /** Longest wait for one `Retry-After` in ms (default 60000). */
  readonly maxRetryAfterMs?: number;
  /** How the client waits (tests pass a fake). Default `setTimeout`. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The page size of list requests (the server's `maxResults` is 200). */
const PAGE = 200;
const BASE = '/scim/v2';

type Json = Record<string, unknown>;

async function readBody(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > 32 * 1024 * 1024) throw new ScimError(502, undefined, 'answer too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A `Retry-After` header as milliseconds (seconds or an HTTP date), default 1 s.
 *
 * @example
 * ```ts
 * retryAfterMs('3'); // 3000
 * ```
 */
export function retryAfterMs(header: string | undefined, now = Date.now()): number {
  if (header === undefined || header.trim() === '') return 1000;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** A SCIM user resource as a {@link ScimUser}. */
export function toScimUser(r: Json): ScimUser {
  const ext = (r[SCIM_SCHEMAS.cloisterUser] ?? {}) as Json;
  const emails = Array.isArray(r.emails) ? (r.emails as Json[]) : [];
  const primary = emails.find((e) => e.primary === true) ?? emails[0];
  const name = (r.name ?? {}) as Json;
  const state = ext.directoryState;
  return {
    id: String(r.id),
    externalId: str(r.externalId),
    userName: String(r.userName ?? ''),
    displayName: str(r.displayName) ?? str(name.formatted),
    email: primary === undefined ? null : str(primary.value),
    active: r.active !== false && r.active !== 'False' && r.active !== 'false',
    cloister: {
      source: str(ext.source),
      directoryState: state === 'active' || state === 'disabled' || state === 'left' ? state : null,
      blocked: ext.blocked === true,
      reenableRequested: ext.reenableRequested === true,
    },
  };
}

/**
 * The SCIM client. Every method throws {@link ScimError} on an error answer.
 *
 * @example
 * ```ts
 * import { pinnedTransport, ScimClient } from '@cloister/admin/node';
 * const client = new ScimClient({
 *   transport: pinnedTransport({ url: 'https://relay.example:8443', pin }),
 *   token: readScimToken(config),
 * });
 * const mine = await client.listUsers('externalId pr');
 * ```
 */
export class ScimClient {
  readonly #transport: AdminTransport;
  readonly #token: string;
  readonly #retries: number;
  readonly #maxRetryAfterMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: ScimClientOptions) {
    this.#transport = options.transport;
    this.#token = options.token;
    this.#retries = options.retries ?? 3;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Sends one request, retrying 429/503 after Retry-After; the parsed JSON body (or undefined for 204). */
  async #call(
    method: AdminRequest['method'],
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<Json | undefined> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/scim+json',
    };
    const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
    if (bytes !== undefined) headers['content-type'] = 'application/scim+json';
    for (let attempt = 0; ; attempt++) {
      const response = await this.#transport({
        method,
        path: `${BASE}${path}`,
        headers,
        ...(query === undefined ? {} : { query }),
        ...(bytes === undefined ? {} : { body: bytes }),
      });
      const text = await readBody(response.body);
      if ((response.status === 429 || response.status === 503) && attempt < this.#retries) {
        await this.#sleep(Math.min(retryAfterMs(response.headers['retry-after']), this.#maxRetryAfterMs));
        continue;
      }
      let json: Json | undefined;
      if (text !== '') {
        try {
          json = JSON.parse(text) as Json;
        } catch {
          json = undefined;
        }
      }
      if (response.status >= 400) {
        const scimType = str(json?.scimType) ?? undefined;
        const detail = str(json?.detail) ?? undefined;
        throw new ScimError(response.status, scimType, detail);
      }
      if (response.status !== 204 && json === undefined)
        throw new ScimError(502, undefined, 'not a JSON answer');
      return json;
    }
  }

  /**
   * Every user matching `filter` (all pages).
   *
   * @example
   * ```ts
   * const users = await scim.listUsers('externalId pr');
   * ```
   */
  async listUsers(filter?: string): Promise<ScimUser[]> {
    const out: ScimUser[] = [];
    for (let start = 1; ; ) {
      const query: Record<string, string> = { startIndex: String(start), count: String(PAGE) };
      if (filter !== undefined) query.filter = filter;
      const page = (await this.#call('GET', '/Users', undefined, query)) as Json;
      const resources = Array.isArray(page.Resources) ? (page.Resources as Json[]) : [];
      for (const r of resources) out.push(toScimUser(r));
      const total = Number(page.totalResults ?? 0);
      start += resources.length;
      if (resources.length === 0 || start > total) return out;
    }
  }

  /**
   * One user by Cloister id.
   *
   * @example
   * ```ts
   * const user = await scim.getUser('u_123');
   * ```
   */
  async getUser(id: string): Promise<ScimUser> {
    return toScimUser((await this.#call('GET', `/Users/${encodeURIComponent(id)}`)) as Json);
  }

  /**
   * Creates a user.
   *
   * @example
   * ```ts
   * const created = await scim.createUser({
   *   externalId: '4c962088-868e-1041-9db0-090d5484774b',
   *   userName: 'alice@example.org',
   *   displayName: 'Alice',
   *   email: 'alice@example.org',
   *   active: true,
   * });
   * ```
   */
  async createUser(input: {
    readonly externalId: string;
    readonly userName: string;
    readonly displayName: string;
    readonly email: string | null;
    readonly active: boolean;
  }): Promise<ScimUser> {
    const body: Json = {
      schemas: [SCIM_SCHEMAS.user],
      externalId: input.externalId,
      userName: input.userName,
      displayName: input.displayName,
      name: { formatted: input.displayName },
      active: input.active,
    };
    if (input.email !== null) body.emails = [{ value: input.email, type: 'work', primary: true }];
    return toScimUser((await this.#call('POST', '/Users', body)) as Json);
  }

  /**
   * Applies PATCH operations to a user.
   *
   * @example
   * ```ts
   * await scim.patchUser('u_123', [{ op: 'replace', path: 'active', value: false }]);
   * ```
   */
  async patchUser(id: string, operations: readonly ScimPatchOperation[]): Promise<ScimUser | undefined> {
    const answer = await this.#call('PATCH', `/Users/${encodeURIComponent(id)}`, {
      schemas: [SCIM_SCHEMAS.patch],
      Operations: operations,
    });
    return answer === undefined ? undefined : toScimUser(answer);
  }

  /**
   * Deletes a user: the server's `left` rule (blocked, not erased).
   *
   * @example
   * ```ts
   * await scim.deleteUser('u_123');
   * ```
   */
  async deleteUser(id: string): Promise<void> {
    await this.#call('DELETE', `/Users/${encodeURIComponent(id)}`);
  }

  /**
   * The group (pool) with this display name, without members; undefined when there is none.
   *
   * @example
   * ```ts
   * const staff = await scim.findGroup('staff');
   * ```
   */
  async findGroup(displayName: string): Promise<ScimGroup | undefined> {
    const escaped = displayName.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    const page = (await this.#call('GET', '/Groups', undefined, {
      filter: `displayName eq "${escaped}"`,
      excludedAttributes: 'members',
    })) as Json;
    const resources = Array.isArray(page.Resources) ? (page.Resources as Json[]) : [];
    const found = resources.find((r) => r.displayName === displayName) ?? resources[0];
    return found === undefined ? undefined : { id: String(found.id), displayName: String(found.displayName) };
  }

  /**
   * A group with all its members (paged with `attributes=members&startIndex`).
   *
   * @example
   * ```ts
   * const { members } = await scim.getGroupMembers('staff');
   * ```
   */
  async getGroupMembers(id: string): Promise<ScimGroup & { readonly members: readonly string[] }> {
    const members: string[] = [];
    let displayName = '';
    for (let start = 1; ; ) {
      const g = (await this.#call('GET', `/Groups/${encodeURIComponent(id)}`, undefined, {
        attributes: 'members,displayName',
        startIndex: String(start),
        count: String(PAGE),
      })) as Json;
      displayName = String(g.displayName ?? displayName);
      const page = Array.isArray(g.members) ? (g.members as Json[]) : [];
      for (const m of page) if (typeof m.value === 'string') members.push(m.value);
      // A server that pages members says how many there are; one that does not sends them all.
      const total = typeof g.totalMembers === 'number' ? g.totalMembers : undefined;
      start += page.length;
      if (page.length === 0 || total === undefined || start > total) break;
    }
    return { id, displayName, members: [...new Set(members)] };
  }

  /**
   * Adds and removes members of a group (one PATCH; either list may be empty).
   *
   * @example
   * ```ts
   * await scim.patchGroupMembers('staff', { add: ['u_alice'], remove: ['u_bob'] });
   * ```
   */
  async patchGroupMembers(
    id: string,
    change: { readonly add: readonly string[]; readonly remove: readonly string[] },
  ): Promise<void> {
    const ops: ScimPatchOperation[] = [];
    if (change.add.length > 0)
      ops.push({ op: 'add', path: 'members', value: change.add.map((value) => ({ value })) });
    for (const user of change.remove) {
      ops.push({ op: 'remove', path: `members[value eq "${user.replace(/"/g, '\\"')}"]` });
    }
    if (ops.length === 0) return;
    await this.#call('PATCH', `/Groups/${encodeURIComponent(id)}`, {
      schemas: [SCIM_SCHEMAS.patch],
      Operations: ops,
    });
  }
}
