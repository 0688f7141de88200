/**
 * Helpers of the compliance area's flows: the step-up answer, the wait until a compliance screen
 * has loaded (language-independent: its `<h1>` is there and nothing is marked busy), and the
 * audit record a search should find.
 *
 * @module
 */
import type { AuditRecordView } from '@cloister/admin';
import type { Page } from 'playwright-core';
import type { PortalTestContext } from '../lib/context.js';

/** Waits until the screen shows its `<h1>` and no part of it is still loading (`aria-busy`). */
export async function settled(page: Page, timeout = 15_000): Promise<void> {
  await page.locator('h1').first().waitFor({ timeout });
  await page.waitForFunction(() => document.querySelector('[aria-busy="true"]') === null, undefined, {
    timeout,
  });
}

/**
 * The audit record the search flow looks for: the newest `user.block` an administrator made
 * (the users area's block flow), else the tenant's creation by the operator (the setup's).
 */
export async function recordToFind(ctx: PortalTestContext): Promise<AuditRecordView> {
  const owner = ctx.system.owner.client;
  let found: AuditRecordView | undefined;
  let after: number | undefined;
  for (let i = 0; i < 20; i++) {
    const page = await owner.searchAudit({
      action: 'user.block',
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const r of page.items) if (r.actor.startsWith('adm_') && r.outcome === 'success') found = r;
    if (page.next === undefined) break;
    after = Number(page.next);
  }
  if (found !== undefined) return found;
  const created = await owner.searchAudit({ action: 'tenant.create', limit: 1 });
  const first = created.items[0];
  if (first === undefined)
    throw new Error('the audit log has neither a user.block nor a tenant.create record');
  return first;
}
