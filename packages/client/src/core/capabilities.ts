/**
 * The restrictions of the policy as the client applies them (`spec/restrictions.md` §4): the
 * typed values (`@cloister/protocol`'s feature map), the capability map an app reads (for each
 * restriction its value, whether the SDK enforces it or the app must, and whether the app
 * declared it does), and the checks the SDK runs before sending a file, downloading one,
 * forwarding a message or setting a disappearing timer. In a group conversation whose group has a
 * verified group layer, the map and the checks follow that group's policy
 * (`policyForConversation`, `spec/restrictions.md` §1.2). No I/O.
 *
 * @module
 */
import { ForbiddenError } from '@cloister/crypto';
import {
  type ConversationId,
  type ManagedPolicyOverrides,
  mediaTypeAllowed,
  narrowByManagedOverrides,
  RESTRICTION_DEFAULTS,
  RESTRICTION_NAMES,
  RESTRICTIONS,
  type RestrictionEnforcer,
  type RestrictionName,
  type RestrictionProblem,
  type RestrictionValues,
  timerWithinBounds,
  conversationId as toConversationId,
} from '@cloister/protocol';
import { policyForConversation } from './policy.js';
import type { ClientPolicy } from './types.js';

/**
 * One restriction as the app sees it.
 *
 * @example
 * ```ts
 * const copy: Capability<boolean> = client.capabilities().map['clipboard.copy'];
 * if (!copy.value) console.log('hide the copy menu');
 * ```
 */
export interface Capability<V> {
  /** The restriction's value for this user. */
  readonly value: V;
  /** `sdk`: the SDK refuses what the value forbids; `app`: only the app can, and must. */
  readonly enforcedBy: RestrictionEnforcer;
  /** For an app-enforced restriction: whether the app declared it enforces it (`declareCompliance`). */
  readonly appDeclared: boolean;
  /** True when the value differs from the default (the policy restricts something). */
  readonly restricted: boolean;
}

/**
 * Every well-known restriction with its capability.
 *
 * @example
 * ```ts
 * const map: CapabilityMap = client.capabilities().map;
 * const preview = map['notifications.preview'].value; // 'none' | 'sender' | 'full'
 * ```
 */
export type CapabilityMap = { readonly [N in RestrictionName]: Capability<RestrictionValues[N]> };

/**
 * The capabilities of this device under the current policy.
 *
 * @example
 * ```ts
 * const caps: Capabilities = client.capabilities();
 * for (const name of caps.appMustEnforce) console.warn(`the app does not declare it enforces ${name}`);
 * ```
 */
export interface Capabilities {
  /** The policy revision they come from (`none` before the first policy). */
  readonly revision: string;
  /** The conversation they were asked for; absent for the user-wide map. */
  readonly conversationId?: ConversationId;
  /**
   * The group conversations (`g:<hex>`) with a group layer of their own, sorted: ask
   * `client.capabilities(conversationId)` for each; every other conversation has the user-wide map.
   */
  readonly groups: readonly ConversationId[];
  /** By restriction. */
  readonly map: CapabilityMap;
  /** Restricted, app-enforced restrictions the app has not declared it enforces. */
  readonly appMustEnforce: readonly RestrictionName[];
  /** Malformed policy entries that were left out (a less specific layer or the default decided). */
  readonly problems: readonly RestrictionProblem[];
}

/**
 * The restriction values of a policy (the defaults before the first one).
 *
 * @example
 * ```ts
 * restrictionValues(undefined)['files.download']; // true
 * ```
 */
export function restrictionValues(policy: ClientPolicy | undefined): RestrictionValues {
  return policy?.restrictions ?? RESTRICTION_DEFAULTS;
}

/**
 * The capabilities under `policy`, with the restrictions the app declared it enforces; with a
 * `conversationId`, those in that conversation (a group's own layer applies in its conversation);
 * `managed` overrides of the MDM configuration narrow the values.
 *
 * @example
 * ```ts
 * const caps = capabilitiesOf(client.policy, new Set(['screenshots']));
 * const inGroup = capabilitiesOf(client.policy, new Set(), message.conversationId);
 * ```
 */
