/**
 * The compliance area's flows of the portal scenario (`spec/portal-compliance.md` §7), in order:
 * an audit search (with the chain verification shown as verified and the export downloaded);
 * the archive settings shown (with an indicator preview); a SCIM token created and revoked. And
 * the area's screens for the accessibility check and the screenshots.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { PortalFlow, PortalScreen } from '../lib/context.js';
import { answerStepUp } from '../lib/step-up.js';
import { recordToFind, settled } from './compliance-helpers.js';

const auditSearch: PortalFlow = {
  name: 'an audit search',
  async run(ctx) {
    const { page } = ctx;
    const record = await recordToFind(ctx);
    await page.goto(`${ctx.portalUrl}#/audit`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor({ timeout: 10_000 });
    // The chain verification: the server's chain check and the checkpoint verified in the page.
    const checkpoint = page.getByText(
      /^Verified up to \d+ records, checkpoint signed by \S+ \(key ID [0-9a-f]{8}\)\.$/,
    );
    await checkpoint.waitFor({ timeout: 15_000 });
    await page.getByText(/^Hash chain verified: \d+ records/).waitFor();
    await page.getByText('Verified', { exact: true }).waitFor();
    const verified = (await checkpoint.textContent()) ?? '';

    await page.getByLabel('Action', { exact: true }).fill(record.action);
    await page.getByLabel('Target', { exact: true }).fill(record.target);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: String(record.seq), exact: true }) })
      .filter({ hasText: record.action });
    await row.waitFor({ timeout: 10_000 });
    const text = (await row.textContent()) ?? '';
    if (!text.includes(record.actor))
      throw new Error(`the record's row does not name its actor ${record.actor}`);
    if (!text.includes(record.target))
      throw new Error(`the record's row does not name its target ${record.target}`);
    const rows = await page.getByRole('table', { name: 'Records' }).getByRole('row').count();

    // The export: a file download (Blob and object URL) with the record in it.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const path = await download.path();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    const exported = lines.map((l) => JSON.parse(l) as { seq?: number; action?: string });
    if (!exported.some((r) => r.seq === record.seq && r.action === record.action)) {
      throw new Error(`the exported file (${lines.length} lines) does not hold record ${record.seq}`);
    }
    if (!download.suggestedFilename().endsWith('.jsonl')) {
      throw new Error(`the export is named ${download.suggestedFilename()}`);
    }
    return `found no. ${record.seq} ${record.action} by ${record.actor} on ${record.target} (${rows - 1} row(s)); "${verified}"; exported ${lines.length} lines as ${download.suggestedFilename()}`;
  },
};

const archiveShown: PortalFlow = {
  name: 'archive settings shown',
  async run(ctx) {
    const { page } = ctx;
    const owner = ctx.system.owner.client;
    let users = await owner.listUsers({ limit: 2 });
    // The preview needs two users; a scenario run on its own may not have made any yet.
    for (let i = users.items.length; i < 2; i++) await owner.inviteUser({ user: `archive-preview-${i + 1}` });
    if (users.items.length < 2) users = await owner.listUsers({ limit: 2 });
    const [keySets, tenant] = await Promise.all([
      owner.archive.keySets(),
      owner.restrictions.get({ layer: 'tenant' }),
    ]);
    await page.goto(`${ctx.portalUrl}#/archive`);
    await page.getByRole('heading', { level: 1, name: 'Archive settings' }).waitFor({ timeout: 10_000 });
    await page.getByRole('heading', { level: 2, name: 'Archive key sets' }).waitFor();
    if (keySets.length === 0) await page.getByText(/^No key set is registered\./).waitFor();
    else for (const k of keySets) await page.getByText(k.fingerprint).first().waitFor();
    const on =
      (tenant?.document as { archive?: { enabled?: boolean } } | undefined)?.archive?.enabled === true;
    if (!on) await page.getByText(/^Archiving is off: the tenant policy names no archive key\./).waitFor();
    else await page.getByText('Key fingerprint', { exact: true }).waitFor();
    // The indicator preview for two users.
    const [a, b] = users.items;
    if (a === undefined || b === undefined)
      return `${keySets.length} key set(s), archiving ${on ? 'on' : 'off'}; no two users to preview`;
    await page.getByLabel('First user').fill(a.id);
    await page.getByLabel('Second user').fill(b.id);
    await page.getByRole('button', { name: 'Show the indicator' }).click();
    await page.getByText(`${a.id} writing to ${b.id} sees`).waitFor({ timeout: 10_000 });
    await page.getByText(`${b.id} writing to ${a.id} sees`).waitFor();
    const shown = await page
      .getByText(/^Archiving is (on|off) for this conversation/)
      .first()
      .textContent();
    if (!on && !(shown ?? '').startsWith('Archiving is off'))
      throw new Error(`the preview says "${shown}" while archiving is off`);
    return `${keySets.length} key set(s), archiving ${on ? 'on' : 'off'}; preview ${a.id} ↔ ${b.id}: "${shown}"`;
  },
};

const scimToken: PortalFlow = {
  name: 'a SCIM token created and revoked',
  async run(ctx) {
    const { page } = ctx;
    const owner = ctx.system.owner.client;
    const name = `IdP ${Date.now().toString(36)}`;
    await page.goto(`${ctx.portalUrl}#/scim-tokens`);
    await page.getByRole('heading', { level: 1, name: 'SCIM tokens' }).waitFor({ timeout: 10_000 });
    await settled(page);
    await page.getByRole('button', { name: 'New SCIM token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New SCIM token' });
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await answerStepUp(ctx);
    const shown = page.getByRole('dialog').filter({ hasText: 'shown only this once' });
    await shown.waitFor({ timeout: 10_000 });
    const token = await shown.getByLabel('Secret (shown once)').inputValue();
    if (!/^scim_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error('the token shown is not a SCIM token');
    await shown.getByRole('button', { name: 'Close' }).click();
    await shown.waitFor({ state: 'hidden' });
    const listed = (await owner.scim.listTokens()).find((t) => t.name === name);
    if (listed === undefined) throw new Error('the server does not list the new token');
    await page.getByRole('cell', { name, exact: true }).waitFor({ timeout: 10_000 });

    await page.getByRole('button', { name: `Revoke ${name}` }).click();
    await page
      .getByRole('dialog', { name: 'Please confirm' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await answerStepUp(ctx);
    await page.getByRole('cell', { name, exact: true }).waitFor({ state: 'detached', timeout: 10_000 });
    if ((await owner.scim.listTokens()).some((t) => t.id === listed.id)) {
      throw new Error('the server still lists the revoked token');
    }
    return `token ${listed.id} (source ${listed.source}) shown once and listed; revoked, the server no longer lists it`;
  },
};

/** The flows, in the order they run. */
export const flows: readonly PortalFlow[] = [auditSearch, archiveShown, scimToken];

/** The screens of the compliance area (ready when loaded, whatever the language). */
export const screens: readonly PortalScreen[] = [
  { name: 'compliance-audit-log', path: '#/audit', ready: (page) => settled(page) },
  { name: 'compliance-archive-settings', path: '#/archive', ready: (page) => settled(page) },
  { name: 'compliance-integrations', path: '#/integrations', ready: (page) => settled(page) },
  { name: 'compliance-scim-tokens', path: '#/scim-tokens', ready: (page) => settled(page) },
  { name: 'compliance-directory-status', path: '#/directory', ready: (page) => settled(page) },
];
