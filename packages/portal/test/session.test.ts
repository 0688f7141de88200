/**
 * The portal's session controller without a browser: a fake admin API behind the transport, an
 * in-memory `sessionStorage`. Sign-in keeps only the token (this tab); a 401 on any call ends the
 * session and leaves the "session ended" notice; the step-up runs before an action when the
 * second factor is stale and after the server's step-up refusal, once; a cancelled prompt
 * rejects; a refusal of another kind is not retried; the idle end follows the last use; the
 * login page's refusals never carry the server's text.
 */
import type { AdminRequest, AdminResponse, AdminTransport } from '@cloister/admin';
import { ForbiddenError, RateLimitedError, UnauthenticatedError, ValidationError } from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  ENDED_STORAGE_KEY,
  isStepUpRefusal,
  SESSION_STORAGE_KEY,
  SessionController,
} from '../src/session/controller.js';
import { signInRefusal } from '../src/shell/auth-provider.js';

class MemoryStorage implements Storage {
  readonly #items = new Map<string, string>();
  get length() {
    return this.#items.size;
  }
  clear() {
    this.#items.clear();
  }
  getItem(key: string) {
    return this.#items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.#items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.#items.delete(key);
  }
  setItem(key: string, value: string) {
    this.#items.set(key, value);
  }
}

function answer(status: number, json?: unknown): AdminResponse {
  const bytes = json === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(json));
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: (async function* () {
      yield bytes;
    })(),
  };
}

const TOKEN = 'T'.repeat(43);

/** A fake admin API: login, whoami, step-up, one protected action. */
function fakeServer(options: { freshFor?: number; now: () => number }) {
  const calls: string[] = [];
  let fresh = 0;
  let ended = false;
  let actionRefusal: 'step-up' | 'other' | undefined;
  const whoami = () => ({
    tenant: 'acme',
    admin: 'adm_olivia',
    email: 'olivia@acme.example',
    name: 'Olivia',
    role: 'owner',
    via: 'session',
    permissions: ['users.read', 'admins.manage'],
    expiresAt: options.now() + 8 * 3_600_000,
    freshFactorUntil: fresh,
  });
  const transport: AdminTransport = async (request: AdminRequest) => {
    calls.push(`${request.method} ${request.path}`);
    const auth = request.headers.authorization;
    if (request.path === '/admin/v1/session' && request.method === 'POST') {
      const body = JSON.parse(new TextDecoder().decode(request.body)) as { password: string; totp?: string };
      if (body.password !== 'right password') {
        return answer(401, { error: { code: 'ERR_UNAUTHENTICATED', message: 'wrong password for olivia' } });
      }
      fresh = options.now() + (options.freshFor ?? 300_000);
      return answer(200, {
        token: TOKEN,
        tenant: 'acme',
        admin: 'adm_olivia',
        role: 'owner',
        expiresAt: options.now() + 8 * 3_600_000,
        idleTimeoutMs: 900_000,
        freshFactorUntil: fresh,
        recoveryCodesLeft: 10,
      });
    }
    if (auth !== `Cloister-Admin ${TOKEN}` || ended) {
      return answer(401, { error: { code: 'ERR_UNAUTHENTICATED', message: 'session ended' } });
    }
    if (request.path === '/admin/v1/session' && request.method === 'GET') return answer(200, whoami());
    if (request.path === '/admin/v1/session' && request.method === 'DELETE') return answer(204);
    if (request.path === '/admin/v1/session/step-up') {
      const { totp } = JSON.parse(new TextDecoder().decode(request.body)) as { totp: string };
      if (totp !== '123456')
        return answer(401, { error: { code: 'ERR_UNAUTHENTICATED', message: 'bad code' } });
      fresh = options.now() + 300_000;
      return answer(200, { freshFactorUntil: fresh });
    }
    if (request.path === '/admin/v1/tenant') {
      if (actionRefusal === 'step-up' && fresh <= options.now()) {
        return answer(403, {
          error: { code: 'ERR_FORBIDDEN', message: 'this action needs a fresh second factor (step-up)' },
        });
      }
      if (actionRefusal === 'other')
        return answer(403, { error: { code: 'ERR_FORBIDDEN', message: 'not allowed' } });
      return answer(200, {
        id: 'acme',
        name: 'ACME',
        domains: [],
        createdAt: 0,
        serverSigningKey: 'x',
        rootFingerprint: null,
      });
    }
    return answer(404, { error: { code: 'ERR_NOT_FOUND', message: 'route not found' } });
  };
  return {
    transport,
    calls,
    end: () => {
      ended = true;
    },
    expireFactor: () => {
      fresh = 0;
    },
    refuseAction: (kind: 'step-up' | 'other' | undefined) => {
      actionRefusal = kind;
    },
  };
}

const LOGIN = { tenant: 'acme', email: 'olivia@acme.example', password: 'right password', totp: '654321' };

function setup(freshFor?: number) {
  let clock = 1_000_000;
  const now = () => clock;
  const server = fakeServer({ now, ...(freshFor === undefined ? {} : { freshFor }) });
  const storage = new MemoryStorage();
  const controller = new SessionController({ transport: server.transport, storage, now });
  const asked: string[] = [];
  let answerPrompt: 'right' | 'cancel' = 'right';
  controller.setPrompts({
    async askStepUp() {
      asked.push('step-up');
      if (answerPrompt === 'cancel') return false;
      await controller.stepUp('123456');
      return true;
    },
    async askSigner() {
      return undefined;
    },
  });
  return {
    server,
    storage,
    controller,
    asked,
    advance: (ms: number) => {
      clock += ms;
    },
    cancelPrompts: () => {
      answerPrompt = 'cancel';
    },
  };
}

