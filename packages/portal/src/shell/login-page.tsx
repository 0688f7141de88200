/**
 * The sign-in page: organisation, e-mail, password and the authenticator's code (or a recovery
 * code). Every refusal shows the same "sign-in failed" text; a rate limit says when to retry;
 * after the server ended a session it says so.
 *
 * @module
 */
import { Alert, Box, Button, Card, CardContent, Link, TextField, Typography } from '@mui/material';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useLocaleState, useLogin, useTranslate } from 'react-admin';
import type { SessionController } from '../session/controller.js';
import { SignInRefused } from './auth-provider.js';
import { LanguageSwitch } from './language-switch.js';

/** The login page for `controller`'s session. */
export function LoginPage({ controller }: { readonly controller: SessionController }) {
  const translate = useTranslate();
  const login = useLogin();
  const [locale] = useLocaleState();
  const [ended] = useState(() => controller.takeEndedNotice());
  const [useRecovery, setUseRecovery] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ key: string; seconds?: number } | undefined>(undefined);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  useEffect(() => {
    heading.current?.focus();
  }, []);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const text = (name: string) => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    };
    setBusy(true);
    setRefusal(undefined);
    try {
      await login({
        tenant: text('tenant'),
        email: text('email'),
        password: text('password'),
        ...(useRecovery ? { recoveryCode: text('recoveryCode') } : { totp: text('totp') }),
      });
    } catch (error) {
      setRefusal(
        error instanceof SignInRefused
          ? { key: error.key, ...(error.seconds === undefined ? {} : { seconds: error.seconds }) }
          : { key: 'portal.login.unexpected' },
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box
      component="main"
      sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', p: 2 }}
    >
      <Card sx={{ width: '100%', maxWidth: 440 }}>
        <CardContent>
          <Box sx={{ display: 'flex', justifyContent: 'flex-end' }}>
            <LanguageSwitch />
          </Box>
          <Typography component="h1" variant="h5" tabIndex={-1} ref={heading} sx={{ mb: 2, outline: 'none' }}>
            {translate('portal.login.title')}
          </Typography>
          {ended && refusal === undefined ? (
            <Alert severity="info" sx={{ mb: 2 }}>
              {translate('portal.login.ended')}
            </Alert>
          ) : null}
          {refusal !== undefined ? (
            <Alert severity="error" role="alert" sx={{ mb: 2 }}>
              {translate(refusal.key, { seconds: refusal.seconds ?? 60 })}
            </Alert>
          ) : null}
          <Box component="form" onSubmit={submit} noValidate={false}>
            <TextField
              name="tenant"
              label={translate('portal.login.tenant')}
              autoComplete="organization"
              required
              fullWidth
              margin="dense"
            />
            <TextField
              name="email"
              type="email"
              label={translate('portal.login.email')}
              autoComplete="username"
              required
              fullWidth
              margin="dense"
            />
            <TextField
              name="password"
              type="password"
              label={translate('portal.login.password')}
              autoComplete="current-password"
              required
              fullWidth
              margin="dense"
            />
            {useRecovery ? (
              <TextField
                key="recovery"
                name="recoveryCode"
                label={translate('portal.login.recovery')}
                autoComplete="off"
                required
                fullWidth
                margin="dense"
              />
            ) : (
              <TextField
                key="totp"
                name="totp"
                label={translate('portal.login.totp')}
                autoComplete="one-time-code"
                required
                fullWidth
                margin="dense"
                slotProps={{ htmlInput: { inputMode: 'numeric', pattern: '[0-9 ]{6,7}' } }}
              />
            )}
            <Box sx={{ mt: 1 }}>
              <Link component="button" type="button" onClick={() => setUseRecovery((v) => !v)}>
                {translate(useRecovery ? 'portal.login.use_totp' : 'portal.login.use_recovery')}
              </Link>
            </Box>
            <Button type="submit" variant="contained" fullWidth disabled={busy} sx={{ mt: 2 }}>
              {translate('portal.login.submit')}
            </Button>
          </Box>
        </CardContent>
      </Card>
    </Box>
  );
}
