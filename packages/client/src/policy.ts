/**
 * The effective policy: fetched from the server at start and on every (re)connection, read by
 * the core (`core/policy.ts`), and reported with a `policy` event when its revision changes.
 *
 * @module
 */
import type { ClientContext } from './context.js';
import { type ClientPolicy, parsePolicy } from './core/index.js';
import { expectOk } from './transport/common.js';

/** Fetches the effective policy from the server and emits `policy` when it changed. */
export async function refreshPolicy(ctx: ClientContext): Promise<ClientPolicy> {
  const u = ctx.ready();
  const body = expectOk(await u.transport.request('GET', '/v1/policy')).json as Parameters<
    typeof parsePolicy
  >[0];
  const policy = parsePolicy(body);
  const changed = ctx.policy?.revision !== policy.revision;
  ctx.policy = policy;
  if (changed) ctx.emit({ type: 'policy', policy });
  return policy;
}
