/**
 * The SCIM tokens screen (`#/scim-tokens`, `scim.manage`): the live tokens with their source and
 * last use; a new token (name, source, expiry) is shown once; revoking asks for confirmation.
 * Creating and revoking need a fresh second factor (`withStepUp`).
 *
 * @module
 */
import type { ScimTokenView } from '@cloister/admin';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
} from '@mui/material';
import { type FormEvent, useState } from 'react';
import { useNotify } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import {
  ConfirmDialog,
  ErrorNotice,
  errorText,
  Loading,
  Page,
  SecretDialog,
  Section,
  useFormatTime,
  useLoad,
  useT,
} from './ui.js';

export function ScimTokensPage() {
  const t = useT();
  const time = useFormatTime();
  const notify = useNotify();
  const { client, withStepUp } = usePortal();
  const tokens = useLoad<ScimTokenView[]>(() => client.scim.listTokens(), [client]);
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [source, setSource] = useState('scim');
  const [ttl, setTtl] = useState('');
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<unknown>(undefined);
  const [secret, setSecret] = useState<{ title: string; value: string } | undefined>(undefined);
  const [revoking, setRevoking] = useState<ScimTokenView | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFormError(undefined);
    try {
      const days = Number(ttl);
      const created = await withStepUp(() =>
        client.scim.createToken({
          name: name.trim(),
          source: source.trim() === '' ? 'scim' : source.trim(),
          ...(ttl.trim() === '' || !Number.isFinite(days) ? {} : { ttlDays: Math.round(days) }),
        }),
      );
      setOpen(false);
      setName('');
      setTtl('');
      setSecret({ title: t('scim.created'), value: created.token });
      tokens.reload();
    } catch (e) {
      setFormError(e);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (token: ScimTokenView) => {
    setActionError(undefined);
    try {
      await withStepUp(() => client.scim.revokeToken(token.id));
      notify(t('scim.revoked'), { type: 'success' });
      tokens.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <Page title={t('scim.title')} intro={t('scim.intro')}>
      <Section title={t('scim.title')} id="scim-tokens">
        <Stack spacing={1.5}>
          <Box>
            <Button variant="contained" onClick={() => setOpen(true)}>
              {t('scim.newToken')}
            </Button>
          </Box>
          {actionError === undefined ? null : <ErrorNotice error={actionError} />}
          {tokens.error !== undefined ? (
            <ErrorNotice error={tokens.error} onRetry={tokens.reload} />
          ) : tokens.data === undefined ? (
            <Loading />
          ) : tokens.data.length === 0 ? (
            <Alert severity="info">{t('scim.empty')}</Alert>
          ) : (
            <TableContainer component={Paper} variant="outlined">
              <Table size="small" aria-label={t('scim.title')}>
                <TableHead>
                  <TableRow>
                    <TableCell>{t('scim.name')}</TableCell>
                    <TableCell>{t('scim.source')}</TableCell>
                    <TableCell>{t('scim.createdAt')}</TableCell>
                    <TableCell>{t('scim.expires')}</TableCell>
                    <TableCell>{t('scim.lastUsed')}</TableCell>
                    <TableCell />
                  </TableRow>
                </TableHead>
                <TableBody>
                  {tokens.data.map((k) => (
                    <TableRow key={k.id}>
                      <TableCell>{k.name}</TableCell>
                      <TableCell>{k.source}</TableCell>
                      <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(k.createdAt)}</TableCell>
                      <TableCell sx={{ whiteSpace: 'nowrap' }}>
                        {k.expiresAt === null ? t('scim.noExpiry') : time(k.expiresAt)}
                      </TableCell>
                      <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(k.lastUsedAt)}</TableCell>
                      <TableCell>
                        <Button
                          color="error"
                          size="small"
                          onClick={() => setRevoking(k)}
                          aria-label={`${t('common.revoke')} ${k.name}`}
                        >
                          {t('common.revoke')}
                        </Button>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          )}
        </Stack>
      </Section>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        aria-labelledby="scim-new-title"
        fullWidth
        maxWidth="sm"
      >
        <Box component="form" onSubmit={create}>
          <DialogTitle id="scim-new-title">{t('scim.newToken')}</DialogTitle>
          <DialogContent>
            <Stack spacing={2} sx={{ pt: 1 }}>
              <TextField
                label={t('scim.name')}
                value={name}
                onChange={(e) => setName(e.target.value)}
                required
                slotProps={{ htmlInput: { maxLength: 64 } }}
              />
              <TextField
                label={t('scim.source')}
                helperText={t('scim.sourceHelp')}
                value={source}
                onChange={(e) => setSource(e.target.value)}
              />
              <TextField
                label={t('scim.ttlDays')}
                type="number"
                value={ttl}
                onChange={(e) => setTtl(e.target.value)}
                slotProps={{ htmlInput: { min: 1, max: 730 } }}
              />
              {formError === undefined ? null : <Alert severity="error">{errorText(t, formError)}</Alert>}
            </Stack>
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setOpen(false)}>{t('common.cancel')}</Button>
            <Button type="submit" variant="contained" disabled={busy}>
              {t('common.create')}
            </Button>
          </DialogActions>
        </Box>
      </Dialog>
      <SecretDialog secret={secret} onClose={() => setSecret(undefined)} />
      <ConfirmDialog
        open={revoking !== undefined}
        text={t('scim.revokeConfirm', { name: revoking?.name ?? '' })}
        confirm={t('common.revoke')}
        onClose={() => setRevoking(undefined)}
        onConfirm={() => {
          if (revoking !== undefined) void revoke(revoking);
        }}
      />
    </Page>
  );
}
