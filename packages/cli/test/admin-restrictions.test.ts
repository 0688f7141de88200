/**
 * `cloister admin restrictions …` against a running server: restrictions are set on the tenant, a
 * pool, a user and a conversation group (`--group`, by its id; signed with the directory's key and
 * published), shown typed, a malformed value or group id is a usage error with nothing published,
 * and the devices' compliance is listed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

const ROOT_PASSPHRASE = 'root passphrase 9012';

describe('cloister admin restrictions', () => {
  const { as, json, secret } = useAdminServer({ timeoutMs: 120_000 });

  beforeAll(async () => {
    const root = secret('root-passphrase', ROOT_PASSPHRASE);
    for (const argv of [
      ['org', 'init', '--root-passphrase-file', root],
      ['org', 'register'],
      ['admin', 'users', 'invite', 'alice'],
      ['admin', 'pools', 'create', 'ward-3', 'Ward 3'],
    ]) {
      const r = await as(...argv);
      expect(r.code, r.stderr).toBe(EXIT.ok);
    }
  }, 180_000);

  it('sets restrictions per layer, shows them typed, refuses a malformed value with nothing published', async () => {
    const tenant = await json(
      'admin',
      'restrictions',
      'set',
      '--layer',
      'tenant',
      '--set',
      'screenshots=off',
      '--lock',
      'screenshots',
      '--set',
      'notifications.preview=sender',
      '--set',
      'messages.lifetime=30d',
    );
    expect(tenant).toMatchObject({ kind: 'policy-layer', scope: 'policy-layer/tenant' });
    await json(
      'admin',
      'restrictions',
      'set',
      '--layer',
      'pool:ward-3',
      '--set',
      'media.send=images,application/pdf',
      '--set',
      'files.download=off',
      '--lock',
      'files.download',
    );
    await json('admin', 'restrictions', 'set', '--layer', 'user:alice', '--set', 'disappearing.timer=1m..7d');
    const shown = await json('admin', 'restrictions', 'show');
    const by = (layer: string) => shown.find((l: { layer: string }) => l.layer === layer).settings;
    expect(by('tenant')).toEqual({
      screenshots: { value: false, locked: true },
      'notifications.preview': { value: 'sender', locked: false },
      'messages.lifetime': { value: 30 * 86_400_000, locked: false },
    });
    expect(by('pool')).toEqual({
      'media.send': { value: ['application/pdf', 'image/*'], locked: false },
      'files.download': { value: false, locked: true },
    });
    expect(by('user')).toEqual({
      'disappearing.timer': { value: { minMs: 60_000, maxMs: 7 * 86_400_000 }, locked: false },
    });
    const human = await as('admin', 'restrictions', 'show', '--layer', 'pool:ward-3');
    expect(human.stdout).toBe(
      'pool:ward-3 (sequence 2)\n  media.send = application/pdf,image/*\n  files.download = off (locked)\n',
    );
    // Unset keeps the rest of the layer.
    await json('admin', 'restrictions', 'set', '--layer', 'tenant', '--unset', 'notifications.preview');
    expect(
      Object.keys((await json('admin', 'restrictions', 'show', '--layer', 'tenant'))[0].settings).sort(),
    ).toEqual(['messages.lifetime', 'screenshots']);

    for (const bad of [
      ['--set', 'media.send=*/png'],
      ['--set', 'screenshots=maybe'],
      ['--set', 'disappearing.timer=7d'],
      ['--set', 'archive=on'],
      ['--lock', 'screenshots'],
      [],
    ]) {
      const r = await as('admin', 'restrictions', 'set', '--layer', 'user:alice', ...bad);
      expect(r.code, `${bad.join(' ')}: ${r.stderr}`).not.toBe(EXIT.ok);
    }
    const after = await json('admin', 'restrictions', 'show', '--layer', 'user:alice');
    expect(after[0].sequence).toBe(3);
  }, 120_000);

  it('sets a conversation group’s layer with --group and shows it back; a malformed id publishes nothing', async () => {
    const id = Buffer.from(new Uint8Array(32).map((_, i) => 255 - i));
    const b64 = id.toString('base64url');
    const published = await json(
      'admin',
      'restrictions',
      'set',
      '--group',
      b64,
      '--set',
      'files.send=off',
      '--lock',
      'files.send',
    );
    expect(published).toMatchObject({ kind: 'policy-layer', scope: `policy-layer/group/${b64}` });
    // The same group by its conversation id, as the client SDK shows it: the same layer.
    await json(
      'admin',
      'restrictions',
      'set',
      '--group',
      `g:${id.toString('hex')}`,
      '--set',
      'clipboard.copy=off',
    );
    const shown = await json('admin', 'restrictions', 'show', '--group', b64);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ layer: 'group', target: b64 });
    expect(shown[0].settings).toEqual({
      'files.send': { value: false, locked: true },
      'clipboard.copy': { value: false, locked: false },
    });
    const sequence = shown[0].sequence;
    for (const bad of [
      ['--group', 'AQ=='],
      ['--group', 'g:zz'],
      ['--group', ''],
      ['--group', b64, '--layer', 'tenant'],
    ]) {
      const r = await as('admin', 'restrictions', 'set', ...bad, '--set', 'screenshots=off');
      expect(r.code, `${bad.join(' ')}: ${r.stderr}`).not.toBe(EXIT.ok);
    }
    expect((await json('admin', 'restrictions', 'show', '--group', b64))[0].sequence).toBe(sequence);
  }, 120_000);

  it('lists non-compliant devices', async () => {
    expect(await json('admin', 'restrictions', 'compliance', '--max-age', '2d')).toEqual([]);
    expect((await as('admin', 'restrictions', 'compliance')).stdout).toBe('every device is compliant\n');
  }, 60_000);
});
