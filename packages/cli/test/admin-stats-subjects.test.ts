/**
 * `cloister admin stats` and `cloister admin users export|erase` against a running server: the
 * daily figures (a small tenant: every people-based figure is `<5`), the CSV, the monthly view; a
 * user's export written to a file (mode 0600, not overwritten), then their erasure, after which
 * the export is refused as not found.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

describe('cloister admin stats and data-subject requests', () => {
  const { as, json, secrets } = useAdminServer();

  it('shows the daily and monthly figures and the CSV; a small tenant shows <5', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const daily = await json('admin', 'stats', '--from', today, '--to', today);
    expect(daily.days).toHaveLength(1);
    expect(daily.days[0]).toMatchObject({
      day: today,
      activeUsers: null,
      activeDevices: null,
      messages: null,
    });
    expect(daily.series.activeUsers).toEqual([{ day: today, value: null }]);
    const text = await as('admin', 'stats', '--from', today, '--to', today);
    expect(text.code, text.stderr).toBe(EXIT.ok);
    expect(text.stdout).toContain(`${today}     <5      <5       <5`);
    const csv = await as('admin', 'stats', '--csv', '--from', today, '--to', today);
    expect(csv.stdout.split('\r\n')).toEqual([
      'day,scope,pool,active_users,active_devices,messages,enrolments,peak_connections',
      `${today},tenant,,<5,<5,<5,<5,<5`,
      '',
    ]);
    const monthly = await json('admin', 'stats', '--monthly');
    expect(monthly.months).toHaveLength(12);
    const bad = await as('admin', 'stats', '--from', '2026-1-1');
    expect(bad.code).toBe(EXIT.usage);
  }, 60_000);

  it('exports a user to a file, erases them, and the export is then refused', async () => {
    expect((await as('admin', 'users', 'invite', 'alice', '--display-name', 'Alice Liddell')).code).toBe(
      EXIT.ok,
    );
    const out = join(secrets, 'alice.json');
    const exported = await as('admin', 'users', 'export', 'alice', '--out', out);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.schema).toBe('cloister/subject-export/v1');
    expect(doc.user).toMatchObject({ id: 'alice', displayName: 'Alice Liddell', personalDataSealed: true });
    expect(doc.invites).toHaveLength(1);
    expect(doc.audit.records.map((r: { action: string }) => r.action)).toContain('user.invite');
    // Not overwritten.
    expect((await as('admin', 'users', 'export', 'alice', '--out', out)).code).toBe(EXIT.failure);

    expect(await json('admin', 'users', 'erase', 'alice')).toEqual({ user: 'alice', erased: true });
    const gone = await as('admin', 'users', 'export', 'alice');
    expect(gone.code).toBe(EXIT.failure);
    expect(gone.stderr).toMatch(/not found/);
  }, 60_000);
});
