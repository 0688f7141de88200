/**
 * `cloister admin audit export --format`, `log-key` and `checkpoint` against a running server:
 * the export writes CEF and OCSF lines; a checkpoint kept in a file is shown consistent with a
 * later one under the pinned verifier key; a forged older checkpoint and a checkpoint checked
 * with another key of the same name are refused with a failure exit.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

describe('cloister admin audit (SIEM export and checkpoints)', () => {
  const { as, json, secrets } = useAdminServer();

  it('exports CEF and OCSF lines', async () => {
    const cef = await as('admin', 'audit', 'export', '--format', 'cef');
    expect(cef.code, cef.stderr).toBe(EXIT.ok);
    const lines = cef.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^CEF:0\|Cloister\|Cloister Server\|1\|/);
    expect(lines.at(-1)).toContain('|audit.export|');
    const ocsf = await as('admin', 'audit', 'export', '--format', 'ocsf');
    expect(ocsf.code, ocsf.stderr).toBe(EXIT.ok);
    const records = ocsf.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; api: { operation: string } });
    expect(records.every((r) => r.class_uid === 6003)).toBe(true);
    expect(records.map((r) => r.api.operation)).toContain('tenant.create');
    const bad = await as('admin', 'audit', 'export', '--format', 'syslog');
    expect(bad.code).toBe(EXIT.usage);
  }, 120_000);

  it('checks a checkpoint against the pinned key and for consistency with a kept one', async () => {
    const { verifierKey, origin } = await json('admin', 'audit', 'log-key');
    expect(verifierKey.startsWith(`${origin}+`)).toBe(true);
    const first = await as('admin', 'audit', 'checkpoint', '--verify-with', verifierKey);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stderr).toBe('');
    expect(first.stdout.startsWith(`${origin}\n`)).toBe(true);
    const kept = join(secrets, 'checkpoint-1.txt');
    writeFileSync(kept, first.stdout);
    await json('admin', 'users', 'invite', 'walter');
    const later = await json('admin', 'audit', 'checkpoint', '--verify-with', verifierKey, '--since', kept);
    expect(later.keySource).toBe('given');
    const keptSize = Number(first.stdout.split('\n')[1]);
    expect(later.consistentWith).toBe(keptSize);
    expect(later.size).toBeGreaterThan(keptSize);

    // Without --verify-with it checks with the server's key and says so.
    const unpinned = await as('admin', 'audit', 'checkpoint');
    expect(unpinned.code).toBe(EXIT.ok);
    expect(unpinned.stderr).toMatch(/--verify-with/);

    // A forged older checkpoint (another root, signature kept): refused.
    const lines = first.stdout.split('\n');
    const root = Buffer.from(lines[2] as string, 'base64');
    root[0] = (root[0] as number) ^ 1;
    lines[2] = root.toString('base64');
    const forged = join(secrets, 'forged.txt');
    writeFileSync(forged, lines.join('\n'));
    const refused = await as('admin', 'audit', 'checkpoint', '--verify-with', verifierKey, '--since', forged);
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toMatch(/older checkpoint does not verify/);

    // Another key under the log's name (as a server that swapped its key would offer): refused.
    const other = generateKeyPairSync('ed25519')
      .publicKey.export({ format: 'der', type: 'spki' })
      .subarray(12);
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from(origin), Buffer.from([0x0a, 0x01]), other]))
      .digest()
      .subarray(0, 4)
      .toString('hex');
    const otherKey = `${origin}+${id}+${Buffer.concat([Buffer.from([1]), other]).toString('base64')}`;
    const wrong = await as('admin', 'audit', 'checkpoint', '--verify-with', otherKey);
    expect(wrong.code).toBe(EXIT.failure);
    expect(wrong.stderr).toMatch(/no signature of the given key/);
  }, 120_000);
});
