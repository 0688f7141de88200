/**
 * `cloister audit hold …` against a running server, as the owner (who may set and lift legal
 * holds but not read the archive): a hold is created, listed and lifted.
 */
import { describe, expect, it } from 'vitest';
import { useAdminServer } from './helpers.js';

describe('cloister audit hold', () => {
  const { json, as } = useAdminServer();

  it('creates, lists and lifts a legal hold', async () => {
    await json('admin', 'users', 'invite', 'walter');
    const made = await json('audit', 'hold', 'create', '--user', 'walter', '--reason', 'case 2026-114');
    expect(made).toMatchObject({ users: ['walter'], reason: 'case 2026-114' });
    const listed = await as('audit', 'hold', 'list');
    expect(listed.stdout).toContain(made.id);
    expect(listed.stdout).toContain('case 2026-114');
    expect(await json('audit', 'hold', 'lift', made.id)).toEqual({ lifted: made.id });
    expect((await json('audit', 'hold', 'list')).items).toEqual([]);
  }, 120_000);
});
