import { packageBuild } from '../../tsup.base.js';

export default packageBuild(
  {
    index: 'src/index.ts',
    node: 'src/providers/node.ts',
    testing: 'src/testing.ts',
    // The two sides of the `#native` import condition (package.json "imports").
    'native-node': 'src/providers/native-node.ts',
    'native-web': 'src/providers/native-web.ts',
  },
  { external: ['#native'] },
);
