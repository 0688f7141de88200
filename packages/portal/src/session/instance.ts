/**
 * The tab's one {@link SessionController}, created on first use (the shell's providers, layout
 * and login page share it).
 *
 * @module
 */
import { keptSigner, readKept } from '../keys/store.js';
import { SessionController } from './controller.js';

let instance: SessionController | undefined;

/** The session controller of this tab. */
export function portalController(): SessionController {
  instance ??= new SessionController({
    loadSigner: keptSigner,
    keptRoot: async (tenant, admin) => (await readKept(tenant, admin))?.rootPublicKey,
  });
  return instance;
}
