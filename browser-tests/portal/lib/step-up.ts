/**
 * The step-up prompt, answered as a person would: when the portal shows "Confirm it is you", type
 * the owner's next TOTP code (`ctx.shared.get('totp')`, which never reuses a time step) and
 * confirm.
 *
 * @module
 */
import type { PortalTestContext } from './context.js';

/**
 * Answers the step-up prompt when the portal asks within `within` ms; resolves whether it asked.
 * Throws when it asks and the scenario has no TOTP generator.
 */
export async function answerStepUp(ctx: PortalTestContext, within = 2_000): Promise<boolean> {
  const dialog = ctx.page.getByRole('dialog', { name: 'Confirm it is you' });
  const asked = await dialog.waitFor({ timeout: within }).then(
    () => true,
    () => false,
  );
  if (!asked) return false;
  const totp = ctx.shared.get('totp');
  if (typeof totp !== 'function') {
    throw new Error('the portal asked for a step-up and the scenario has no TOTP generator (shared "totp")');
  }
  await dialog
    .getByLabel('Authenticator code')
    .fill(String(await (totp as () => string | Promise<string>)()));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
  return true;
}
