/**
 * Helpers of the users flows: inviting a user in the portal and reading the enrolment code off the
 * page, answering the step-up prompt when the portal asks, and waiting for a condition.
 *
 * @module
 */
import type { Page } from 'playwright-core';
import type { PortalTestContext } from '../lib/context.js';

/** The hash route of a user's page. */
export const userPage = (ctx: PortalTestContext, user: string): string =>
  `${ctx.portalUrl}#/users/${encodeURIComponent(user)}/show`;

/**
 * Invites `user` on the portal's "Invite user" page and reads the enrolment code (and whether the
 * page says it was checked against the organisation root) from the page.
 */
export async function inviteInPortal(
  ctx: PortalTestContext,
  user: string,
  displayName: string,
): Promise<{ code: string; rootVerified: boolean; qrShown: boolean }> {
  const { page } = ctx;
  await page.goto(`${ctx.portalUrl}#/users/create`);
  await page.getByLabel('User ID', { exact: false }).first().fill(user);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const codeBox = page.getByRole('textbox', { name: 'Enrolment code' });
  const error = page.getByRole('alert');
  await Promise.race([codeBox.waitFor({ timeout: 10_000 }), error.first().waitFor({ timeout: 10_000 })]);
  if (!(await codeBox.isVisible())) {
    throw new Error(`the portal refused the invitation of ${user}: ${await error.first().textContent()}`);
  }
  const code = (await codeBox.inputValue()).trim();
  if (!/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/.test(code)) {
    throw new Error(`the page shows no enrolment code for ${user} (${code.length} characters)`);
  }
  const qr = page.getByRole('img', { name: `QR code of the enrolment code for ${user}` });
  await qr.waitFor({ timeout: 5_000 });
  const src = (await qr.getAttribute('src')) ?? '';
  const rootVerified = await page
    .getByText('Checked in this browser against the organisation root')
    .isVisible();
  return { code, rootVerified, qrShown: src.startsWith('data:image/png;base64,') };
}

/** Polls `check` until it answers true, else throws with `what`. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Selects the list rows whose text contains one of `users` (the row's checkbox). */
export async function selectRows(page: Page, users: readonly string[]): Promise<void> {
  for (const user of users) {
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: user, exact: true }) });
    await row.getByRole('checkbox').check();
  }
}
