/**
 * React-admin's auth provider over the {@link SessionController}: `login` signs in with the
 * tenant, e-mail, password and a TOTP or recovery code; every refusal becomes the same
 * "sign-in failed" (a rate limit says when to retry); `checkAuth` takes the session up from this
 * tab; `getPermissions` is the session's permission list; `logout` ends the session on the server.
 *
 * @module
 */

import type { AuthProvider } from 'react-admin';
import type { SessionController } from '../session/controller.js';
import { errorCode } from './errors.js';

/** The login form's fields. */
export interface LoginParams {
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  readonly totp?: string;
  readonly recoveryCode?: string;
}

/**
 * The error `login` rejects with: only a translation key and, for a rate limit, the seconds to
 * wait (never the server's text).
 */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';
  constructor(
    readonly key: string,
    readonly seconds?: number,
  ) {
    super(key);
  }
}

/** Maps a login failure to what the login page shows. */
export function signInRefusal(error: unknown): SignInRefused {
  const code = errorCode(error);
  if (code === 'ERR_RATE_LIMITED') {
    const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    return new SignInRefused('portal.login.rate_limited', typeof seconds === 'number' ? seconds : 60);
  }
  if (
    code === 'ERR_UNAUTHENTICATED' ||
    code === 'ERR_VALIDATION' ||
    code === 'ERR_FORBIDDEN' ||
    code === 'ERR_NOT_FOUND'
  ) {
    return new SignInRefused('portal.login.failed');
  }
  return new SignInRefused('portal.login.unexpected');
}

/** The auth provider of the portal. */
export function createAuthProvider(controller: SessionController): AuthProvider {
  return {
    async login(params: LoginParams) {
      const input = {
        tenant: params.tenant.trim(),
        email: params.email.trim(),
        password: params.password,
        ...(params.recoveryCode !== undefined && params.recoveryCode.trim() !== ''
          ? { recoveryCode: params.recoveryCode.trim() }
          : { totp: (params.totp ?? '').replace(/\s+/g, '') }),
      };
      try {
        await controller.login(input);
      } catch (error) {
        throw signInRefusal(error);
      }
    },
    async logout() {
      await controller.logout();
    },
    async checkAuth() {
      const identity = await controller.restore().catch(() => undefined);
      if (identity === undefined) {
        throw { message: 'portal.login.required', logoutUser: true, redirectTo: '/login' };
      }
    },
    async checkError(error: unknown) {
      const status = (error as { status?: unknown } | undefined)?.status;
      if (status === 401 || errorCode(error) === 'ERR_UNAUTHENTICATED') {
        await controller.logout().catch(() => undefined);
        throw { message: 'portal.login.ended', redirectTo: '/login' };
      }
    },
    async getPermissions() {
      const identity = controller.identity ?? (await controller.restore().catch(() => undefined));
      return identity?.permissions ?? [];
    },
    async getIdentity() {
      const identity = controller.identity ?? (await controller.restore());
      if (identity === undefined) throw new Error('not signed in');
      return { id: identity.admin, fullName: identity.name };
    },
  };
}
