import { StorageError } from '@cloister/crypto';
import { describe, expect, test } from 'vitest';
import { type ConformanceTarget, conformanceCases, runConformance } from '../src/conformance/index.js';
import { createMemoryAdapter, type StorageAdapter } from '../src/index.js';

const target: ConformanceTarget = {
  name: 'memory',
  open: async ({ now }) => createMemoryAdapter({ now }),
};

describe('conformance: memory adapter', () => {
  for (const c of conformanceCases()) {
    test(c.name, () => c.run(target));
  }
});

describe('runConformance on the memory adapter', () => {
  test('reports every case of an area as passed', async () => {
    const seen: string[] = [];
    const report = await runConformance(target, { filter: /^list:/, onResult: (r) => seen.push(r.name) });
    const names = conformanceCases()
      .map((c) => c.name)
      .filter((n) => n.startsWith('list:'));
    expect(report.target).toBe('memory');
    expect(report.results.map((r) => r.name)).toEqual(names);
    expect(seen).toEqual(names);
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(names.length);
  });

  test('case names are unique and the suite covers every area', () => {
    const names = conformanceCases().map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const areas = new Set(names.map((n) => n.slice(0, n.indexOf(':'))));
    expect([...areas].sort()).toEqual(
      [
        'claim',
        'close',
        'copies',
        'count',
        'deletePartition',
        'expiry',
        'list',
        'many',
        'model',
        'purge',
        'rows',
        'single',
        'take',
        'tx',
        'usage',
        'validation',
      ].sort(),
    );
  });
});

describe('cases do not see each other', () => {
  test('every case passes when all of them share one store', async () => {
    // One memory store for the whole run; each case gets its own handle (own clock, own close).
    let clock: () => number = () => 0;
    const shared = createMemoryAdapter({ now: () => clock() });
    const shareTarget: ConformanceTarget = {
      name: 'memory (shared store)',
      open: async ({ now }) => {
        clock = now;
        let closed = false;
        const open = (): void => {
          if (closed) throw new StorageError('the store is closed');
        };
        const handle: StorageAdapter = {
          kind: 'memory',
          now,
          transaction: async (fn, options) => {
            open();
            return shared.transaction(fn, options);
          },
          purgeExpired: async (options) => {
            open();
            return shared.purgeExpired(options);
          },
          close: async () => {
            closed = true;
          },
        };
        return handle;
      },
    };
    const report = await runConformance(shareTarget);
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    expect(report.passed).toBe(conformanceCases().length);
    await shared.close();
  });
});
