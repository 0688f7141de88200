import { packageBuild } from '../../tsup.base.js';

export default packageBuild({
  index: 'src/index.ts',
  node: 'src/providers/node.ts',
  testing: 'src/testing.ts',
});
