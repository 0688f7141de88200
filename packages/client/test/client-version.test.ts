/**
 * The SDK reports its version with every authenticated request, and the server's activity view
 * (spec/admin-api.md) shows it: the constant follows the package version.
 */
import { readFileSync } from 'node:fs';
import { userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_VERSION, CLIENT_VERSION_HEADER } from '../src/index.js';
import { startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

describe('client version', () => {
  it('is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(CLIENT_VERSION).toBe(`${pkg.name}/${pkg.version}`);
    expect(CLIENT_VERSION_HEADER).toBe('cloister-client-version');
  });

  it('reaches the device record the activity view reads', async () => {
    const carol = await sys.client('carol');
    const ctx = sys.server.context;
    const id = carol.me.deviceId;
    let version: string | undefined;
    for (let i = 0; i < 100 && version === undefined; i++) {
      version = (await ctx.stores.devices.get(TENANT, userId('carol'), id))?.clientVersion;
      if (version === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(version).toBe(CLIENT_VERSION);
  });
});
