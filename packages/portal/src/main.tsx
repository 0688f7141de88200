/**
 * Entry of the admin portal: mounts the shell inside an emotion cache that stamps every style
 * element with the nonce the server put into `<meta property="csp-nonce">` (the content security
 * policy allows styles only with that nonce).
 *
 * @module
 */
import createCache from '@emotion/cache';
import { CacheProvider } from '@emotion/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { PortalApp } from './shell/app.js';

/** The nonce the server wrote for this answer, or undefined when the page was not served with one. */
function cspNonce(): string | undefined {
  const meta = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]');
  // Browsers hide a nonce attribute's value from getAttribute once the policy is in force; the
  // property keeps it.
  const nonce = meta?.nonce || meta?.getAttribute('nonce') || meta?.getAttribute('content') || undefined;
  return nonce === undefined || nonce === '' || nonce.includes('__CLOISTER_CSP_NONCE__') ? undefined : nonce;
}

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
const nonce = cspNonce();
const cache = createCache({ key: 'cl', ...(nonce === undefined ? {} : { nonce }) });
createRoot(root).render(
  <StrictMode>
    <CacheProvider value={cache}>
      <PortalApp />
    </CacheProvider>
  </StrictMode>,
);
