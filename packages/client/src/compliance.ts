/**
 * The capability map and the compliance report of one client (`spec/restrictions.md` §4–§5): what
 * the app declared it enforces, the `capabilities` event when the map changes, and
 * `POST /v1/compliance` after every applied policy (at each connection) and every declaration:
 * the server revision applied, what the SDK enforces, what the app declared, the SDK, app and
 * platform versions. A report that cannot be sent is dropped: the next connection sends one, and
 * the server lists a device whose report is missing or old.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type ConversationId, RESTRICTION_NAMES, RESTRICTIONS } from '@cloister/protocol';
import type { ClientContext } from './context.js';
import { type Capabilities, capabilitiesOf, SDK_ENFORCED } from './core/index.js';
import { CLIENT_VERSION, expectOk } from './transport/common.js';

/**
 * What the app declares (`client.declareCompliance`): the app-enforced restrictions it enforces,
 * its version and its platform.
 *
 * @example
 * ```ts
 * const declaration: ComplianceDeclaration = {
 *   enforces: { screenshots: true, 'clipboard.copy': true, 'notifications.preview': true },
 *   appVersion: 'ward-app/2.4.1',
 *   platform: 'iOS 18.2',
 * };
 * ```
 */
export interface ComplianceDeclaration {
  /** By app-enforced restriction: true when the app enforces it (a name the SDK enforces is refused). */
  readonly enforces?: { readonly [name: string]: boolean };
  /** The app's name and version (1..64 characters). */
  readonly appVersion?: string;
  /** The operating system and its version (1..64 characters). */
  readonly platform?: string;
}

interface State {
  declared: Set<string>;
  appVersion?: string;
  platform?: string;
  /** The `revision` of the last `GET /v1/policy` answer applied. */
  serverRevision?: string;
  /** JSON of the last capability map emitted. */
  shown?: string;
}

const states = new WeakMap<ClientContext, State>();

function stateOf(ctx: ClientContext): State {
  let s = states.get(ctx);
  if (s === undefined) {
    s = { declared: new Set() };
    states.set(ctx, s);
  }
  return s;
}

/**
 * The capabilities of this client under its current policy; with a `conversationId`, those in
 * that conversation (a group with a group layer has its own).
 *
 * @example
 * ```ts
 * const caps = capabilities(ctx);
 * ```
 */
export function capabilities(ctx: ClientContext, conversationId?: ConversationId): Capabilities {
  return capabilitiesOf(ctx.policy, stateOf(ctx).declared, conversationId, ctx.managedPolicy);
}

/**
 * Emits `capabilities` (the user-wide map) when the map differs from the last one emitted, or
 * when what applies in a group conversation changed (a group layer added or changed).
 */
export function emitCapabilitiesIfChanged(ctx: ClientContext): void {
  const s = stateOf(ctx);
  const caps = capabilities(ctx);
  const groups = Object.entries(ctx.policy?.groups ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hex, g]) => [hex, g.restrictions]);
  const json = JSON.stringify([caps.map, caps.appMustEnforce, groups]);
  if (s.shown === json) return;
  s.shown = json;
  ctx.emit({ type: 'capabilities', capabilities: caps });
}

/** Records the revision of the server's answer a policy was applied from. */
export function notePolicyApplied(ctx: ClientContext, serverRevision: string): void {
  stateOf(ctx).serverRevision = serverRevision;
}

const text = (v: unknown, field: string): string => {
  if (typeof v !== 'string' || v.length < 1 || v.length > 64)
    throw new ValidationError(field, '1..64 characters');
  return v;
};

/**
 * Records what the app declares (replacing the earlier declaration's `enforces`; versions left
 * out stay). `ValidationError` for an unknown name, a restriction the SDK enforces, or a version
 * outside 1..64 characters; nothing changes then.
 *
 * @example
 * ```ts
 * declareCompliance(ctx, { enforces: { screenshots: true } });
 * ```
 */
export function declareCompliance(ctx: ClientContext, declaration: ComplianceDeclaration): void {
  if (typeof declaration !== 'object' || declaration === null) {
    throw new ValidationError('declaration', 'an object');
  }
  const declared = new Set<string>();
  for (const [name, on] of Object.entries(declaration.enforces ?? {})) {
    const known = (RESTRICTION_NAMES as readonly string[]).includes(name);
    if (!known || RESTRICTIONS[name as keyof typeof RESTRICTIONS].enforcedBy !== 'app') {
      throw new ValidationError(`enforces.${name}`, 'an app-enforced restriction');
    }
    if (typeof on !== 'boolean') throw new ValidationError(`enforces.${name}`, 'a boolean');
    if (on) declared.add(name);
  }
  const appVersion =
    declaration.appVersion === undefined ? undefined : text(declaration.appVersion, 'appVersion');
  const platform = declaration.platform === undefined ? undefined : text(declaration.platform, 'platform');
  const s = stateOf(ctx);
  if (declaration.enforces !== undefined) s.declared = declared;
  if (appVersion !== undefined) s.appVersion = appVersion;
  if (platform !== undefined) s.platform = platform;
}

/**
 * The body of the compliance report this client would send now, or undefined before a policy
 * was applied.
 *
 * @example
 * ```ts
 * const body = complianceReport(ctx); // { revision, sdk, enforced, appEnforced, appVersion?, platform? }
 * ```
 */
export function complianceReport(ctx: ClientContext):
  | {
      readonly revision: string;
      readonly sdk: string;
      readonly enforced: readonly string[];
      readonly appEnforced: readonly string[];
      readonly appVersion?: string;
      readonly platform?: string;
    }
  | undefined {
  const s = stateOf(ctx);
  if (s.serverRevision === undefined) return undefined;
  return {
    revision: s.serverRevision,
    sdk: CLIENT_VERSION,
    enforced: [...SDK_ENFORCED],
    appEnforced: [...s.declared].sort(),
    ...(s.appVersion === undefined ? {} : { appVersion: s.appVersion }),
    ...(s.platform === undefined ? {} : { platform: s.platform }),
  };
}

/**
 * Sends the compliance report (`POST /v1/compliance`); resolves false when there is nothing to
 * report yet (no policy applied). A transport or server error is thrown.
 *
 * @example
 * ```ts
 * await reportCompliance(ctx);
 * ```
 */
export async function reportCompliance(ctx: ClientContext): Promise<boolean> {
  const u = ctx.ready();
  const body = complianceReport(ctx);
  if (body === undefined) return false;
  expectOk(await u.transport.request('POST', '/v1/compliance', { json: body }));
  return true;
}
