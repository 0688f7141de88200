import { packageBuild } from '../../tsup.base.js';

export default packageBuild({ index: 'src/index.ts', browser: 'src/browser.ts' });
