/**
 * Helpers of the organisation flows: the Node client the flows watch (dana's from the users flows,
 * else one enrolled here for frank), polling, the step-up prompt, and reading a table row's cells.
 *
 * @module
 */
import type { CloisterClient } from '@cloister/client';
import type { Locator } from 'playwright-core';
import type { PortalTestContext } from '../lib/context.js';

/** Dana's enrolled client from the users flows, or a client enrolled here for frank (kept in `shared`). */
export async function watchedClient(
  ctx: PortalTestContext,
): Promise<{ user: string; client: CloisterClient }> {
  const dana = ctx.shared.get('client:dana');
  if (dana !== undefined) {
    const client = dana as CloisterClient;
    if (client.status !== 'wiped') return { user: 'dana', client };
  }
  let frank = ctx.shared.get('client:frank') as CloisterClient | undefined;
  if (frank === undefined) {
    frank = await ctx.system.client('frank');
    ctx.shared.set('client:frank', frank);
  }
  return { user: 'frank', client: frank };
}

/** Polls `check` every 250 ms until it answers true, else throws naming `what`. */
export async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The texts of a row's cells. */
export async function cellTexts(row: Locator): Promise<string[]> {
  return (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim());
}

/** The first alert on the page that is an error, as text (for a failure message), or undefined. */
export async function pageError(ctx: PortalTestContext): Promise<string | undefined> {
  const alerts = ctx.page.getByRole('alert');
  const n = await alerts.count();
  for (let i = 0; i < n; i++) {
    const a = alerts.nth(i);
    if ((await a.getAttribute('class'))?.includes('Error')) return ((await a.textContent()) ?? '').trim();
  }
  return undefined;
}
