/**
 * The portal's session as the screens use it (`usePortal()`): the admin-API client with the
 * session token, who is signed in with which permissions, the signing of organisation objects in
 * the browser, and the step-up prompt. Implemented by the shell (`src/session/`).
 *
 * @module
 */
import type { AdminClient, OrganisationSigner } from '@cloister/admin';

/** Who is signed in (from `GET /admin/v1/session`). */
export interface PortalIdentity {
  readonly tenant: string;
  readonly admin: string;
  readonly email: string;
  readonly name: string;
  readonly role: 'owner' | 'admin' | 'user-manager' | 'auditor';
  readonly permissions: readonly string[];
  /** When the session ends at the latest (ms since the epoch). */
  readonly expiresAt: number;
  /** Until when the second factor counts as fresh (ms since the epoch). */
  readonly freshFactorUntil: number;
}

/** What a screen gets from `usePortal()`. */
export interface PortalSession {
  /** The admin-API client of this session (fetch transport on the page's own origin). */
  readonly client: AdminClient;
  readonly identity: PortalIdentity;
  /** Whether the session's role has `permission`. */
  can(permission: string): boolean;
  /**
   * The signer of organisation objects: the administrator's certified key, held in this browser
   * as a non-extractable WebCrypto key. When none is loaded yet it opens the key dialog (import
   * `signing-key.json` from the CLI, or make a key request) and resolves once a key is there;
   * rejects with `UsageError` when the person cancels.
   */
  signer(): Promise<OrganisationSigner>;
  /**
   * Runs `action`; when the second factor is not fresh (before, by `freshFactorUntil`, or when the
   * server refuses with the step-up error) it asks for a TOTP code first, steps up and runs it
   * (again), once. Rejects with `UsageError` when the person cancels the prompt.
   */
  withStepUp<T>(action: () => Promise<T>): Promise<T>;
}
