/**
 * The users area's flows of the portal scenario (`spec/portal-users.md` §5), in order: invite a
 * user whose device then enrols; block and unblock; a bulk action with dry run; a remote wipe
 * confirmed. And the area's screens for the accessibility check and the screenshots.
 *
 * @module
 */
import type { CloisterClient } from '@cloister/client';
import { nextEvent } from '../../../examples/demo-system.js';
import type { PortalFlow, PortalScreen, PortalTestContext } from '../lib/context.js';
import { answerStepUp } from '../lib/step-up.js';
import { eventually, inviteInPortal, selectRows, userPage } from './users-helpers.js';

function sharedClient(ctx: PortalTestContext, user: string): CloisterClient {
  const client = ctx.shared.get(`client:${user}`);
  if (client === undefined) throw new Error(`no enrolled client for ${user} (the invite flow runs first)`);
  return client as CloisterClient;
}

/** Invites `user` in the portal, enrols a Node client with the code read off the page, checks the user's page lists the device. */
async function inviteAndEnrol(ctx: PortalTestContext, user: string, name: string): Promise<string> {
  const { code, rootVerified, qrShown } = await inviteInPortal(ctx, user, name);
  if (!qrShown) throw new Error(`the invitation of ${user} shows no QR code`);
  const client = await ctx.system.client(user, { token: code });
  ctx.shared.set(`client:${user}`, client);
  const device = client.me.deviceId;
  await ctx.page.goto(userPage(ctx, user));
  await ctx.page.getByRole('cell', { name: `Device ${device}`, exact: true }).waitFor({ timeout: 10_000 });
  return `${user}: code ${rootVerified ? 'checked against the root' : 'NOT checked against the root'}, device ${device} listed`;
}

const inviteFlow: PortalFlow = {
  name: 'invite a user whose device then enrols',
  async run(ctx) {
    const dana = await inviteAndEnrol(ctx, 'dana', 'Dana');
    const erik = await inviteAndEnrol(ctx, 'erik', 'Erik');
    return `${dana}; ${erik}`;
  },
};

