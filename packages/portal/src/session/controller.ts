/**
 * The portal's session outside React: the admin-API client holding the session token, who is
 * signed in, the idle and hard ends of the session, and the prompts the screens need (step-up
 * code, signing key). The token lives in `sessionStorage` (this tab only); on load the shell asks
 * the server who it is (`whoami`). Every request goes through one transport that notes when the
 * session was last used and notices a 401 (the session ended). `spec/portal.md` §2.
 *
 * @module
 */
import {
  AdminClient,
  type AdminTransport,
  fetchTransport,
  type LoginAnswer,
  type LoginInput,
  type OrganisationSigner,
  type WhoAmI,
} from '@cloister/admin';
import { ForbiddenError, UnauthenticatedError, UsageError } from '@cloister/crypto';
import type { PortalIdentity, PortalSession } from './portal-context.js';

/** The `sessionStorage` key of the stored session (token and idle timeout). */
export const SESSION_STORAGE_KEY = 'cloister-portal-session';
/** The `sessionStorage` key set when the server ended the session (the login page says so). */
export const ENDED_STORAGE_KEY = 'cloister-portal-session-ended';
/** The server's idle timeout when the login answer did not say (15 minutes). */
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;
/** How long before the idle end the warning shows. */
export const IDLE_WARNING_MS = 60_000;

/** What the stored session holds: the token is a secret and stays in this tab. */
interface StoredPortalSession {
  readonly token: string;
  readonly idleTimeoutMs: number;
}

/** The prompts the shell's dialogs answer (registered by `SessionDialogs`). */
export interface SessionPrompts {
  /**
   * Asks for a TOTP code and steps up with it (`SessionController.stepUp`), asking again after a
   * wrong code; resolves true once stepped up, false when the person cancels.
   */
  askStepUp(): Promise<boolean>;
  /** Opens the signing-key dialog; resolves the signer once a key is there, undefined on cancel. */
  askSigner(): Promise<OrganisationSigner | undefined>;
}

/** What the controller reports to the shell. */
export type SessionEvent = 'changed' | 'ended' | 'used';

/** Whether `error` is the server's refusal for want of a fresh second factor. */
export function isStepUpRefusal(error: unknown): boolean {
  return error instanceof ForbiddenError ||
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_FORBIDDEN')
    ? /fresh second factor|step-up/i.test((error as Error).message)
    : false;
}

function readStored(storage: Storage): StoredPortalSession | undefined {
  const text = storage.getItem(SESSION_STORAGE_KEY);
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<StoredPortalSession>;
    if (typeof value.token !== 'string' || value.token === '') return undefined;
    return {
      token: value.token,
      idleTimeoutMs:
        typeof value.idleTimeoutMs === 'number' && value.idleTimeoutMs > 0
          ? value.idleTimeoutMs
          : DEFAULT_IDLE_TIMEOUT_MS,
    };
  } catch {
    return undefined;
  }
}

function identityOf(me: WhoAmI, previous?: PortalIdentity): PortalIdentity {
  if (me.role === 'integration') throw new ForbiddenError('the portal is for people, not integrations');
  return {
    tenant: me.tenant,
    admin: me.admin,
    email: me.email,
    name: me.name,
    role: me.role,
    permissions: [...me.permissions],
    expiresAt: me.expiresAt ?? previous?.expiresAt ?? Date.now(),
    freshFactorUntil: me.freshFactorUntil ?? previous?.freshFactorUntil ?? 0,
  };
}

/** Options of {@link SessionController}: the transport and storage (tests pass their own). */
export interface SessionControllerOptions {
  /** Default: `fetchTransport(location.origin)`. */
  readonly transport?: AdminTransport;
  /** Default: `sessionStorage`. */
  readonly storage?: Storage;
  /** Default: `Date.now`. */
  readonly now?: () => number;
  /**
   * Builds the organisation signer from the key kept in this browser (`src/keys/`), given a
   * maker of clients on this session that check the server against a root.
   */
  readonly loadSigner?: (
    session: PortalSession,
    clientWithRoot: (organisationRoot: Uint8Array) => AdminClient,
  ) => Promise<OrganisationSigner | undefined>;
  /** The organisation root of the key kept for `tenant`'s `admin`, if any (`src/keys/`). */
  readonly keptRoot?: (tenant: string, admin: string) => Promise<Uint8Array | undefined>;
}

/**
 * The session of one tab. `client` and `identity` are there once `login` or `restore` succeeded.
 */
