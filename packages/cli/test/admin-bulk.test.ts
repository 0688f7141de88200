/**
 * `cloister admin bulk …` against a running server: a dry run prints the plan and changes
 * nothing; a bulk block with a user that does not exist does the others, writes one result line
 * per item and exits 1 naming the failures; the filter commands list what the job changed; a bulk
 * invite opens its sealed tokens locally and writes the enrolment codes to a file only its owner
 * may read; a finished job cannot be resumed. `--compliant` / `--non-compliant` select by policy
 * compliance (enrolled devices that never reported are non-compliant). A wipe over more devices
 * than one job takes (a limit of 2 here) runs as several jobs, one after the other, with the
 * sequences of each signed after the one before it: every device is wiped once.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filterOf } from '../src/commands/admin-bulk.js';
import { EXIT } from '../src/index.js';
import { cli, tempDir, useAdminServer } from './helpers.js';

const ROOT_PASSPHRASE = 'root passphrase 9012';
const DEVICE_PIN = '2468-1357';

describe('cloister admin bulk', () => {
  const { as, connect, secret, secrets } = useAdminServer({ timeoutMs: 120_000 });
  const files = {
    root: secret('root-passphrase', ROOT_PASSPHRASE),
    pin: secret('pin', DEVICE_PIN),
  };
  const jsonLines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));

  beforeAll(async () => {
    for (const u of ['temp-1', 'temp-2', 'temp-3', 'staff-1']) {
      expect((await as('admin', 'users', 'invite', u)).code).toBe(EXIT.ok);
    }
  }, 600_000);

  it('a dry run prints the plan and changes nothing', async () => {
    const dry = await as('admin', 'bulk', 'block', '--text', 'temp-', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(EXIT.ok);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      total: 3,
      change: 3,
      skipped: 0,
      failed: 0,
    });
    const blocked = await as('admin', 'bulk', 'find-users', '--status', 'blocked', '--json');
    expect(blocked.code, blocked.stderr).toBe(EXIT.ok);
    expect(blocked.stdout).toBe('');
  });

  it('blocks the others, writes a result per item and exits 1 when an item failed', async () => {
    const results = join(secrets, 'block.jsonl');
    const run = await as(
      'admin',
      'bulk',
      'block',
      '--users',
      'temp-1,temp-2,nobody',
      '--results',
      results,
      '--json',
    );
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toMatch(/1 of 3 items failed/);
    expect(JSON.parse(run.stdout)).toMatchObject({ state: 'done', ok: 2, failed: 1 });
    const items = jsonLines(readFileSync(results, 'utf8'));
    expect(items.map((i) => [i.user, i.outcome, i.reason])).toEqual([
      ['temp-1', 'ok', null],
      ['temp-2', 'ok', null],
      ['nobody', 'failed', 'not-found'],
    ]);
    const found = jsonLines(
      (await as('admin', 'bulk', 'find-users', '--status', 'blocked', '--json')).stdout,
    );
    expect(found.map((f) => f.user.id).sort()).toEqual(['temp-1', 'temp-2']);
    const job = JSON.parse(run.stdout).id as string;
    const failed = jsonLines(
      (await as('admin', 'bulk', 'results', job, '--outcome', 'failed', '--json')).stdout,
    );
    expect(failed.map((i) => i.user)).toEqual(['nobody']);
    // A finished job cannot be resumed.
    const resume = await as('admin', 'bulk', 'resume', job);
    expect(resume.code).toBe(EXIT.failure);
  });

  it('invites again with the codes opened here, in a file only its owner reads', async () => {
    const results = join(secrets, 'codes.jsonl');
    const run = await as(
      'admin',
      'bulk',
      'invite',
      '--status',
      'never-enrolled',
      '--text',
      'staff',
      '--results',
      results,
    );
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/1\/1 done: 1 changed/);
    expect(statSync(results).mode & 0o777).toBe(0o600);
    const [item] = jsonLines(readFileSync(results, 'utf8'));
    expect(item).toMatchObject({ user: 'staff-1', outcome: 'ok' });
    expect(item.enrolmentCode).toMatch(/^[A-Za-z0-9_-]{43}/);
  });

  it('refuses a job without a selection', async () => {
    const r = await as('admin', 'bulk', 'block');
    expect(r.code).not.toBe(EXIT.ok);
    expect(r.stderr).toMatch(/--users or at least one filter option/);
  });

  it('--compliant and --non-compliant select by policy compliance, not both', async () => {
    expect(filterOf({ nonCompliant: true, status: 'active' })).toEqual({
      status: 'active',
      compliant: false,
    });
    expect(filterOf({ compliant: true })).toEqual({ compliant: true });
    // Users without a device have no non-compliant device.
    const compliant = await as('admin', 'bulk', 'find-users', '--compliant', '--text', 'temp-', '--json');
    expect(compliant.code, compliant.stderr).toBe(EXIT.ok);
    expect(
      jsonLines(compliant.stdout)
        .map((u) => u.user.id)
        .sort(),
    ).toEqual(['temp-1', 'temp-2', 'temp-3']);
    const non = await as('admin', 'bulk', 'find-users', '--non-compliant', '--text', 'temp-', '--json');
    expect(non.code, non.stderr).toBe(EXIT.ok);
    expect(non.stdout).toBe('');
    const both = await as('admin', 'bulk', 'find-users', '--compliant', '--non-compliant');
    expect(both.code).not.toBe(EXIT.ok);
  });

  it('wipes more devices than one job takes as several jobs, each device once', async () => {
    for (const step of [
      ['org', 'init', '--root-passphrase-file', files.root],
      ['org', 'register'],
      ['org', 'delegate'],
    ]) {
      const r = await as(...step);
      expect(r.code, r.stderr).toBe(EXIT.ok);
    }
    for (const u of ['wipe-1', 'wipe-2', 'wipe-3']) {
      const invite = await as('admin', 'users', 'invite', u, '--json');
      expect(invite.code, invite.stderr).toBe(EXIT.ok);
      const enrolled = await cli([
        'client',
        'enroll',
        '--data-dir',
        tempDir(),
        ...connect(),
        '--token',
        JSON.parse(invite.stdout).enrolmentCode,
        '--pin-file',
        files.pin,
        '--json',
      ]);
      expect(enrolled.code, enrolled.stderr).toBe(EXIT.ok);
    }
    // Enrolled devices that never reported are non-compliant.
    const non = await as('admin', 'bulk', 'find-devices', '--non-compliant', '--text', 'wipe-', '--json');
    expect(
      jsonLines(non.stdout)
        .map((d) => d.user)
        .sort(),
    ).toEqual(['wipe-1', 'wipe-2', 'wipe-3']);
    const dry = await as(
      'admin',
      'bulk',
      'wipe',
      '--text',
      'wipe-',
      '--devices-per-job',
      '2',
      '--dry-run',
      '--json',
    );
    expect(dry.code, dry.stderr).toBe(EXIT.ok);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, total: 3, change: 3, failed: 0 });
    const results = join(secrets, 'wipe.jsonl');
    const run = await as(
      'admin',
      'bulk',
      'wipe',
      '--text',
      'wipe-',
      '--devices-per-job',
      '2',
      '--results',
      results,
      '--json',
    );
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const jobs = jsonLines(run.stdout);
    expect(jobs.map((j) => [j.action, j.state, j.total, j.ok])).toEqual([
      ['wipe', 'done', 2, 2],
      ['wipe', 'done', 1, 1],
    ]);
    expect(jobs[0].id).not.toBe(jobs[1].id);
    const items = jsonLines(readFileSync(results, 'utf8'));
    expect(items.map((i) => i.user).sort()).toEqual(['wipe-1', 'wipe-2', 'wipe-3']);
    expect(items.every((i) => i.outcome === 'ok')).toBe(true);
    const blocked = jsonLines(
      (await as('admin', 'bulk', 'find-devices', '--text', 'wipe-', '--status', 'blocked', '--json')).stdout,
    );
    expect(blocked).toHaveLength(3);
    expect((await as('admin', 'bulk', 'wipe', '--text', 'wipe-', '--devices-per-job', '1001')).code).toBe(
      EXIT.usage,
    );
  }, 600_000);
});
