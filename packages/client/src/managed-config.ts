/**
 * Enrolment from the MDM configuration (`spec/managed-config.md` §6): the client options taken
 * from a managed configuration, the PIN a platform-keystore secret stands for, and the checks
 * `enrollFromManagedConfig` runs before it spends the token (the configuration parses, the
 * client talks to the server and pin the configuration names).
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type ManagedConfig, type ManagedPolicyOverrides, parseManagedConfig } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { toBase64Url } from './_base64.js';
import type { ClientOptions } from './options.js';

/**
 * The prefix of the PIN a keystore secret stands for ({@link secretPin}).
 *
 * @example
 * ```ts
 * secretPin(keystoreSecret).startsWith(MANAGED_SECRET_PIN_PREFIX); // true
 * ```
 */
export const MANAGED_SECRET_PIN_PREFIX = 'cloister-secret:v1:';

/**
 * Fewest bytes of a keystore secret that replaces the device PIN (32).
 *
 * @example
 * ```ts
 * const secret = crypto.getRandomValues(new Uint8Array(MIN_MANAGED_SECRET_BYTES));
 * ```
 */
export const MIN_MANAGED_SECRET_BYTES = 32;

/**
 * The PIN a platform-keystore secret stands for: `cloister-secret:v1:` followed by the secret in
 * base64url. The data key is wrapped with it exactly as with a typed PIN (scrypt, `pinWrap`), so
 * `client.unlock(secretPin(secret))` opens the data at the next start. `ValidationError`
 * (`secret`) for fewer than 32 bytes.
 *
 * @example
 * ```ts
 * // keystoreSecret: 32 random bytes the app keeps in the platform keystore
 * await client.unlock(secretPin(keystoreSecret));
 * ```
 */
export function secretPin(secret: Uint8Array): string {
  if (!(secret instanceof Uint8Array) || secret.length < MIN_MANAGED_SECRET_BYTES) {
    throw new ValidationError(
      'secret',
      `at least ${MIN_MANAGED_SECRET_BYTES} bytes from the platform keystore`,
    );
  }
  return MANAGED_SECRET_PIN_PREFIX + toBase64Url(secret);
}

/**
 * How a managed enrolment protects the local data: a keystore `secret` (no user action; see
 * {@link secretPin}) or a `pin` the user chose.
 *
 * @example
 * ```ts
 * const protect: ManagedEnrolOptions = { secret: keystoreSecret };
 * await client.enrollFromManagedConfig(deliveredConfig, protect);
 * ```
 */
export type ManagedEnrolOptions = { readonly secret: Uint8Array } | { readonly pin: string };

/**
 * Client options from a managed configuration: the server's URL and pin, the policy overrides,
 * and `storage`; `extra` adds any other option. `ValidationError` naming the bad key of the
 * configuration (never its value).
 *
 * @example
 * ```ts
 * import { createClient } from '@cloister/client';
 * const managed = await createClient(clientOptionsFromManagedConfig(deliveredConfig, adapter));
 * ```
 */
export function clientOptionsFromManagedConfig(
  config: unknown,
  storage: StorageAdapter,
  extra: Omit<ClientOptions, 'server' | 'storage' | 'managedPolicy'> = {},
): ClientOptions {
  const c = parseManagedConfig(config);
  return { ...extra, server: { url: c.serverUrl, pin: c.serverPin }, storage, managedPolicy: c.policy };
}

/**
 * Parses the configuration and checks it against the client before anything is spent: the
 * client's server URL and pin must be the configuration's (`ValidationError`, field `serverUrl`
 * or `serverPin`), and the PIN is the given one or the secret's.
 */
export function prepareManagedEnrolment(
  config: unknown,
  server: { readonly url: string; readonly pin: string },
  options: ManagedEnrolOptions,
): { readonly config: ManagedConfig; readonly pin: string } {
  const c = parseManagedConfig(config);
  let origin: string | undefined;
  try {
    origin = new URL(server.url).origin;
  } catch {
    origin = undefined;
  }
  if (origin !== c.serverUrl)
    throw new ValidationError('serverUrl', 'the server this client was created for');
  if (server.pin !== c.serverPin)
    throw new ValidationError('serverPin', 'the pin this client was created with');
  if (typeof options !== 'object' || options === null)
    throw new ValidationError('options', 'a secret or a pin');
  const pin = 'secret' in options ? secretPin(options.secret) : options.pin;
  return { config: c, pin };
}

/** The narrower of two sets of overrides, key by key. */
export function combineOverrides(
  a: ManagedPolicyOverrides,
  b: ManagedPolicyOverrides,
): ManagedPolicyOverrides {
  const preview = [a['notifications.preview'], b['notifications.preview']];
  return {
    ...(a.screenshots === false || b.screenshots === false ? { screenshots: false } : {}),
    ...(a['clipboard.copy'] === false || b['clipboard.copy'] === false ? { 'clipboard.copy': false } : {}),
    ...(preview.includes('none')
      ? { 'notifications.preview': 'none' }
      : preview.includes('sender')
        ? { 'notifications.preview': 'sender' }
        : {}),
  };
}
