import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, test } from 'vitest';
import { type ConformanceTarget, conformanceCases } from '../src/conformance/index.js';
import { createIndexedDbAdapter } from '../src/indexeddb/index.js';

let n = 0;
const target: ConformanceTarget = {
  name: 'indexeddb',
  // A fresh factory per case: every case starts from an empty database.
  open: ({ now }) =>
    createIndexedDbAdapter({
      name: `conformance-${n++}`,
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      now,
      locks: null,
    }),
};

describe('conformance: IndexedDB adapter (fake-indexeddb)', () => {
  for (const c of conformanceCases()) {
    test(c.name, () => c.run(target));
  }
});