describe('SessionController', () => {
  it('signs in and keeps only the token and idle timeout in sessionStorage', async () => {
    const { controller, storage } = setup();
    const identity = await controller.login(LOGIN);
    expect(identity.admin).toBe('adm_olivia');
    expect(identity.permissions).toEqual(['users.read', 'admins.manage']);
    expect(JSON.parse(storage.getItem(SESSION_STORAGE_KEY) ?? '')).toEqual({
      token: TOKEN,
      idleTimeoutMs: 900_000,
    });
    expect(storage.length).toBe(1);
    const session = controller.session();
    expect(session.can('admins.manage')).toBe(true);
    expect(session.can('tenant.manage')).toBe(false);
  });

  it('takes the session up again from sessionStorage (a reload) with whoami', async () => {
    const first = setup();
    await first.controller.login(LOGIN);
    const reloaded = new SessionController({ transport: first.server.transport, storage: first.storage });
    expect((await reloaded.restore())?.admin).toBe('adm_olivia');
    expect(first.server.calls.at(-1)).toBe('GET /admin/v1/session');
  });

  it('a 401 on any call ends the session: token gone, notice left, event emitted', async () => {
    const { controller, storage, server } = setup();
    await controller.login(LOGIN);
    const events: string[] = [];
    controller.on((e) => events.push(e));
    server.end();
    await expect(controller.session().client.getTenant()).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(events).toContain('ended');
    expect(storage.getItem(SESSION_STORAGE_KEY)).toBeNull();
    expect(controller.identity).toBeUndefined();
    expect(controller.takeEndedNotice()).toBe(true);
    expect(controller.takeEndedNotice()).toBe(false);
    expect(storage.getItem(ENDED_STORAGE_KEY)).toBeNull();
  });

  it('a wrong password is not a session end (no notice)', async () => {
    const { controller } = setup();
    await expect(controller.login({ ...LOGIN, password: 'wrong' })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    expect(controller.takeEndedNotice()).toBe(false);
  });

  it('the idle end follows the last use', async () => {
    const { controller, advance } = setup();
    await controller.login(LOGIN);
    const first = controller.idleEndsAt!;
    advance(60_000);
    await controller.refresh();
    expect(controller.idleEndsAt).toBe(first + 60_000);
  });

  it('steps up before the action when the second factor is stale', async () => {
    const { controller, server, asked, advance } = setup();
    await controller.login(LOGIN);
    advance(301_000);
    server.refuseAction('step-up');
    const tenant = await controller.withStepUp(() => controller.session().client.getTenant());
    expect(tenant.id).toBe('acme');
    expect(asked).toEqual(['step-up']);
    expect(server.calls.filter((c) => c.endsWith('/step-up'))).toHaveLength(1);
  });

  it("steps up after the server's step-up refusal and retries once", async () => {
    const { controller, server, asked } = setup();
    await controller.login(LOGIN);
    server.expireFactor(); // the server thinks otherwise than the client's clock
    server.refuseAction('step-up');
    const tenant = await controller.withStepUp(() => controller.session().client.getTenant());
    expect(tenant.id).toBe('acme');
    expect(asked).toEqual(['step-up']);
    expect(server.calls.filter((c) => c === 'GET /admin/v1/tenant')).toHaveLength(2);
  });

  it('does not step up for another refusal, and a cancelled prompt rejects', async () => {
    const s = setup();
    await s.controller.login(LOGIN);
    s.server.refuseAction('other');
    await expect(
      s.controller.withStepUp(() => s.controller.session().client.getTenant()),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(s.asked).toEqual([]);
    s.server.refuseAction('step-up');
    s.server.expireFactor();
    s.cancelPrompts();
    await expect(
      s.controller.withStepUp(() => s.controller.session().client.getTenant()),
    ).rejects.toMatchObject({
      code: 'ERR_USAGE',
    });
  });

  it('isStepUpRefusal tells the step-up refusal from others', () => {
    expect(isStepUpRefusal(new ForbiddenError('this action needs a fresh second factor (step-up)'))).toBe(
      true,
    );
    expect(isStepUpRefusal(new ForbiddenError('this action needs a person with a fresh second factor'))).toBe(
      true,
    );
    expect(isStepUpRefusal(new ForbiddenError('not allowed'))).toBe(false);
    expect(isStepUpRefusal(new ValidationError('totp', 'six digits'))).toBe(false);
  });

  it('signer() without a kept key and without a dialog answer rejects with UsageError', async () => {
    const { controller } = setup();
    await controller.login(LOGIN);
    await expect(controller.signer()).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });
});

describe('sign-in refusals', () => {
  it('say "sign-in failed" whatever was wrong, never the server text; a rate limit says when', () => {
    for (const error of [
      new UnauthenticatedError('wrong password for olivia'),
      new ValidationError('totp', 'six digits'),
      new ForbiddenError('administrator disabled'),
    ]) {
      const refusal = signInRefusal(error);
      expect(refusal.key).toBe('portal.login.failed');
      expect(refusal.message).not.toMatch(/olivia|digits|disabled/);
    }
    const limited = signInRefusal(new RateLimitedError(42));
    expect(limited.key).toBe('portal.login.rate_limited');
    expect(limited.seconds).toBe(42);
    expect(signInRefusal(new TypeError('fetch failed')).key).toBe('portal.login.unexpected');
  });
});
