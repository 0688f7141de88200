import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, removeTempDirs, seedDatabase, tempDir } from './helpers.js';

const TENANT = tenantId('acme');

interface LinkJson {
  readonly code?: string;
  readonly user: string;
  readonly device: number;
  readonly linked: boolean;
  readonly epoch: number;
  readonly devices: number[];
}

describe('cloister client link-code, link, link-status, safety-number and identity', () => {
  const serverDir = tempDir();
  const alice1 = tempDir();
  const alice2 = tempDir();
  const bobDir = tempDir();
  const pinFile = join(tempDir(), 'pin');
  let server: CloisterServer;
  let url: string;
  let pin: string;
  let alice2Device: number;

  const enroll = async (user: string, dir: string, json = true) => {
    const { token } = await createEnrolmentToken(server.context, { tenant: TENANT, user: userId(user) });
    await seedDatabase(dir);
    return cli([
      'client',
      'enroll',
      '--data-dir',
      dir,
      '--server',
      url,
      '--server-pin',
      pin,
      '--token',
      token,
      '--pin-file',
      pinFile,
      ...(json ? ['--json'] : []),
    ]);
  };
  const client = (command: string, dir: string, ...rest: string[]) =>
    cli(['client', command, '--data-dir', dir, '--pin-file', pinFile, ...rest]);

  beforeAll(async () => {
    writeFileSync(pinFile, '2468-1357\n');
    await seedDatabase(serverDir);
    server = await createServer({ dataDir: serverDir, logLevel: 'silent' });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
    pin = server.pin;
    await createTenant(server.context, { id: TENANT, name: 'ACME' });

    // alice's first device publishes her first signed list: linked, nothing more to do.
    const first = await enroll('alice', alice1);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    expect(JSON.parse(first.stdout)).toEqual({ user: 'alice', device: 1, linked: true });
    const bob = await enroll('bob', bobDir);
    expect(bob.code).toBe(EXIT.ok);
    expect(JSON.parse(bob.stdout)).toMatchObject({ user: 'bob', linked: true });

    // Her second device is enrolled but not on the list: enroll says how it is linked.
    const second = await enroll('alice', alice2, false);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(EXIT.ok);
    const m = /^enrolled user alice, device (\d+)\n/.exec(second.stdout);
    expect(m).not.toBeNull();
    alice2Device = Number(m?.[1]);
    expect(second.stdout).toContain('not linked yet: this device receives nothing and cannot send');
    const code = /\nlink code: (\S+)\n/.exec(second.stdout)?.[1] as string;
    expect(code).toMatch(new RegExp(`^${alice2Device}-[A-Za-z0-9_-]{22}$`));
    expect(second.stdout).toContain(
      `next: on another device of alice that is linked, run: cloister client link ${code} --data-dir <its directory>`,
    );
  });

  afterAll(async () => {
    await server?.close();
    removeTempDirs();
  });

  it('links the second device from the first; a message to alice then reaches it', async () => {
    const before = await client('link-status', alice2, '--json');
    expect(before.stderr).toBe('');
    expect(before.code).toBe(EXIT.ok);
    expect(JSON.parse(before.stdout)).toEqual({
      user: 'alice',
      device: alice2Device,
      linked: false,
      epoch: 1,
      devices: [1],
    });

    const shown = await client('link-code', alice2);
    expect(shown.code).toBe(EXIT.ok);
    const code = /^link code: (\S+)\n/.exec(shown.stdout)?.[1] as string;
    expect(code).toMatch(/^\d+-[A-Za-z0-9_-]{22}$/);
    expect(shown.stdout).toContain(`not linked: device ${alice2Device} is not on alice's signed device list`);
    expect(shown.stdout).toContain(`cloister client link ${code}`);
    const shownJson = await client('link-code', alice2, '--json');
    expect(JSON.parse(shownJson.stdout)).toEqual({
      code,
      user: 'alice',
      device: alice2Device,
      linked: false,
      epoch: 1,
      devices: [1],
    } satisfies LinkJson);

    // The unlinked device cannot link others, and a wrong code is refused.
    const fromUnlinked = await client('link', alice2, code);
    expect(fromUnlinked.code).toBe(EXIT.failure);
    expect(fromUnlinked.stderr).toContain("is not on its own user's signed device list");
    const wrong = await client('link', alice1, `${alice2Device}-${'A'.repeat(22)}`);
    expect(wrong.code).toBe(EXIT.failure);
    expect(wrong.stderr).toContain('no enrolled device of alice matches the link code');

    const linked = await client('link', alice1, code);
    expect(linked.stderr).toBe('');
    expect(linked.code).toBe(EXIT.ok);
    expect(linked.stdout).toContain(
      `linked device ${alice2Device} of alice: signed device list epoch 2, devices 1, ${alice2Device}\n`,
    );
    // Linking again changes nothing.
    const again = await client('link', alice1, code, '--json');
    expect(again.code).toBe(EXIT.ok);
    expect(JSON.parse(again.stdout)).toEqual({
      linkedDevice: alice2Device,
      epoch: 2,
      devices: [1, alice2Device],
    });

    const sent = await cli([
      'client',
      'send',
      '--data-dir',
      bobDir,
      '--pin-file',
      pinFile,
      '--to',
      'alice',
      '--json',
      'hello',
      'both',
      'devices',
    ]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(EXIT.ok);
    const { id, devices } = JSON.parse(sent.stdout) as { id: string; devices: number };
    expect(devices).toBe(2);

    // listen on the second device: device-linked (its first start since the link), then the message.
    const heard = await client('listen', alice2, '--count', '1', '--timeout', '20000', '--json');
    expect(heard.stderr).toBe('');
    expect(heard.code).toBe(EXIT.ok);
    const lines = heard.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: 'device-linked', user: 'alice', device: alice2Device }),
    );
    expect(lines.at(-1)).toMatchObject({ id, from: 'bob', type: 'text', text: 'hello both devices' });

    const after = await client('link-status', alice2);
    expect(after.code).toBe(EXIT.ok);
    expect(after.stdout).toBe(
      `linked: device ${alice2Device} is on alice's signed device list (epoch 2, devices 1, ${alice2Device})\n`,
    );
  });

  it('shows the same safety number on both sides; --verify marks the user verified', async () => {
    const aliceView = await client('safety-number', alice1, 'bob', '--json');
    expect(aliceView.stderr).toBe('');
    expect(aliceView.code).toBe(EXIT.ok);
    const { digits } = JSON.parse(aliceView.stdout) as { digits: string };
    expect(digits).toMatch(/^[0-9]{60}$/);
    expect(JSON.parse(aliceView.stdout)).toEqual({ user: 'bob', digits, verified: false });

    const bobView = await client('safety-number', bobDir, 'alice');
    expect(bobView.code).toBe(EXIT.ok);
    const groups = digits.match(/[0-9]{5}/g) as string[];
    expect(bobView.stdout).toBe(
      [
        'safety number with alice:',
        `  ${groups.slice(0, 4).join(' ')}`,
        `  ${groups.slice(4, 8).join(' ')}`,
        `  ${groups.slice(8, 12).join(' ')}`,
        `alice is not verified: compare it with the number alice's device shows, then run cloister client safety-number alice --verify "<their digits>"`,
        '',
      ].join('\n'),
    );

    // A number that differs: exit 1, not verified.
    const last = digits.at(-1) === '0' ? '1' : '0';
    const mismatch = await client('safety-number', bobDir, 'alice', '--verify', digits.slice(0, 59) + last);
    expect(mismatch.code).toBe(EXIT.failure);
    expect(mismatch.stderr).toContain('error: the safety numbers do not match: alice is not verified');
    expect(mismatch.stdout).not.toContain('match: alice is verified');

    // Alice's number as shown (groups with spaces) verifies.
    const verified = await client('safety-number', bobDir, 'alice', '--verify', groups.join(' '));
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(EXIT.ok);
    expect(verified.stdout).toContain('the numbers match: alice is verified\n');

    const identity = await client('identity', bobDir, 'alice');
    expect(identity.stderr).toBe('');
    expect(identity.code).toBe(EXIT.ok);
    expect(identity.stdout).toBe(
      [
        'alice: verified',
        `devices on alice's pinned list: 1, ${alice2Device}`,
        'identity change held: no',
        'deliveries in quarantine: 0',
        '',
      ].join('\n'),
    );
    const json = await client('identity', bobDir, 'alice', '--accept', '--json');
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toEqual({
      user: 'alice',
      verified: true,
      held: false,
      devices: [1, alice2Device],
      quarantined: 0,
      accepted: false,
    });
    // alice has not verified bob.
    const other = await client('identity', alice1, 'bob', '--json');
    expect(JSON.parse(other.stdout)).toMatchObject({ user: 'bob', verified: false, held: false });
  });

  it('listen prints device-pending for a device of the user nobody linked; that device cannot send', async () => {
    const alice3 = tempDir();
    const third = await enroll('alice', alice3);
    expect(third.code).toBe(EXIT.ok);
    const enrolled = JSON.parse(third.stdout) as { device: number; linked: boolean; linkCode: string };
    expect(enrolled.linked).toBe(false);
    expect(enrolled.linkCode).toMatch(new RegExp(`^${enrolled.device}-[A-Za-z0-9_-]{22}$`));

    const heard = await client('listen', alice1, '--timeout', '1500');
    expect(heard.code).toBe(EXIT.ok);
    expect(heard.stdout).toMatch(
      new RegExp(
        `^\\S+Z alice/${enrolled.device}: \\[device-pending: enrolled but not on alice's signed device list; if it is yours, link it with cloister client link <code>, else tell an administrator\\]$`,
        'm',
      ),
    );

    const sent = await client('send', alice3, '--to', 'bob', '--timeout', '1500', 'from', 'nowhere');
    expect(sent.code).toBe(EXIT.failure);
    expect(sent.stdout).toBe('');
    expect(sent.stderr).toContain(
      `(this device is not linked yet: another device of its user must run cloister client link ${enrolled.linkCode})`,
    );
  });

  it('reports usage errors with exit 2', async () => {
    const cases: [string[], string][] = [
      [['client', 'link', '--data-dir', alice1, '--pin-file', pinFile, 'nonsense'], 'expected a link code'],
      [['client', 'link', '--data-dir', alice1, '--pin-file', pinFile], "missing required argument 'code'"],
      [
        ['client', 'safety-number', '--data-dir', bobDir, '--pin-file', pinFile, 'alice', '--verify', '123'],
        'expected the 60 digits of a safety number',
      ],
      [
        ['client', 'identity', '--data-dir', bobDir, '--pin-file', pinFile],
        "missing required argument 'user'",
      ],
      [['client', 'link-status', '--pin-file', pinFile], "required option '--data-dir <dir>' not specified"],
      [['client', 'link-code', '--data-dir', tempDir(), '--pin-file', pinFile], 'holds no enrolled client'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: EXIT.usage });
      expect(r.stderr).toContain(message);
    }
  });
});
