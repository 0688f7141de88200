/**
 * The effective policy: fetched from the server at start and on every (re)connection, read by
 * the core (`core/policy.ts`), and reported with a `policy` event when its revision changes. The
 * answer's signed revocation list and reach statement are verified with the tenant key and pinned
 * (`core/revocations.ts`, spec/revocations.md) before anything of the answer is applied.
 *
 * @module
 */
import type { ClientContext } from './context.js';
import { acceptRevocations, type ClientPolicy, parsePolicy, signedPolicyParts } from './core/index.js';
import { expectOk } from './transport/common.js';

/**
 * Fetches the effective policy from the server, pins its signed revocation list and reach
 * statement, and emits `policy` when it changed. A signed object that does not verify under the
 * tenant key, or is older than the pinned one (a rollback), throws `InvalidKeyError` (a malformed
 * field `DecodeError`) and nothing of the answer is applied.
 */
export async function refreshPolicy(ctx: ClientContext): Promise<ClientPolicy> {
  const u = ctx.ready();
  const body = expectOk(await u.transport.request('GET', '/v1/policy')).json as Parameters<
    typeof parsePolicy
  >[0];
  const policy = parsePolicy(body);
  const signed = signedPolicyParts(body as { revocations?: unknown; reach?: unknown });
  if (signed.revocations !== undefined || signed.reach !== undefined) {
    await u.stores.transaction((t) => acceptRevocations(u.self, t.tx, signed));
  }
  const changed = ctx.policy?.revision !== policy.revision;
  ctx.policy = policy;
  if (changed) ctx.emit({ type: 'policy', policy });
  return policy;
}
