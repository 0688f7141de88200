/**
 * `cloister audit` without a server: the help names every command and the exit codes; `keygen`
 * writes a passphrase-wrapped private file of mode 0600 and a public file, and refuses to
 * overwrite; command lines the ceremony cannot run with (one auditor, a threshold above the
 * auditors, a public key file that is not one) are refused with exit 2 before anything is sent.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, tempDir } from './helpers.js';

const dir = tempDir('cloister-cli-audit-');
const pass = join(dir, 'pass');
writeFileSync(pass, 'auditor passphrase 1234\n', { mode: 0o600 });

describe('cloister audit', () => {
  it('help lists the commands and the exit codes', async () => {
    const help = await cli(['audit', '--help']);
    expect(help.code).toBe(EXIT.ok);
    for (const c of ['keygen', 'key-set', 'share', 'search', 'export', 'hold'])
      expect(help.stdout).toContain(c);
    expect(help.stdout).toMatch(/Exit codes: 0 done; 5 done, but some records are not valid/);
    const exp = await cli(['audit', 'export', '--help']);
    expect(exp.stdout).toMatch(/--format <format>.*jsonl, eml/s);
  });

  it('keygen writes the key pair files and refuses to overwrite them', async () => {
    const out = join(dir, 'a1');
    const made = await cli([
      'audit',
      'keygen',
      '--holder',
      'a1@acme.example',
      '--out',
      out,
      '--auditor-passphrase-file',
      pass,
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(EXIT.ok);
    const line = JSON.parse(made.stdout);
    expect(line).toMatchObject({
      holder: 'a1@acme.example',
      privateFile: `${out}.key.json`,
      publicFile: `${out}.pub.json`,
    });
    expect(statSync(`${out}.key.json`).mode & 0o777).toBe(0o600);
    const privateText = readFileSync(`${out}.key.json`, 'utf8');
    expect(JSON.parse(privateText)).toMatchObject({
      format: 'cloister-admin/auditor-key/v1',
      holder: 'a1@acme.example',
      publicKey: line.publicKey,
    });
    expect(JSON.parse(readFileSync(`${out}.pub.json`, 'utf8'))).toEqual({
      format: 'cloister-admin/auditor-public-key/v1',
      holder: 'a1@acme.example',
      publicKey: line.publicKey,
    });
    const again = await cli([
      'audit',
      'keygen',
      '--holder',
      'a1',
      '--out',
      out,
      '--auditor-passphrase-file',
      pass,
    ]);
    expect(again.code).toBe(EXIT.usage);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('refuses key ceremonies it cannot run, before anything is sent', async () => {
    const a2 = join(dir, 'a2');
    expect(
      (await cli(['audit', 'keygen', '--holder', 'a2', '--out', a2, '--auditor-passphrase-file', pass])).code,
    ).toBe(EXIT.ok);
    const one = await cli([
      'audit',
      'key-set',
      'create',
      '--threshold',
      '2',
      '--auditor',
      `a2=${a2}.pub.json`,
    ]);
    expect(one.code).toBe(EXIT.usage);
    expect(one.stderr).toMatch(/at least two auditors/);
    const high = await cli([
      'audit',
      'key-set',
      'create',
      '--threshold',
      '3',
      '--auditor',
      `a2=${a2}.pub.json`,
      '--auditor',
      `a1=${join(dir, 'a1')}.pub.json`,
    ]);
    expect(high.code).toBe(EXIT.usage);
    expect(high.stderr).toMatch(/--threshold: from 2 to the number of auditors \(2\)/);
    const notKey = await cli([
      'audit',
      'key-set',
      'create',
      '--threshold',
      '2',
      '--auditor',
      `x=${pass}`,
      '--auditor',
      `a2=${a2}.pub.json`,
    ]);
    expect(notKey.code).toBe(EXIT.usage);
    expect(notKey.stderr).toMatch(/not an auditor public key file/);
    const noKey = await cli(['audit', 'search', '--from', '0', '--to', '1']);
    expect(noKey.code).toBe(EXIT.usage);
    expect(noKey.stderr).toMatch(/--key/);
    const badFormat = await cli([
      'audit',
      'export',
      '--format',
      'pdf',
      '--out',
      join(dir, 'x'),
      '--key',
      `${a2}.key.json`,
      '--from',
      '0',
      '--to',
      '1',
    ]);
    expect(badFormat.code).toBe(EXIT.usage);
  });
});
