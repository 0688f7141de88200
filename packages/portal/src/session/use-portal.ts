/**
 * `usePortal()`: the {@link PortalSession} of the signed-in administrator, provided by the shell
 * around every screen.
 *
 * @module
 */
import { createContext, useContext } from 'react';
import type { PortalSession } from './portal-context.js';

/** The context the shell fills once someone has signed in. */
export const PortalContext = createContext<PortalSession | undefined>(undefined);

/** The portal session; throws outside the signed-in layout (a programming error). */
export function usePortal(): PortalSession {
  const session = useContext(PortalContext);
  if (session === undefined) throw new Error('usePortal() outside the signed-in portal');
  return session;
}
