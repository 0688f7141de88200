/**
 * `cloister admin devices admit` against a running server (zero-touch admission,
 * `spec/device-lists.md` §5): alice's second device, enrolled with a code of its own and not
 * linked, is admitted by the organisation (a list signed with the administrator directory's key)
 * and then finds itself on alice's list; `--managed` admits only devices enrolled through a
 * managed token (none here) and says so; a missing device id is a usage error.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, tempDir, useAdminServer } from './helpers.js';

const ROOT_PASSPHRASE = 'root passphrase 9012';

describe('cloister admin devices admit', () => {
  const { as, json, secret, connect } = useAdminServer({ timeoutMs: 120_000 });
  const pinFile = join(tempDir(), 'pin');
  const phoneDir = tempDir();
  const tabletDir = tempDir();

  async function enroll(dir: string): Promise<{ device: number; linked: boolean }> {
    const invite = await json('admin', 'users', 'invite', 'alice');
    const r = await cli([
      'client',
      'enroll',
      '--data-dir',
      dir,
      ...connect(),
      '--token',
      invite.enrolmentCode,
      '--pin-file',
      pinFile,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    return JSON.parse(r.stdout);
  }

  beforeAll(async () => {
    writeFileSync(pinFile, '2468-1357\n');
    const root = secret('root-passphrase', ROOT_PASSPHRASE);
    for (const argv of [
      ['org', 'init', '--root-passphrase-file', root],
      ['org', 'register'],
    ]) {
      const r = await as(...argv);
      expect(r.code, r.stderr).toBe(EXIT.ok);
    }
  }, 180_000);

  it('admits an unlinked device of alice, which then finds itself on her list', async () => {
    expect((await enroll(phoneDir)).linked).toBe(true);
    const tablet = await enroll(tabletDir);
    expect(tablet.linked).toBe(false);

    // --managed admits only devices enrolled through a managed token: none here.
    const none = await as('admin', 'devices', 'admit', '--managed', 'alice');
    expect(none.code, none.stderr).toBe(EXIT.ok);
    expect(none.stdout).toBe('nothing to admit\n');

    const admitted = await json('admin', 'devices', 'admit', 'alice', String(tablet.device));
    expect(admitted).toEqual({ admitted: [{ user: 'alice', device: tablet.device, epoch: 2 }], skipped: [] });
    const status = await cli([
      'client',
      'link-status',
      '--data-dir',
      tabletDir,
      '--pin-file',
      pinFile,
      '--json',
    ]);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({ linked: true, epoch: 2 });

    const usage = await as('admin', 'devices', 'admit', 'alice');
    expect(usage.code).toBe(EXIT.usage);
  }, 120_000);
});
