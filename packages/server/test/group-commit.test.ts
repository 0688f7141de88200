/**
 * The group committer (`group-commit.ts`): the items submitted in one turn run as one group, each
 * submitter gets its own result after the group, and a failed group is retried item by item so one
 * bad item fails only its own submitter.
 */
import { describe, expect, it } from 'vitest';
import { createGroupCommit } from '../src/group-commit.js';

describe('group commit', () => {
  it('runs what is submitted in one turn as one group and answers each submitter', async () => {
    const groups: number[][] = [];
    const commit = createGroupCommit<number, number>({
      run: async (items) => {
        groups.push([...items]);
        return items.map((n) => n * 10);
      },
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => commit.submit(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1, 2, 3, 4]]);
    expect(commit.statistics()).toEqual({ groups: 1, items: 4, failedGroups: 0 });
  });

  it('forms the next group from what arrives while one is in flight, and caps group size', async () => {
    const groups: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const commit = createGroupCommit<number, number>({
      run: async (items) => {
        groups.push([...items]);
        if (groups.length === 1) await gate;
        return [...items];
      },
      maxItems: 3,
    });
    const first = commit.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3, 4, 5].map((n) => commit.submit(n));
    await new Promise((r) => setImmediate(r));
    expect(groups).toEqual([[0]]); // one group in flight at a time by default
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(groups).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('retries a failed group item by item: one bad item fails alone', async () => {
    const commit = createGroupCommit<number, number>({
      run: async (items) => {
        if (items.includes(13)) throw new Error(`bad item in ${items.join(',')}`);
        return items.map((n) => n + 1);
      },
    });
    const settled = await Promise.allSettled([1, 13, 2].map((n) => commit.submit(n)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      2,
      'bad item in 13',
      3,
    ]);
    expect(commit.statistics().failedGroups).toBe(1);
  });

  it('refuses a run that answers the wrong number of results', async () => {
    const commit = createGroupCommit<number, number>({ run: async () => [] });
    await expect(commit.submit(1)).rejects.toThrow(/wrong number of results/);
    expect(() => createGroupCommit({ run: async () => [], maxItems: 0 })).toThrow(/maxItems/);
  });
});