const blockFlow: PortalFlow = {
  name: 'block and unblock',
  async run(ctx) {
    const { page } = ctx;
    const owner = ctx.system.owner.client;
    const dana = sharedClient(ctx, 'dana');
    await dana.refreshPolicy(); // works before the block
    await page.goto(userPage(ctx, 'dana'));
    await page.getByRole('button', { name: 'Block user' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Block user' }).click();
    await page.getByText('dana is blocked.').waitFor({ timeout: 10_000 });
    if (!(await owner.getUser('dana')).blocked) throw new Error('the server does not show dana blocked');
    const refused = await dana.refreshPolicy().then(
      () => null,
      (e: unknown) => (e as { code?: string }).code ?? 'error',
    );
    if (refused === null) throw new Error("the server still answers dana's device while she is blocked");
    await page.getByRole('button', { name: 'Unblock user' }).click();
    await page.getByText('dana is unblocked.').waitFor({ timeout: 10_000 });
    if ((await owner.getUser('dana')).blocked) throw new Error('the server still shows dana blocked');
    await eventually('dana works again after the unblock', async () => {
      await dana.refreshPolicy();
      return true;
    });
    return `blocked: the server refused dana's device (${refused}); unblocked: it answers again`;
  },
};

const BULK_USERS = ['bulk-ana', 'bulk-ben', 'bulk-cem'] as const;

/** Runs one bulk action on the rows of `users` through the dialog: dry run, confirm, progress, results. */
async function bulkInPortal(
  ctx: PortalTestContext,
  action: 'Block' | 'Unblock',
  users: readonly string[],
  expectChange: number,
): Promise<string> {
  const { page } = ctx;
  await page.goto(`${ctx.portalUrl}#/users?filter=${encodeURIComponent(JSON.stringify({ text: 'bulk-' }))}`);
  for (const user of users)
    await page.getByRole('cell', { name: user, exact: true }).waitFor({ timeout: 10_000 });
  await selectRows(page, users);
  await page.getByRole('button', { name: action, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Dry run: nothing has been changed yet').waitFor({ timeout: 10_000 });
  const skipped = users.length - expectChange;
  await dialog
    .getByText(
      `Of ${users.length} item(s), ${expectChange} would change, ${skipped} would be skipped and 0 would fail.`,
    )
    .waitFor();
  const plannedRows = await dialog.getByRole('row').filter({ hasText: 'Would change' }).count();
  if (plannedRows !== expectChange)
    throw new Error(`the dry run lists ${plannedRows} changes, not ${expectChange}`);
  const skippedWhy =
    skipped > 0
      ? (
          await dialog
            .getByRole('row')
            .filter({ hasText: 'Would be skipped' })
            .first()
            .getByRole('cell')
            .allTextContents()
        ).join(' / ')
      : '';
  await dialog.getByRole('button', { name: `${action} ${expectChange} user(s) now` }).click();
  await dialog.getByText(`Progress: ${users.length} of ${users.length} (100%)`).waitFor({ timeout: 15_000 });
  await dialog
    .getByText(`${expectChange} changed, ${skipped} skipped, 0 failed.`)
    .waitFor({ timeout: 10_000 });
  const succeeded = await dialog.getByRole('row').filter({ hasText: 'Succeeded' }).count();
  if (succeeded !== expectChange)
    throw new Error(`the results list ${succeeded} successes, not ${expectChange}`);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden' });
  return `${action.toLowerCase()}: dry run ${expectChange} change/${skipped} skipped${
    skippedWhy === '' ? '' : ` (${skippedWhy.replace(/\s+/g, ' ').trim()})`
  }, progress 100%, ${succeeded} succeeded`;
}

const bulkFlow: PortalFlow = {
  name: 'a bulk action with dry run',
  async run(ctx) {
    const owner = ctx.system.owner.client;
    for (const user of BULK_USERS)
      await owner.inviteUser({ user, displayName: user.replace('bulk-', 'Bulk ') });
    // One of them is blocked already: the dry run shows it skipped with its reason.
    await owner.blockUser(BULK_USERS[2]);
    const blocked = await bulkInPortal(ctx, 'Block', BULK_USERS, 2);
    for (const user of BULK_USERS) {
      if (!(await owner.getUser(user)).blocked)
        throw new Error(`${user} is not blocked after the bulk block`);
    }
    // Undone, so that later flows find them as before.
    const unblocked = await bulkInPortal(ctx, 'Unblock', BULK_USERS, 3);
    for (const user of BULK_USERS) {
      if ((await owner.getUser(user)).blocked)
        throw new Error(`${user} is still blocked after the bulk unblock`);
    }
    // The list remembers its filter: leave it without one for the screens after.
    await ctx.page.goto(`${ctx.portalUrl}#/users?filter=${encodeURIComponent('{}')}`);
    await ctx.page.getByRole('cell', { name: 'dana', exact: true }).waitFor({ timeout: 10_000 });
    return `${blocked}; ${unblocked}`;
  },
};

const wipeFlow: PortalFlow = {
  name: 'a remote wipe confirmed',
  async run(ctx) {
    const { page } = ctx;
    const erik = sharedClient(ctx, 'erik');
    const device = erik.me.deviceId;
    const wiped = nextEvent(erik, 'wiped', () => true, 15_000);
    await page.goto(userPage(ctx, 'erik'));
    await page.getByRole('button', { name: `Wipe device ${device}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Wipe now' }).click();
    await answerStepUp(ctx);
    await page
      .getByText(`The wipe of device ${device} is signed and published.`)
      .waitFor({ timeout: 10_000 });
    // The device is blocked at once, its socket closes and it asks for its wipe; if it has not yet,
    // it asks now (as it does at its next start).
    const event = await Promise.race([wiped, new Promise<null>((r) => setTimeout(() => r(null), 4_000))]);
    if (event === null) {
      await erik.checkWipe().catch((e: unknown) => {
        if (erik.status !== 'wiped') throw e;
      });
    }
    const report = await wiped;
    await page.getByText(/^Wipe confirmed/).waitFor({ timeout: 10_000 });
    const server = await ctx.system.owner.client.getWipe('erik', device);
    if (server.state !== 'confirmed') throw new Error(`the server shows the wipe ${server.state}`);
    return `erik's device ${device} wiped (report sent: ${report.reported}); the portal shows it confirmed`;
  },
};

/** The flows, in the order they run. */
export const flows: readonly PortalFlow[] = [inviteFlow, blockFlow, bulkFlow, wipeFlow];

/** The screens of the users area (their readiness does not depend on the language). */
export const screens: readonly PortalScreen[] = [
  {
    name: 'users-list',
    path: `#/users?filter=${encodeURIComponent('{}')}`,
    ready: (page) => page.getByRole('cell', { name: 'dana', exact: true }).waitFor({ timeout: 10_000 }),
  },
  {
    name: 'users-invite',
    path: '#/users/create',
    ready: (page) => page.locator('form').first().waitFor({ timeout: 10_000 }),
  },
  {
    name: 'users-user-page',
    path: '#/users/dana/show',
    ready: (page) =>
      page.getByRole('cell', { name: 'dana', exact: true }).first().waitFor({ timeout: 10_000 }),
  },
  {
    name: 'users-devices',
    path: `#/devices?filter=${encodeURIComponent('{}')}`,
    ready: (page) =>
      page.getByRole('cell', { name: 'dana', exact: true }).first().waitFor({ timeout: 10_000 }),
  },
];
