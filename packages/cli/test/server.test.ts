import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type StartJsonLine } from '../src/index.js';
import { cli, pinnedGet, type Running, removeTempDirs, start, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

function startServer(dir: string): Running {
  return start(['server', 'start', '--json', '--port', '0', '--data-dir', dir, '--log-level', 'silent']);
}

describe('cloister server start (in-process)', () => {
  const dir = tempDir();
  let running: Running;
  let first: StartJsonLine;

  beforeAll(async () => {
    running = startServer(dir);
    first = JSON.parse(await running.firstLine()) as StartJsonLine;
  });

  afterAll(async () => {
    running.signal('SIGTERM');
    await running.done;
  });

  it('prints {url, pin} as its first line, and that a certificate was generated', () => {
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(first.pin).toMatch(PIN);
    expect(first.generatedCertificate).toBe(true);
    expect(existsSync(join(dir, 'tls', 'cert.pem'))).toBe(true);
    // The operator token was generated into the data directory, readable by its owner only.
    expect(first.operatorTokenFile).toBe(join(dir, 'operator.token'));
    expect(statSync(first.operatorTokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.operatorTokenFile, 'utf8')).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
  });

  it('serves with the key the printed pin names', async () => {
    const response = await pinnedGet(first.url, first.pin, '/health');
    expect(response.status).toBe(200);
    await expect(pinnedGet(first.url, `sha256/${'A'.repeat(43)}=`, '/health')).rejects.toThrow(/pin/);
  });

  it('refuses a second server on the same data directory', async () => {
    const second = await cli(['server', 'start', '--port', '0', '--data-dir', dir, '--log-level', 'silent']);
    expect(second.code).toBe(EXIT.failure);
    expect(second.stderr).toMatch(/in use by a running cloister server/);
    expect(running.exits).toEqual([]);
  });

  it('stops gracefully on a signal: exit 0, lock released', async () => {
    running.signal('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(EXIT.ok);
    expect(result.stderr).toMatch(/received SIGTERM: finishing requests in flight, then stopping/);
    expect(result.stderr).toMatch(/server stopped/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'cloister.lock'))).toBe(false);
    await expect(pinnedGet(first.url, first.pin, '/health')).rejects.toThrow();
  });

  it('starts again on the same data directory with the same pin, a stale lock taken over', async () => {
    // A lock left by a process that no longer exists does not block.
    writeFileSync(join(dir, 'cloister.lock'), JSON.stringify({ pid: 2 ** 22 + 12_345, command: 'server' }));
    const again = startServer(dir);
    const line = JSON.parse(await again.firstLine()) as StartJsonLine;
    expect(line.pin).toBe(first.pin);
    expect(line.generatedCertificate).toBe(false);
    expect(line.operatorTokenFile).toBe(first.operatorTokenFile);
    again.signal('SIGINT');
    expect((await again.done).code).toBe(EXIT.ok);
  });

  it('refuses a storage key that does not open the data directory', async () => {
    const wrongKey = join(tempDir(), 'wrong.key');
    writeFileSync(wrongKey, '11'.repeat(32));
    const result = await cli([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dir,
      '--storage-key-file',
      wrongKey,
      '--log-level',
      'silent',
    ]);
    expect(result.code).toBe(EXIT.failure);
    expect(result.stderr).toBe(
      'error: the storage key does not open this data directory (check --storage-key-file or <data-dir>/storage.key)\n',
    );
  });

  it('prints the URL, the pin and the certificate origin for people', async () => {
    const human = start(['server', 'start', '--port', '0', '--data-dir', dir, '--log-level', 'silent']);
    const line = await human.firstLine();
    expect(line).toMatch(/^cloister server listening on https:\/\/127\.0\.0\.1:\d+$/);
    human.signal('SIGINT');
    human.signal('SIGINT');
    const result = await human.done;
    // The second signal asks for an immediate exit with code 1 (injected here, so the close still finishes).
    expect(human.exits).toEqual([EXIT.failure]);
    expect(result.stderr).toMatch(/received SIGINT again: stopping now/);
    expect(result.stdout).toContain(`pin: ${first.pin}\n`);
    expect(result.stdout).toMatch(
      /using the self-signed certificate in .*tls; clients must be configured with the pin above/,
    );
  });

  it('fails with exit 1 when the port is taken', async () => {
    const holder = startServer(tempDir());
    const line = JSON.parse(await holder.firstLine()) as StartJsonLine;
    const port = new URL(line.url).port;
    const result = await cli([
      'server',
      'start',
      '--port',
      port,
      '--data-dir',
      tempDir(),
      '--log-level',
      'silent',
    ]);
    expect(result.code).toBe(EXIT.failure);
    expect(result.stderr).toMatch(/^error: .*EADDRINUSE/m);
    holder.signal('SIGTERM');
    expect((await holder.done).code).toBe(EXIT.ok);
  });

  it('applies --max-connections-per-address: a second socket from one address is refused while the first is held', async () => {
    const capped = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      tempDir(),
      '--log-level',
      'silent',
      '--max-connections-per-address',
      '1',
    ]);
    const line = JSON.parse(await capped.firstLine()) as StartJsonLine;
    expect((await pinnedGet(line.url, line.pin, '/health')).status).toBe(200);
    const held = connect(Number(new URL(line.url).port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => held.once('connect', resolve).once('error', reject));
    // Give the relay's accept listener its turn before the second connection.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(pinnedGet(line.url, line.pin, '/health')).rejects.toThrow();
    held.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await pinnedGet(line.url, line.pin, '/health')).status).toBe(200);
    capped.signal('SIGTERM');
    expect((await capped.done).code).toBe(EXIT.ok);
  });

  it('refuses a connection cap that is not a whole number from 1 to 1000000 (exit 2)', async () => {
    for (const bad of ['0', '-1', '1.5', 'many', '1000001']) {
      const result = await cli(['server', 'start', '--max-connections-per-address', bad]);
      expect(result.code, bad).toBe(EXIT.usage);
      expect(result.stderr).toMatch(/expected a whole number from 1 to 1000000/);
    }
  });
});