export function capabilitiesOf(
  policy: ClientPolicy | undefined,
  declared: ReadonlySet<string>,
  conversationId?: ConversationId,
  managed?: ManagedPolicyOverrides,
): Capabilities {
  const conversation = conversationId === undefined ? undefined : toConversationId(conversationId);
  const applied = policyForConversation(policy, conversation);
  // The MDM configuration's overrides only narrow (spec/managed-config.md §3).
  const values = narrowByManagedOverrides(restrictionValues(applied), managed ?? {});
  const map = {} as { [N in RestrictionName]: Capability<RestrictionValues[N]> };
  const appMustEnforce: RestrictionName[] = [];
  for (const name of RESTRICTION_NAMES) {
    const enforcedBy = RESTRICTIONS[name].enforcedBy;
    const restricted = JSON.stringify(values[name]) !== JSON.stringify(RESTRICTION_DEFAULTS[name]);
    const appDeclared = enforcedBy === 'app' && declared.has(name);
    (map as Record<string, Capability<unknown>>)[name] = {
      value: values[name],
      enforcedBy,
      appDeclared,
      restricted,
    };
    if (enforcedBy === 'app' && restricted && !appDeclared) appMustEnforce.push(name);
  }
  return {
    revision: policy?.revision ?? 'none',
    ...(conversation === undefined ? {} : { conversationId: conversation }),
    groups: Object.keys(policy?.groups ?? {})
      .sort()
      .map((hex) => toConversationId(`g:${hex}`)),
    map,
    appMustEnforce,
    problems: applied?.restrictionProblems ?? [],
  };
}

/**
 * The restrictions the SDK itself enforces (reported as `enforced` in the compliance report).
 *
 * @example
 * ```ts
 * SDK_ENFORCED.includes('files.download'); // true
 * ```
 */
export const SDK_ENFORCED: readonly RestrictionName[] = RESTRICTION_NAMES.filter(
  (n) => RESTRICTIONS[n].enforcedBy === 'sdk',
);

/**
 * Refuses (`ForbiddenError`) sending a file of `mediaType` when `files.send` is off or
 * `media.send` does not allow the type.
 *
 * @example
 * ```ts
 * checkFileSend(client.policy, 'image/png'); // throws when images may not be sent
 * ```
 */
export function checkFileSend(policy: ClientPolicy | undefined, mediaType: string): void {
  const v = restrictionValues(policy);
  if (!v['files.send'] || policy?.features['files.send']?.enabled === false) {
    throw new ForbiddenError('sending files is disabled by policy (files.send)');
  }
  if (!mediaTypeAllowed(v['media.send'], mediaType)) {
    throw new ForbiddenError('this media type may not be sent (media.send)');
  }
}

/**
 * Refuses (`ForbiddenError`) downloading a file when `files.download` is off.
 *
 * @example
 * ```ts
 * checkFileDownload(client.policy);
 * ```
 */
export function checkFileDownload(policy: ClientPolicy | undefined): void {
  if (!restrictionValues(policy)['files.download']) {
    throw new ForbiddenError('downloading files is disabled by policy (files.download)');
  }
}

/**
 * Refuses (`ForbiddenError`) forwarding when `messages.forward` is off.
 *
 * @example
 * ```ts
 * checkForward(client.policy);
 * ```
 */
export function checkForward(policy: ClientPolicy | undefined): void {
  if (!restrictionValues(policy)['messages.forward']) {
    throw new ForbiddenError('forwarding messages is disabled by policy (messages.forward)');
  }
}

/**
 * Refuses (`ForbiddenError`) a disappearing timer (ms; `null`: none) outside the policy's bounds.
 * No timer is always allowed.
 *
 * @example
 * ```ts
 * checkTimer(client.policy, 30_000); // throws when the minimum is a minute
 * ```
 */
export function checkTimer(policy: ClientPolicy | undefined, timerMs: number | null): void {
  const bounds = restrictionValues(policy)['disappearing.timer'];
  if (!timerWithinBounds(bounds, timerMs)) {
    const max = bounds.maxMs === null ? 'no maximum' : `${bounds.maxMs} ms`;
    throw new ForbiddenError(
      `the disappearing timer must lie within ${bounds.minMs} ms and ${max} (disappearing.timer)`,
    );
  }
}
