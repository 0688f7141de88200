import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiPin } from '../src/tls.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('server shell', () => {
  it('answers health and readiness over TLS 1.3 with the pinned key', async () => {
    const health = await t.request('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    const ready = await t.request('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });
    expect(t.pin).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/);
    expect(t.server.generatedCertificate).toBe(true);
  });

  it('refuses TLS 1.2', async () => {
    const port = Number(new URL(t.url).port);
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
      socket.on('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });

  it('refuses a client whose pin does not match', async () => {
    const { pinnedRequest } = await import('./helpers/server.js');
    await expect(
      pinnedRequest(t.url, 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'GET', '/health'),
    ).rejects.toThrow(/pin/);
  });

  it('sends security headers and typed errors for unknown routes', async () => {
    const res = await t.request('GET', '/no/such/route');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('keeps its certificate and storage key across restarts (same pin, same data)', async () => {
    const { startTestServer: start } = await import('./helpers/server.js');
    const { mkdtempSync, rmSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'cloister-restart-'));
    try {
      const a = await start({ dataDir: dir });
      const pin = a.pin;
      await a.close();
      const b = await start({ dataDir: dir });
      expect(b.pin).toBe(pin);
      expect(b.server.generatedCertificate).toBe(false);
      expect(spkiPin(readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8'))).toBe(pin);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
