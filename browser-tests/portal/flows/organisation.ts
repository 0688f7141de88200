/**
 * The organisation area's flows of the portal scenario (`spec/portal-organisation.md` §6), in
 * order: pools created and a pool rule signed in the browser, seen by the server; a tenant-layer
 * restriction signed in the browser and seen by an enrolled Node client; a broadcast signed and
 * sealed in the browser, received by the Node client, with its delivery and read counts in the
 * portal. And the area's screens for the accessibility check and the screenshots.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { nextEvent } from '../../../examples/demo-system.js';
import type { PortalFlow, PortalScreen, PortalTestContext } from '../lib/context.js';
import { answerStepUp } from '../lib/step-up.js';
import { cellTexts, pageError, until, watchedClient } from './organisation-helpers.js';

/** The pools the flows create (ids and names). */
const WARD = { id: 'ward-7', name: 'Ward 7' } as const;
const PHARMACY = { id: 'pharmacy-7', name: 'Pharmacy 7' } as const;

async function createPoolInPortal(ctx: PortalTestContext, pool: { id: string; name: string }): Promise<void> {
  const { page } = ctx;
  await page.getByRole('button', { name: 'Create pool' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create pool' });
  await dialog.getByLabel('Name').fill(pool.name);
  await dialog.getByLabel('Pool id').fill(pool.id);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 10_000 }).catch(async () => {
    throw new Error(`the portal did not create pool ${pool.id}: ${(await pageError(ctx)) ?? 'no message'}`);
  });
  await page.getByRole('cell', { name: pool.id, exact: true }).waitFor({ timeout: 10_000 });
}

const poolRulesFlow: PortalFlow = {
  name: 'pools created and a pool rule published',
  async run(ctx) {
    const { page } = ctx;
    const owner = ctx.system.owner.client;
    await page.goto(`${ctx.portalUrl}#/pools`);
    for (const pool of [WARD, PHARMACY]) await createPoolInPortal(ctx, pool);

    await page.goto(`${ctx.portalUrl}#/pool-rules`);
    const cell = page.getByRole('checkbox', { name: `Members of ${WARD.name} may contact ${PHARMACY.name}` });
    await cell.check();
    await page.getByRole('button', { name: 'Sign and publish rules' }).click();
    const published = page.getByText(/^Pool rules published \(sequence (\d+)\)\.$/).first();
    await published.waitFor({ timeout: 10_000 }).catch(async () => {
      throw new Error(`the rules were not published: ${(await pageError(ctx)) ?? 'no message'}`);
    });
    const sequence = /\(sequence (\d+)\)/.exec((await published.textContent()) ?? '')?.[1];

    const ward = await owner.pools.get(WARD.id);
    if (!ward.mayContact.includes(PHARMACY.id))
      throw new Error(`the server's ${WARD.id} does not reach ${PHARMACY.id}`);
    const pharmacy = await owner.pools.get(PHARMACY.id);
    if (pharmacy.mayContact.includes(WARD.id)) throw new Error('a one-way rule came out two-way');

    await page.goto(`${ctx.portalUrl}#/pools`);
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: WARD.id, exact: true }) });
    await until('the pools list shows the rule', async () => (await cellTexts(row))[3] === PHARMACY.name);
    return `${WARD.id} and ${PHARMACY.id} created; rule ${WARD.id} → ${PHARMACY.id} signed in the browser (sequence ${sequence}), the server and the list show it`;
  },
};

const policyFlow: PortalFlow = {
  name: 'a policy change seen by a client',
  async run(ctx) {
    const { page } = ctx;
    const { user, client } = await watchedClient(ctx);
    const before = await client.refreshPolicy();
    if (before.restrictions?.screenshots === false)
      throw new Error(`${user} starts with screenshots off already`);

    await page.goto(`${ctx.portalUrl}#/policies`);
    await page.getByRole('radio', { name: 'Tenant (whole organisation)' }).check();
    const row = page.getByRole('group', { name: 'Screenshots', exact: true });
    await row.getByLabel('Set in this layer').check();
    await row.getByLabel('Screenshots are allowed').uncheck();
    await row.getByLabel('Lock (lower layers cannot change it)').check();
    await page.getByRole('button', { name: 'Sign and publish layer' }).click();
    await answerStepUp(ctx);
    const done = page.getByText(/^Layer signed and published \(sequence (\d+)\)\.$/).first();
    await done.waitFor({ timeout: 10_000 }).catch(async () => {
      throw new Error(`the layer was not published: ${(await pageError(ctx)) ?? 'no message'}`);
    });
    const sequence = /\(sequence (\d+)\)/.exec((await done.textContent()) ?? '')?.[1];
    await page
      .getByText(new RegExp(`^Current layer: sequence ${sequence}, signed by `))
      .waitFor({ timeout: 10_000 });

    let seen: boolean | undefined;
    await until(`${user}'s device resolves screenshots off`, async () => {
      const policy = await client.refreshPolicy();
      seen = policy.restrictions?.screenshots;
      return policy.signed && seen === false;
    });
    const stored = (await ctx.system.owner.client.restrictions.get({ layer: 'tenant' }))?.settings
      .screenshots;
    if (stored?.value !== false || stored.locked !== true)
      throw new Error('the stored tenant layer is not as set');
    return `tenant layer sequence ${sequence} (screenshots off, locked) signed in the browser; ${user}'s device verified it and resolves screenshots off`;
  },
};

