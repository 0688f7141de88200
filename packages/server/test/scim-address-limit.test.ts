/**
 * The SCIM routes have their own per-address limit (12 000 a minute): a server whose general
 * per-address limit is tiny still answers an identity provider calling from one address, while
 * its other routes answer 429 with the typed `ERR_RATE_LIMITED` body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('SCIM per-address limit', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ rateLimitPerMinute: 3 });
  }, 60_000);
  afterAll(async () => t?.close());

  it('is not the general one', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await t.request('GET', '/scim/v2/ServiceProviderConfig', {
        headers: { authorization: `Bearer scim_${'A'.repeat(43)}` },
      });
      expect(res.status).toBe(401);
      expect(res.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await t.request('GET', '/health'));
    const refused = answers.find((r) => r.status === 429);
    // The general per-address limit answers with the typed body, naming the rule.
    expect(refused?.json).toEqual({ error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' } });
  });
});
