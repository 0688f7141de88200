/**
 * `cloister admin integrations …` against a running server: an integration's key is created
 * (printed once), listed without its secret and revoked; a webhook is subscribed (its secret
 * printed once), listed, its secret rotated (the new one printed once, the overlap bounded), its
 * deliveries read, a redelivery of an event that is not failed refused, and deleted; a scope
 * outside the route families is refused before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

describe('cloister admin integrations', () => {
  const { as, json } = useAdminServer();

  it('creates, lists and revokes an API key', async () => {
    const invited = await json(
      'admin',
      'admins',
      'invite',
      '--email',
      'hr@acme.example',
      '--name',
      'HR sync',
      '--role',
      'integration',
      '--scope',
      'users.read',
    );
    const integration = invited.admin.id as string;
    const made = await json(
      'admin',
      'integrations',
      'keys',
      'create',
      integration,
      '--name',
      'HR',
      '--scope',
      'users:read',
      '--ttl',
      '30d',
    );
    expect(made.apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.key).toMatchObject({ integration, scopes: ['users:read'], pools: null, revokedAt: null });
    const listed = await as('admin', 'integrations', 'keys', 'list', '--integration', integration);
    expect(listed.stdout).toContain(made.key.id);
    expect(listed.stdout).not.toContain(made.apiKey);
    expect(await json('admin', 'integrations', 'keys', 'revoke', made.key.id)).toEqual({
      revoked: made.key.id,
    });
    const after = await json('admin', 'integrations', 'keys', 'list');
    expect(after.items[0].revokedAt).not.toBeNull();
    const bad = await as(
      'admin',
      'integrations',
      'keys',
      'create',
      integration,
      '--name',
      'x',
      '--scope',
      'root',
    );
    expect(bad.code).toBe(EXIT.failure);
    expect(bad.stderr).toMatch(/scope/);
  }, 120_000);

  it('subscribes, lists, reads the deliveries of and deletes a webhook', async () => {
    const made = await json(
      'admin',
      'integrations',
      'webhooks',
      'create',
      'https://hooks.acme.example/cloister',
      '--event',
      'user.*',
    );
    expect(made.secret).toMatch(/^whsec_/);
    const id = made.webhook.id as string;
    expect((await as('admin', 'integrations', 'webhooks', 'list')).stdout).toBe(
      `${id}\thttps://hooks.acme.example/cloister\tuser.*\n`,
    );
    expect(await json('admin', 'integrations', 'webhooks', 'deliveries', id)).toEqual({ items: [] });
    // Rotation: the new secret printed once; the previous one signs for the overlap.
    const before = Date.now();
    const rotated = await json('admin', 'integrations', 'webhooks', 'rotate-secret', id, '--overlap', '1h');
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(made.secret);
    expect(rotated.webhook.id).toBe(id);
    expect(rotated.previousSecretUntil).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(rotated.previousSecretUntil).toBeLessThan(Date.now() + 3_600_000 + 1000);
    const human = await as('admin', 'integrations', 'webhooks', 'rotate-secret', id, '--overlap', '0');
    expect(human.code, human.stderr).toBe(EXIT.ok);
    expect(human.stdout).toMatch(
      /^rotated the secret of webhook whk_\S+; the previous secret is deleted\nsigning secret \(shown once\): whsec_\S+\n$/,
    );
    expect((await as('admin', 'integrations', 'webhooks', 'list')).stdout).not.toContain('whsec_');
    for (const bad of ['8d', '1500ms', 'soon']) {
      const refusedOverlap = await as(
        'admin',
        'integrations',
        'webhooks',
        'rotate-secret',
        id,
        '--overlap',
        bad,
      );
      expect(refusedOverlap.code, bad).not.toBe(EXIT.ok);
      expect(refusedOverlap.stderr, bad).toMatch(/overlap/);
    }
    // Redelivery: only a failed event of the webhook.
    const unknownEvent = 'msg_AAAAAAAAAAAAAAAAAAAAAA';
    const redeliver = await as('admin', 'integrations', 'webhooks', 'redeliver', id, unknownEvent);
    expect(redeliver.code).toBe(EXIT.failure);
    expect(redeliver.stderr).toMatch(/not found/);
    const malformed = await as('admin', 'integrations', 'webhooks', 'redeliver', id, 'msg_short');
    expect(malformed.code).not.toBe(EXIT.ok);
    expect(malformed.stderr).toMatch(/event id/);
    const refused = await as(
      'admin',
      'integrations',
      'webhooks',
      'create',
      'http://hooks.acme.example/x',
      '--event',
      '*',
    );
    expect(refused.code).toBe(EXIT.failure);
    expect(await json('admin', 'integrations', 'webhooks', 'delete', id)).toEqual({ deleted: id });
    expect((await json('admin', 'integrations', 'webhooks', 'list')).items).toEqual([]);
  }, 120_000);
});