/** The counts the sent list shows for the row of `text`: [devices, delivered, read]. */
async function countsOf(page: Page, text: string): Promise<number[]> {
  const row = page.getByRole('row').filter({ hasText: text });
  if ((await row.count()) !== 1) return [];
  const cells = await cellTexts(row);
  return cells.slice(3, 6).map((c) => (/^\d+$/.test(c) ? Number(c) : -1));
}

/** Polls the sent list (pressing Refresh) until `check` holds for the row's counts; the error names the last counts. */
async function waitForCounts(
  page: Page,
  text: string,
  what: string,
  check: (c: number[]) => boolean,
): Promise<number[]> {
  const refresh = page
    .getByRole('region', { name: 'Sent broadcasts' })
    .getByRole('button', { name: 'Refresh' });
  let counts: number[] = [];
  try {
    await until(what, async () => {
      await refresh.click();
      await page.waitForTimeout(300);
      counts = await countsOf(page, text);
      return check(counts);
    });
  } catch (error) {
    const rows = await page.getByRole('row').count();
    throw new Error(`${(error as Error).message} (last counts: [${counts.join(', ')}], ${rows} rows)`);
  }
  return counts;
}

const broadcastFlow: PortalFlow = {
  name: 'a broadcast received by a client',
  async run(ctx) {
    const { page } = ctx;
    const { user, client } = await watchedClient(ctx);
    const text = `Fire drill at 10:00, assemble in the courtyard (${randomBytes(3).toString('hex')})`;
    await page.goto(`${ctx.portalUrl}#/broadcasts`);
    await page.getByRole('radio', { name: 'Everyone' }).check();
    await page.getByLabel('Text', { exact: true }).fill(text);
    await page.getByRole('region', { name: 'Preview' }).getByText(text).waitFor({ timeout: 5_000 });

    const received = nextEvent(client, 'broadcast', (e) => e.broadcast.text === text, 15_000);
    await page.getByRole('button', { name: 'Send broadcast' }).click();
    await page
      .getByRole('dialog', { name: 'Send this broadcast?' })
      .getByRole('button', { name: 'Sign and send' })
      .click();
    const queued = page.getByText(/^Queued for (one device|\d+ devices);/).first();
    await queued.waitFor({ timeout: 10_000 }).catch(async () => {
      throw new Error(`the broadcast was not sent: ${(await pageError(ctx)) ?? 'no message'}`);
    });
    const { broadcast } = await received;

    await waitForCounts(page, text, 'the list shows the broadcast delivered', (c) => (c[1] ?? 0) >= 1);
    await client.markBroadcastRead(broadcast.id);
    const counts = await waitForCounts(
      page,
      text,
      'the list shows the broadcast read',
      (c) => (c[2] ?? 0) >= 1,
    );
    return `${user}'s device showed it (signed by ${broadcast.from}); the list shows ${counts[0]} device(s), ${counts[1]} delivered, ${counts[2]} read`;
  },
};

export const flows: readonly PortalFlow[] = [poolRulesFlow, policyFlow, broadcastFlow];

/** Waits until no loading indicator of the area is left (language-neutral). */
const loaded = (page: Page) =>
  page
    .locator('[role="status"] .MuiCircularProgress-root')
    .first()
    .waitFor({ state: 'detached', timeout: 10_000 });

export const screens: readonly PortalScreen[] = [
  {
    name: 'organisation-pools',
    path: '#/pools',
    ready: async (page) => {
      await page.getByRole('cell', { name: WARD.id, exact: true }).waitFor({ timeout: 10_000 });
    },
  },
  {
    name: 'organisation-pool-rules',
    path: '#/pool-rules',
    ready: async (page) => {
      await page.getByRole('table').first().waitFor({ timeout: 10_000 });
    },
  },
  {
    name: 'organisation-policies',
    path: '#/policies',
    ready: async (page) => {
      await page.locator('#org-policy-layer-title').waitFor({ timeout: 10_000 });
      await loaded(page);
    },
  },
  {
    name: 'organisation-broadcasts',
    path: '#/broadcasts',
    ready: async (page) => {
      await page.locator('#org-sent-title').waitFor({ timeout: 10_000 });
      await page.getByRole('table').first().waitFor({ timeout: 10_000 });
    },
  },
];
