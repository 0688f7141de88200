/**
 * Vite configuration of the admin portal. The build goes to `dist/` with relative asset paths
 * (`base: './'`), so the server can serve it under any prefix. `html.cspNonce` puts the
 * placeholder `__CLOISTER_CSP_NONCE__` on the tags Vite writes and in a `<meta property="csp-nonce">`
 * the style cache reads; the server replaces it with a fresh nonce per answer (`spec/portal.md`).
 */
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  base: './',
  plugins: [react()],
  // The SDK packages are bundled from their TypeScript sources (the workspace's `@cloister/source`
  // export condition), so the portal builds on a fresh checkout before any package's `dist/`
  // exists; the bundle holds the same code either way.
  resolve: { conditions: ['@cloister/source', ...defaultClientConditions] },
  html: { cspNonce: '__CLOISTER_CSP_NONCE__' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 4096 },
});
