/**
 * The effective policy: fetched from the server at start and on every (re)connection, read by
 * the core (`core/policy.ts`), and reported with a `policy` event when its revision changes. The
 * answer's signed revocation list and reach statement are verified with the tenant key and pinned
 * (`core/revocations.ts`, spec/revocations.md) before anything of the answer is applied. For a
 * device that pinned an organisation root, the answer's `organisation` objects are verified
 * against it (`core/organisation.ts`, spec/organisation-client.md): the policy comes from the
 * signed layers only (a conversation group's own layer applies in that group's conversation,
 * spec/restrictions.md §1.2), delegations are kept, broadcasts are shown, and the archive state is
 * reported with an `archive` event when it changes. The typed restrictions come with the policy
 * (`core/capabilities.ts`); a change of the capability map, or of what applies in a group
 * conversation, is a `capabilities` event, and every applied policy is followed by the device's
 * compliance report (`compliance.ts`).
 *
 * @module
 */
import { archiveKeyFingerprint, canonicalJsonBytes } from '@cloister/protocol';
import { emitCapabilitiesIfChanged, notePolicyApplied, reportCompliance } from './compliance.js';
import type { ClientContext } from './context.js';
import {
  type ArchiveState,
  acceptBroadcasts,
  acceptDelegations,
  acceptPolicyLayers,
  acceptRevocations,
  broadcastsNeedPools,
  type ClientEvent,
  type ClientPolicy,
  loadArchiveState,
  parseOrganisationAnswer,
  parsePolicy,
  saveArchiveState,
  signedPolicy,
  signedPolicyParts,
} from './core/index.js';
import { expectOk } from './transport/common.js';

/** What {@link refreshPolicy} needs besides the context. */
export interface RefreshPolicyOptions {
  /**
   * The user's pools as the server lists them (in this device's sender certificate); asked only
   * when a broadcast is addressed to pools.
   */
  readonly pools: () => Promise<readonly string[]>;
}

/**
 * Fetches the effective policy from the server, pins its signed revocation list and reach
 * statement, and emits `policy` when it changed. A signed object that does not verify under the
 * tenant key, or is older than the pinned one (a rollback), throws `InvalidKeyError` (a malformed
 * field `DecodeError`) and nothing of the answer is applied. For a root-pinned device the policy
 * is resolved from the verified organisation layers; every refused organisation object is an
 * `organisation-refused` event and changes nothing.
 */
export async function refreshPolicy(
  ctx: ClientContext,
  options: RefreshPolicyOptions,
): Promise<ClientPolicy> {
  const u = ctx.ready();
  const body = expectOk(await u.transport.request('GET', '/v1/policy')).json as Parameters<
    typeof parsePolicy
  >[0] & { organisation?: unknown; revocations?: unknown; reach?: unknown };
  const unsigned = parsePolicy(body);
  const signed = signedPolicyParts(body);
  const root = u.registration.organisationRoot;
  const answer = root === undefined ? undefined : (parseOrganisationAnswer(body.organisation) ?? empty);
  // Without the pool list (the certificate could not be fetched), pool broadcasts wait: refused
  // now, not held, so a later fetch shows them.
  const pools =
    answer !== undefined && broadcastsNeedPools(answer.broadcasts)
      ? await options.pools().catch(() => [] as readonly string[])
      : [];
  const now = ctx.now();
  const self = {
    provider: ctx.provider,
    tenant: u.registration.tenant,
    userId: u.registration.userId,
    deviceId: u.registration.deviceId,
    organisationRoot: root,
    tenantPublicKey: u.registration.tenantPublicKey,
  };
  const outcome = await u.stores.transaction(async (t) => {
    if (signed.revocations !== undefined || signed.reach !== undefined) {
      await acceptRevocations(u.self, t.tx, signed);
    }
    if (answer === undefined) return { policy: unsigned, events: [] as ClientEvent[], archive: undefined };
    const layers = await acceptPolicyLayers(self, t.tx, answer.layers, now, answer.groupLayers);
    const events = [
      ...layers.events,
      ...(await acceptDelegations(self, t.tx, answer.delegations, now)),
      ...(await acceptBroadcasts(self, t.tx, answer.broadcasts, pools, now)),
    ];
    const policy = signedPolicy(layers.layers);
    const archive = await archiveStateOf(ctx, policy);
    const shown = shownArchiveState(archive);
    const before = await loadArchiveState(t.tx);
    if (before !== shown) await saveArchiveState(t.tx, shown);
    // The first report of "off" is not a change; every other difference is.
    const changed = before === undefined ? archive.on : before !== shown;
    if (changed) events.push({ type: 'archive', archive });
    return { policy, events, archive };
  });
  const { policy } = outcome;
  if (outcome.archive !== undefined) ctx.archive = outcome.archive;
  const changed = ctx.policy?.revision !== policy.revision;
  ctx.policy = policy;
  notePolicyApplied(ctx, String(unsigned.revision));
  for (const e of outcome.events) ctx.emit(e);
  if (changed) ctx.emit({ type: 'policy', policy });
  emitCapabilitiesIfChanged(ctx);
  // Best effort: a report that does not reach the server shows as missing or stale there.
  await reportCompliance(ctx).catch(() => undefined);
  return policy;
}

const empty = { layers: [], groupLayers: [], delegations: [], broadcasts: [] } as const;

/** The user-wide archive state of a policy: the key's fingerprint, the scope and the descriptions. */
async function archiveStateOf(ctx: ClientContext, policy: ClientPolicy): Promise<ArchiveState> {
  if (policy.archiveKey === null) return { on: false };
  const auditors = policy.archiveAuditors;
  return {
    on: true,
    keyFingerprint: await archiveKeyFingerprint(ctx.provider, policy.archiveKey),
    ...(policy.archiveScope === undefined ? {} : { scope: policy.archiveScope }),
    ...(auditors === undefined
      ? {}
      : { auditors: { threshold: auditors.threshold, total: auditors.holders.length } }),
    ...(policy.archiveKeySetId === undefined ? {} : { keySetId: policy.archiveKeySetId }),
  };
}

/**
 * What is recorded as last reported: the fingerprint alone while no scope or description is set
 * (as before scopes existed, so an upgrade reports nothing new), else the fingerprint and the
 * canonical JSON of the rest; `null` for off.
 */
function shownArchiveState(archive: ArchiveState): string | null {
  if (!archive.on) return null;
  const { on: _on, keyFingerprint, ...rest } = archive;
  if (Object.keys(rest).length === 0) return keyFingerprint;
  return `${keyFingerprint} ${new TextDecoder().decode(canonicalJsonBytes(rest as never, 'archive'))}`;
}
