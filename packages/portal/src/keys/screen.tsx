/**
 * "My signing key" (route `/my-key`) and the key dialog `signer()` opens.
 *
 * @module
 */
import type { OrganisationSigner } from '@cloister/admin';
import { Title, useTranslate } from 'react-admin';

/** The "My signing key" screen. */
export function MyKeyPage() {
  const translate = useTranslate();
  return <Title title={translate('portal.menu.my_key')} />;
}

/** The key dialog. */
export function KeyDialog({ onDone }: { readonly onDone: (signer: OrganisationSigner | undefined) => void }) {
  void onDone;
  return null;
}