export class SessionController {
  readonly #transport: AdminTransport;
  readonly #storage: Storage;
  readonly #now: () => number;
  readonly #loadSigner: SessionControllerOptions['loadSigner'];
  readonly #keptRoot: SessionControllerOptions['keptRoot'];
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  #client: AdminClient | undefined;
  #token: string | undefined;
  #identity: PortalIdentity | undefined;
  #idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS;
  #lastUsed = 0;
  #prompts: SessionPrompts | undefined;
  #session: PortalSession | undefined;
  #restoring: Promise<PortalIdentity | undefined> | undefined;

  constructor(options: SessionControllerOptions = {}) {
    const inner = options.transport ?? fetchTransport(globalThis.location.origin);
    this.#storage = options.storage ?? globalThis.sessionStorage;
    this.#now = options.now ?? Date.now;
    this.#loadSigner = options.loadSigner;
    this.#keptRoot = options.keptRoot;
    this.#transport = async (request) => {
      const response = await inner(request);
      const signedIn = request.headers.authorization !== undefined;
      if (signedIn && response.status === 401) this.#ended();
      else if (signedIn && response.status < 500) {
        this.#lastUsed = this.#now();
        this.#emit('used');
      }
      return response;
    };
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  on(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: SessionEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** The signed-in client, or undefined. */
  get client(): AdminClient | undefined {
    return this.#client;
  }

  /** Who is signed in, or undefined. */
  get identity(): PortalIdentity | undefined {
    return this.#identity;
  }

  /** When the server ends the session for want of use (ms since the epoch), or undefined. */
  get idleEndsAt(): number | undefined {
    return this.#client === undefined ? undefined : this.#lastUsed + this.#idleTimeoutMs;
  }

  /** Whether the last session was ended by the server (read once by the login page). */
  takeEndedNotice(): boolean {
    const ended = this.#storage.getItem(ENDED_STORAGE_KEY) !== null;
    this.#storage.removeItem(ENDED_STORAGE_KEY);
    return ended;
  }

  /** Registers the dialogs that answer step-up and key prompts. */
  setPrompts(prompts: SessionPrompts | undefined): void {
    this.#prompts = prompts;
  }

  /** Signs in; the typed errors of `AdminClient.login` pass through (the login page maps them). */
  async login(input: LoginInput): Promise<PortalIdentity> {
    const { client, session } = await AdminClient.login({ transport: this.#transport }, input);
    this.#token = session.token;
    this.#idleTimeoutMs = session.idleTimeoutMs > 0 ? session.idleTimeoutMs : DEFAULT_IDLE_TIMEOUT_MS;
    this.#storage.setItem(
      SESSION_STORAGE_KEY,
      JSON.stringify({
        token: session.token,
        idleTimeoutMs: this.#idleTimeoutMs,
      } satisfies StoredPortalSession),
    );
    this.#storage.removeItem(ENDED_STORAGE_KEY);
    return this.#adopt(client, session);
  }

  async #adopt(client: AdminClient, session: LoginAnswer): Promise<PortalIdentity> {
    this.#client = client;
    const me = await client.whoami();
    this.#identity = identityOf(me, {
      tenant: session.tenant,
      admin: session.admin,
      email: me.email,
      name: me.name,
      role: me.role === 'integration' ? 'auditor' : me.role,
      permissions: me.permissions,
      expiresAt: session.expiresAt,
      freshFactorUntil: session.freshFactorUntil,
    });
    await this.#adoptKeptRoot();
    this.#session = undefined;
    this.#emit('changed');
    return this.#identity;
  }

  /** With a key kept for this administrator, the client checks against its root. */
  async #adoptKeptRoot(): Promise<void> {
    const identity = this.#identity;
    const token = this.#token;
    if (identity === undefined || token === undefined || this.#keptRoot === undefined) return;
    const root = await this.#keptRoot(identity.tenant, identity.admin).catch(() => undefined);
    if (root !== undefined) this.#client = this.clientWithRoot(root);
  }

  /**
   * Takes the session up from `sessionStorage` (a reload): asks the server who it is. Resolves
   * undefined when there is no stored session or the server ended it.
   */
  restore(): Promise<PortalIdentity | undefined> {
    if (this.#identity !== undefined) return Promise.resolve(this.#identity);
    this.#restoring ??= (async () => {
      const stored = readStored(this.#storage);
      if (stored === undefined) return undefined;
      this.#idleTimeoutMs = stored.idleTimeoutMs;
      const client = new AdminClient({
        transport: this.#transport,
        credential: { kind: 'session', token: stored.token },
      });
      try {
        const me = await client.whoami();
        this.#client = client;
        this.#token = stored.token;
        this.#identity = identityOf(me);
        await this.#adoptKeptRoot();
        this.#session = undefined;
        this.#emit('changed');
        return this.#identity;
      } catch (error) {
        if (error instanceof UnauthenticatedError) {
          this.#forget();
          return undefined;
        }
        throw error;
      } finally {
        this.#restoring = undefined;
      }
    })();
    return this.#restoring;
  }

  /** Asks the server who is signed in (what "stay signed in" does: it also counts as use). */
  async refresh(): Promise<PortalIdentity> {
    const client = this.#requireClient();
    const me = await client.whoami();
    this.#identity = identityOf(me, this.#identity);
    this.#session = undefined;
    this.#emit('changed');
    return this.#identity;
  }

  /** Ends the session on the server (when it still exists) and here. */
  async logout(): Promise<void> {
    const client = this.#client;
    this.#forget();
    if (client !== undefined) await client.logout().catch(() => undefined);
    this.#emit('changed');
  }

  #forget(): void {
    this.#client = undefined;
    this.#token = undefined;
    this.#identity = undefined;
    this.#session = undefined;
    this.#storage.removeItem(SESSION_STORAGE_KEY);
  }

  #ended(): void {
    if (this.#client === undefined) return;
    this.#forget();
    this.#storage.setItem(ENDED_STORAGE_KEY, '1');
    this.#emit('ended');
  }

  #requireClient(): AdminClient {
    if (this.#client === undefined) throw new UnauthenticatedError('not signed in');
    return this.#client;
  }

  /** Presents a fresh TOTP code to the server. */
  async stepUp(code: string): Promise<void> {
    const { freshFactorUntil } = await this.#requireClient().stepUp(code);
    if (this.#identity !== undefined) this.#identity = { ...this.#identity, freshFactorUntil };
    this.#session = undefined;
    this.#emit('changed');
  }

  /** Runs `action`, stepping up first or after the server's refusal (once). */
  async withStepUp<T>(action: () => Promise<T>): Promise<T> {
    const identity = this.#identity;
    if (identity === undefined) throw new UnauthenticatedError('not signed in');
    const askAndStepUp = async () => {
      const prompts = this.#prompts;
      if (prompts === undefined) throw new UsageError('the step-up prompt is not available');
      if (!(await prompts.askStepUp())) throw new UsageError('step-up cancelled');
    };
    if (identity.freshFactorUntil <= this.#now() + 5_000) {
      await askAndStepUp();
      return action();
    }
    try {
      return await action();
    } catch (error) {
      if (!isStepUpRefusal(error)) throw error;
      await askAndStepUp();
      return action();
    }
  }

  /**
   * From now on the session's client checks the server's statements (root fingerprints of
   * invitations, organisation state) against `organisationRoot`: called once a signing key, which
   * names its root, is kept in this browser.
   */
  adoptOrganisationRoot(organisationRoot: Uint8Array): void {
    if (this.#token === undefined) return;
    this.#client = this.clientWithRoot(organisationRoot);
    this.#session = undefined;
    this.#emit('changed');
  }

  /**
   * A client on this session that checks the server's statements (root fingerprints) against
   * `organisationRoot`: what a signer publishes with.
   */
  clientWithRoot(organisationRoot: Uint8Array): AdminClient {
    const token = this.#token;
    if (token === undefined) throw new UnauthenticatedError('not signed in');
    return new AdminClient({
      transport: this.#transport,
      credential: { kind: 'session', token },
      organisationRoot,
    });
  }

  /** The signer of organisation objects: the kept key, else the key dialog. */
  async signer(): Promise<OrganisationSigner> {
    const session = this.session();
    const kept = await this.#loadSigner?.(session, (root) => this.clientWithRoot(root));
    if (kept !== undefined) return kept;
    const prompts = this.#prompts;
    if (prompts === undefined)
      throw new UsageError('no signing key in this browser: import it under My signing key');
    const chosen = await prompts.askSigner();
    if (chosen === undefined) throw new UsageError('no signing key chosen');
    return chosen;
  }

  /** The {@link PortalSession} the screens get (a new object whenever the identity changes). */
  session(): PortalSession {
    const client = this.#requireClient();
    const identity = this.#identity;
    if (identity === undefined) throw new UnauthenticatedError('not signed in');
    if (
      this.#session === undefined ||
      this.#session.client !== client ||
      this.#session.identity !== identity
    ) {
      const permissions = new Set(identity.permissions);
      this.#session = {
        client,
        identity,
        can: (permission) => permissions.has(permission),
        signer: () => this.signer(),
        withStepUp: (action) => this.withStepUp(action),
      };
    }
    return this.#session;
  }
}
