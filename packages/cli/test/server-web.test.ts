/**
 * `cloister server start` with `--local-ca` and `--web-app`: the CA file, the pin and how to
 * trust it printed; a client that trusts only the printed CA file reaches the API and the web app;
 * a restart keeps the CA and the pin. Logs go to stderr (readable lines, or JSON lines with
 * `--log-format json`), so standard output stays what the command prints. Bad options are usage
 * errors that create nothing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, type StartJsonLine } from '../src/index.js';
import { cli, humanBlock, removeTempDirs, start, tempDir, trustedGet } from './helpers.js';

afterAll(removeTempDirs);

describe('cloister server start --local-ca --web-app', () => {
  const dataDir = tempDir();
  const site = tempDir('cloister-cli-site-');
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>served</title>');

  it('prints the CA file, the pin and how to trust it; a client trusting only that CA reaches the API and the app; logs stay on stderr', async () => {
    const running = start([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--local-ca',
      '--web-app',
      site,
    ]);
    const out = await humanBlock(running);
    const caFile = join(dataDir, 'tls', 'ca.pem');
    const url = /^cloister server listening on (https:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
    expect(url).toBeDefined();
    expect(out).toMatch(/^pin: sha256\/[A-Za-z0-9+/]{43}=$/m);
    expect(out).toMatch(
      /^issued a certificate for localhost, 127\.0\.0\.1, ::1 signed by the local CA, valid until \d{4}-\d\d-\d\d; clients must be configured with the pin above$/m,
    );
    expect(out).toContain(`local CA (made now): ${caFile}\n`);
    expect(out).toContain(`certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Cloister local CA" -i ${caFile}`);
    expect(out).toContain(`web app: ${url}/app/ (files from ${site})\n`);
    // Standard output is the human block only: no log line, no JSON.
    for (const line of out.trimEnd().split('\n')) expect(line.startsWith('{'), line).toBe(false);

    const ca = readFileSync(caFile, 'utf8');
    expect((await trustedGet(`${url}/health`, ca)).status).toBe(200);
    const page = await trustedGet(`${url}/app/`, ca);
    expect(page.status).toBe(200);
    expect(page.body).toBe('<!doctype html><title>served</title>');
    expect(page.csp).toContain(`connect-src 'self' wss://127.0.0.1:${new URL(url as string).port};`);
    const port = new URL(url as string).port;
    expect((await trustedGet(`https://localhost:${port}/app/`, ca)).status).toBe(200);

    running.signal('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(EXIT.ok);
    // The logs were written as readable lines on stderr.
    expect(result.stderr).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO Server listening at https:\/\/127\.0\.0\.1:\d+$/m,
    );
    expect(result.stderr).not.toMatch(/^\{/m);
    expect(result.stdout).toBe(out);
  });

  it('starts again with the same CA and pin (--json names the CA file and the app)', async () => {
    const running = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--local-ca',
      '--web-app',
      site,
      '--web-app-prefix',
      '/chat/',
    ]);
    const line = JSON.parse(await running.firstLine()) as StartJsonLine;
    expect(line.caFile).toBe(join(dataDir, 'tls', 'ca.pem'));
    expect(line.generatedCertificate).toBe(false);
    expect(line.webAppUrl).toBe(`${line.url}/chat/`);
    const ca = readFileSync(line.caFile as string, 'utf8');
    const page = await trustedGet(line.webAppUrl as string, ca);
    expect(page.status).toBe(200);
    running.signal('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    // The same pin as the first start printed.
    const first = start([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--local-ca',
      '--log-level',
      'silent',
    ]);
    const out = await humanBlock(first);
    expect(out).toContain(`pin: ${line.pin}\n`);
    expect(out).toContain(`local CA (kept): ${line.caFile}\n`);
    expect(out).toMatch(/^using a certificate for localhost/m);
    first.signal('SIGTERM');
    expect((await first.done).code).toBe(EXIT.ok);
    // A name the CA was not made for: exit 1, the CA and the leaf untouched, what to do said.
    const certBefore = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    const added = await cli([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--local-ca',
      '--cert-name',
      'chat.example.lan',
      '--log-level',
      'silent',
    ]);
    expect(added.code).toBe(EXIT.failure);
    expect(added.stderr).toMatch(
      /^error: localCa\.hostNames: expected names the local CA permits \(localhost, 127\.0\.0\.1, ::1\); it does not permit chat\.example\.lan: to add names, delete .*ca\.pem and .*ca-key\.pem/m,
    );
    expect(readFileSync(line.caFile as string, 'utf8')).toBe(ca);
    expect(readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8')).toBe(certBefore);
  });
});

describe('cloister server start: logs', () => {
  it('keeps standard output human and writes readable log lines to stderr by default', async () => {
    const running = start(['server', 'start', '--port', '0', '--data-dir', tempDir()]);
    await humanBlock(running);
    running.signal('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(EXIT.ok);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^cloister server listening on https:\/\//);
    expect(lines.at(-1)).toBe('press Ctrl-C to stop');
    for (const line of lines) {
      expect(() => JSON.parse(line), line).toThrow();
      expect(line).not.toMatch(/"level"|"msg"/);
    }
    expect(result.stderr).toMatch(/ INFO Server listening at https:\/\/127\.0\.0\.1:\d+\n/);
    expect(result.stderr).not.toMatch(/"level"/);
  });

  it('writes pino JSON lines to stderr with --log-format json, stdout unchanged', async () => {
    const running = start([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      tempDir(),
      '--log-format',
      'json',
    ]);
    await humanBlock(running);
    running.signal('SIGTERM');
    const result = await running.done;
    for (const line of result.stdout.trimEnd().split('\n')) expect(line.startsWith('{'), line).toBe(false);
    const logs = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logs.some((entry) => entry.level === 30 && /^Server listening at https:/.test(entry.msg))).toBe(
      true,
    );
  });

  it('prints only the JSON line on stdout with --json, even at log level info', async () => {
    const running = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      tempDir(),
      '--log-level',
      'info',
    ]);
    JSON.parse(await running.firstLine());
    running.signal('SIGTERM');
    const result = await running.done;
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^\{"level":30,.*"msg":"Server listening at https:/m);
  });
});

describe('cloister server start: bad web app and CA options', () => {
  const site = tempDir('cloister-cli-site-');
  const file = join(site, 'index.html');
  writeFileSync(file, '<!doctype html>');
  mkdirSync(join(site, 'sub'));

  it.each([
    [
      'a web app directory that does not exist',
      ['--web-app', '/nonexistent/cloister-site'],
      /^error: --web-app: \/nonexistent\/cloister-site is not a directory$/m,
    ],
    [
      'a web app that is a file',
      ['--web-app', file],
      /^error: --web-app: .*index\.html is not a directory$/m,
    ],
    [
      'a prefix on the API',
      ['--web-app', site, '--web-app-prefix', '/v1/'],
      /^error: --web-app-prefix: expected a path that does not overlap the server's \/v1\/$/m,
    ],
    [
      'a prefix without its slashes',
      ['--web-app', site, '--web-app-prefix', 'app'],
      /^error: --web-app-prefix: expected a path that starts and ends with \//m,
    ],
    [
      'a prefix without a web app',
      ['--web-app-prefix', '/x/'],
      /^error: --web-app-prefix and --web-app-spa need --web-app <dir>$/m,
    ],
    [
      'the local CA with a certificate',
      ['--local-ca', '--tls-cert', file, '--tls-key', file],
      /^error: --local-ca cannot be used with --tls-cert and --tls-key$/m,
    ],
    [
      'a certificate name without the local CA',
      ['--cert-name', 'chat.lan'],
      /^error: --cert-name needs --local-ca$/m,
    ],
    [
      'a wildcard certificate name',
      ['--local-ca', '--cert-name', '*.lan'],
      /^error: --cert-name: expected DNS names/m,
    ],
    ['an unknown log format', ['--log-format', 'yaml'], /--log-format.*expected text or json/],
  ])('refuses %s with exit 2 and creates nothing', async (_what, args, message) => {
    const dataDir = join(tempDir(), 'never');
    const result = await cli(['server', 'start', '--port', '0', '--data-dir', dataDir, ...args]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });
});
