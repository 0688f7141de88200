import { packageBuild } from '../../tsup.base.js';

export default packageBuild({
  index: 'src/index.ts',
  sql: 'src/sql/index.ts',
  indexeddb: 'src/indexeddb/index.ts',
  conformance: 'src/conformance/index.ts',
  testing: 'src/testing/index.ts',
});
