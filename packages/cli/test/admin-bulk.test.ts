/**
 * `cloister admin bulk …` against a running server: a dry run prints the plan and changes
 * nothing; a bulk block with a user that does not exist does the others, writes one result line
 * per item and exits 1 naming the failures; the filter commands list what the job changed; a bulk
 * invite opens its sealed tokens locally and writes the enrolment codes to a file only its owner
 * may read; a finished job cannot be resumed.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type StartJsonLine, type TenantCreateJson } from '../src/index.js';
import { cli, type Running, removeTempDirs, start, tempDir } from './helpers.js';
import { totpCode } from './totp.js';

const PASSWORD = 'owner password 1234';
const PASSPHRASE = 'admin passphrase 5678';

describe('cloister admin bulk', () => {
  const serverDir = tempDir();
  const adminDir = tempDir();
  const secrets = tempDir();
  const files = { password: join(secrets, 'password'), passphrase: join(secrets, 'passphrase') };
  let server: Running;
  let line: StartJsonLine;
  const connect = () => ['--server', line.url, '--server-pin', line.pin];
  const as = (...argv: string[]) =>
    cli([...argv, '--admin-dir', adminDir, '--passphrase-file', files.passphrase]);
  const jsonLines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));

  beforeAll(async () => {
    writeFileSync(files.password, `${PASSWORD}\n`);
    writeFileSync(files.passphrase, `${PASSPHRASE}\n`);
    server = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      serverDir,
      '--log-level',
      'silent',
    ]);
    line = JSON.parse(await server.firstLine()) as StartJsonLine;
    const created = await cli([
      'admin',
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME',
      '--domain',
      'acme.example',
      '--owner-email',
      'olivia@acme.example',
      '--owner-name',
      'Olivia',
      '--owner-password-file',
      files.password,
      '--operator-token-file',
      line.operatorTokenFile,
      ...connect(),
      '--json',
    ]);
    const owner = (JSON.parse(created.stdout) as TenantCreateJson).owner;
    const login = await as(
      'admin',
      'login',
      ...connect(),
      '--tenant',
      'acme',
      '--email',
      'olivia@acme.example',
      '--password-file',
      files.password,
      '--totp',
      totpCode(owner.totpUri),
    );
    expect(login.code, login.stderr).toBe(EXIT.ok);
    for (const u of ['temp-1', 'temp-2', 'temp-3', 'staff-1']) {
      expect((await as('admin', 'users', 'invite', u)).code).toBe(EXIT.ok);
    }
  }, 600_000);

  afterAll(async () => {
    server.signal('SIGTERM');
    await server.done;
    removeTempDirs();
  });

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
});
