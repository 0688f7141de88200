/**
 * The language switch (app bar and login page): English or German; the choice is remembered in
 * `localStorage` and `<html lang>` follows.
 *
 * @module
 */
import { MenuItem, TextField } from '@mui/material';
import { useEffect } from 'react';
import { useLocaleState, useTranslate } from 'react-admin';
import { applyLocale } from '../i18n/index.js';

/** A labelled select of the portal's languages. */
export function LanguageSwitch() {
  const translate = useTranslate();
  const [locale, setLocale] = useLocaleState();
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  return (
    <TextField
      select
      size="small"
      label={translate('portal.language')}
      value={locale === 'de' ? 'de' : 'en'}
      onChange={(event) => {
        const next = event.target.value === 'de' ? 'de' : 'en';
        applyLocale(next);
        setLocale(next);
      }}
      sx={{ minWidth: 160, '& .MuiInputBase-root': { bgcolor: 'background.paper' } }}
    >
      <MenuItem value="en" lang="en">
        English
      </MenuItem>
      <MenuItem value="de" lang="de">
        Deutsch
      </MenuItem>
    </TextField>
  );
}
