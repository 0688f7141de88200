/**
 * "My signing key" (route `/my-key`) and the key dialog `signer()` opens when no key is kept:
 * import `signing-key.json` from the CLI (file or pasted text) with its passphrase, or make a key
 * request in the browser (a fresh non-extractable WebCrypto key pair; an owner certifies its
 * public key with `cloister org certify`; the certificate and root public key are pasted back).
 * The kept key shows its fingerprint, role and certificate expiry, and can be forgotten. A key of
 * another administrator, or of another organisation root than the server's, is refused.
 *
 * @module
 */
import {
  type AdminSigningKey,
  generateWebCryptoSigner,
  importSigningKeyToWebCrypto,
  installAdminCertificate,
  type OrganisationSigner,
  openSigningKey,
  webCryptoSigner,
} from '@cloister/admin';
import { rootFingerprint } from '@cloister/protocol';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  TextField,
  Typography,
} from '@mui/material';
import { type ChangeEvent, type FormEvent, useCallback, useEffect, useState } from 'react';
import { Title, useLocaleState, useTranslate } from 'react-admin';
import { portalController } from '../session/instance.js';
import { usePortal } from '../session/use-portal.js';
import { describeError } from '../shell/errors.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import {
  certificateExpiry,
  dropRequest,
  forget,
  type KeptKey,
  keep,
  keepRequest,
  keyFingerprint,
  type PendingRequest,
  portalProvider,
  readKept,
  readRequest,
  signerFor,
  signingKeyOf,
} from './store.js';

/** A refusal the screen explains with its own message. */
class KeyRefused extends Error {
  constructor(
    readonly key: string,
    readonly args: Record<string, unknown> = {},
  ) {
    super(key);
  }
}

function useKeyText() {
  const translate = useTranslate();
  return useCallback(
    (error: unknown) =>
      error instanceof KeyRefused ? translate(error.key, error.args) : describeError(error, translate),
    [translate],
  );
}

/** Checks `key` is the signed-in administrator's and names the server's root. */
async function checkKey(session: ReturnType<typeof usePortal>, key: AdminSigningKey): Promise<void> {
  const { identity, client } = session;
  if (key.tenant !== identity.tenant || key.admin !== identity.admin) {
    throw new KeyRefused('portal.keys.other_admin', { keyAdmin: key.admin, you: identity.admin });
  }
  const tenant = await client.getTenant();
  const ours = await rootFingerprint(await portalProvider(), key.rootPublicKey);
  if (tenant.rootFingerprint === null || tenant.rootFingerprint !== ours) {
    throw new KeyRefused('portal.keys.other_root');
  }
}

/** Manages the signed-in administrator's key; `onReady` gets the kept key once there is one. */
function KeyManager({ onReady }: { readonly onReady?: (kept: KeptKey) => void }) {
  const session = usePortal();
  const { identity } = session;
  const [kept, setKept] = useState<KeptKey | undefined | null>(null);
  const [request, setRequest] = useState<PendingRequest | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void Promise.all([
      readKept(identity.tenant, identity.admin),
      readRequest(identity.tenant, identity.admin),
    ]).then(
      ([k, r]) => {
        if (!live) return;
        setKept(k);
        setRequest(r);
      },
      () => live && setKept(undefined),
    );
    return () => {
      live = false;
    };
  }, [identity.tenant, identity.admin]);
  const ready = (k: KeptKey) => {
    portalController().adoptOrganisationRoot(k.rootPublicKey);
    setKept(k);
    setRequest(undefined);
    onReady?.(k);
  };
  if (kept === null) return null;
  if (kept !== undefined) return <KeptKeyCard kept={kept} onForgotten={() => setKept(undefined)} />;
  return (
    <>
      <ImportCard onKept={ready} />
      <RequestCard request={request} onRequest={setRequest} onKept={ready} />
    </>
  );
}

function KeptKeyCard({ kept, onForgotten }: { readonly kept: KeptKey; readonly onForgotten: () => void }) {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const [fingerprint, setFingerprint] = useState('');
  const [confirm, setConfirm] = useState(false);
  useEffect(() => {
    void keyFingerprint(kept.publicKey).then(setFingerprint);
  }, [kept.publicKey]);
  const expiry = certificateExpiry(kept.certificate);
  const expired = expiry <= Date.now();
  return (
    <Card sx={{ mt: 2 }}>
      <CardContent>
        <Typography component="h2" variant="h6">
          {translate('portal.keys.kept_title')}
        </Typography>
        <Typography variant="body2" sx={{ mb: 2 }}>
          {translate('portal.keys.kept_text')}
        </Typography>
        <TextField
          label={translate('portal.keys.fingerprint')}
          value={fingerprint}
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { readOnly: true } }}
        />
        <TextField
          label={translate('portal.keys.role')}
          value={translate(`portal.roles.${kept.role}`, { _: kept.role })}
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { readOnly: true } }}
        />
        <TextField
          label={translate('portal.keys.expires')}
          value={new Date(expiry).toLocaleString(locale)}
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { readOnly: true } }}
        />
        {expired ? (
          <Alert severity="warning" sx={{ mt: 1 }}>
            {translate('portal.keys.expired')}
          </Alert>
        ) : null}
        <Button color="error" variant="outlined" sx={{ mt: 2 }} onClick={() => setConfirm(true)}>
          {translate('portal.keys.forget')}
        </Button>
        <Dialog open={confirm} onClose={() => setConfirm(false)} aria-labelledby="forget-title">
          <DialogTitle id="forget-title">{translate('portal.keys.forget_title')}</DialogTitle>
          <DialogContent>
            <Typography>{translate('portal.keys.forget_text')}</Typography>
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setConfirm(false)}>{translate('portal.session.cancel')}</Button>
            <Button
              color="error"
              variant="contained"
              onClick={async () => {
                await forget(kept.tenant, kept.admin);
                setConfirm(false);
                onForgotten();
              }}
            >
              {translate('portal.keys.forget')}
            </Button>
          </DialogActions>
        </Dialog>
      </CardContent>
    </Card>
  );
}

function ImportCard({ onKept }: { readonly onKept: (kept: KeptKey) => void }) {
  const translate = useTranslate();
  const text = useKeyText();
  const session = usePortal();
  const [contents, setContents] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file !== undefined) setContents(await file.text());
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const opened = await openSigningKey(await portalProvider(), contents, passphrase);
      try {
        await checkKey(session, opened);
      } catch (e) {
        if (opened.privateKey instanceof Uint8Array) opened.privateKey.fill(0);
        throw e;
      }
      const key = await importSigningKeyToWebCrypto(opened);
      setPassphrase('');
      setContents('');
      onKept(await keep(key));
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card sx={{ mt: 2 }}>
      <CardContent component="form" onSubmit={submit}>
        <Typography component="h2" variant="h6">
          {translate('portal.keys.import_title')}
        </Typography>
        <Typography variant="body2" sx={{ mb: 1 }}>
          {translate('portal.keys.import_text')}
        </Typography>
        {error === undefined ? null : (
          <Alert severity="error" role="alert" sx={{ my: 1 }}>
            {error}
          </Alert>
        )}
        <Button component="label" variant="outlined">
          {translate('portal.keys.choose_file')}
          <input type="file" accept=".json,application/json" hidden onChange={onFile} />
        </Button>
        <TextField
          label={translate('portal.keys.contents')}
          value={contents}
          onChange={(e) => setContents(e.target.value)}
          multiline
          minRows={3}
          maxRows={8}
          required
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { spellCheck: false } }}
        />
        <TextField
          label={translate('portal.keys.passphrase')}
          type="password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          autoComplete="off"
          required
          fullWidth
          margin="dense"
        />
        <Button type="submit" variant="contained" disabled={busy} sx={{ mt: 1 }}>
          {translate('portal.keys.import')}
        </Button>
      </CardContent>
    </Card>
  );
}

function RequestCard({
  request,
  onRequest,
  onKept,
}: {
  readonly request: PendingRequest | undefined;
  readonly onRequest: (r: PendingRequest | undefined) => void;
  readonly onKept: (kept: KeptKey) => void;
}) {
  const translate = useTranslate();
  const text = useKeyText();
  const session = usePortal();
  const { identity } = session;
  const [certificate, setCertificate] = useState('');
  const [root, setRoot] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const make = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const held = await generateWebCryptoSigner();
      onRequest(await keepRequest(identity.tenant, identity.admin, held.publicKey, held.cryptoKey));
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  const install = async (event: FormEvent) => {
    event.preventDefault();
    if (request === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      const held = await webCryptoSigner(request.cryptoKey, request.publicKey);
      const key = await installAdminCertificate(
        await portalProvider(),
        held,
        fromBase64Url(certificate, 'certificate'),
        fromBase64Url(root, 'rootPublicKey'),
      );
      await checkKey(session, key);
      const kept = await keep(key);
      await dropRequest(identity.tenant, identity.admin);
      onKept(kept);
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  const publicKey = request === undefined ? '' : toBase64Url(request.publicKey);
  return (
    <Card sx={{ mt: 2 }}>
      <CardContent>
        <Typography component="h2" variant="h6">
          {translate('portal.keys.request_title')}
        </Typography>
        <Typography variant="body2" sx={{ mb: 1 }}>
          {translate('portal.keys.request_text')}
        </Typography>
        {error === undefined ? null : (
          <Alert severity="error" role="alert" sx={{ my: 1 }}>
            {error}
          </Alert>
        )}
        {request === undefined ? (
          <Button variant="outlined" onClick={make} disabled={busy}>
            {translate('portal.keys.make_request')}
          </Button>
        ) : (
          <Box component="form" onSubmit={install}>
            <TextField
              label={translate('portal.keys.request_public_key')}
              value={publicKey}
              fullWidth
              margin="dense"
              slotProps={{ htmlInput: { readOnly: true, spellCheck: false } }}
            />
            <TextField
              label={translate('portal.keys.request_command')}
              value={`cloister org certify --admin ${identity.admin} --role ${identity.role} --public-key ${publicKey}`}
              fullWidth
              margin="dense"
              multiline
              slotProps={{ htmlInput: { readOnly: true, spellCheck: false } }}
            />
            <TextField
              label={translate('portal.keys.certificate')}
              value={certificate}
              onChange={(e) => setCertificate(e.target.value)}
              required
              fullWidth
              margin="dense"
              slotProps={{ htmlInput: { spellCheck: false } }}
            />
            <TextField
              label={translate('portal.keys.root_public_key')}
              value={root}
              onChange={(e) => setRoot(e.target.value)}
              required
              fullWidth
              margin="dense"
              slotProps={{ htmlInput: { spellCheck: false } }}
            />
            <Box sx={{ display: 'flex', gap: 1, mt: 1 }}>
              <Button type="submit" variant="contained" disabled={busy}>
                {translate('portal.keys.install')}
              </Button>
              <Button
                onClick={async () => {
                  await dropRequest(identity.tenant, identity.admin);
                  onRequest(undefined);
                }}
              >
                {translate('portal.keys.discard_request')}
              </Button>
            </Box>
          </Box>
        )}
      </CardContent>
    </Card>
  );
}

/** The "My signing key" screen. */
export function MyKeyPage() {
  const translate = useTranslate();
  return (
    <Box sx={{ maxWidth: 820 }}>
      <Title title={translate('portal.menu.my_key')} />
      <KeyManager />
    </Box>
  );
}

/** The dialog `signer()` opens when this browser keeps no key: resolves with the signer once one is. */
export function KeyDialog({ onDone }: { readonly onDone: (signer: OrganisationSigner | undefined) => void }) {
  const translate = useTranslate();
  const session = usePortal();
  const [error, setError] = useState<string | undefined>(undefined);
  const text = useKeyText();
  const ready = async (kept: KeptKey) => {
    try {
      onDone(await signerFor(session, await signingKeyOf(kept), (r) => portalController().clientWithRoot(r)));
    } catch (e) {
      setError(text(e));
    }
  };
  return (
    <Dialog open onClose={() => onDone(undefined)} aria-labelledby="key-dialog-title" maxWidth="md" fullWidth>
      <DialogTitle id="key-dialog-title">{translate('portal.keys.dialog_title')}</DialogTitle>
      <DialogContent>
        <Typography variant="body2">{translate('portal.keys.dialog_text')}</Typography>
        {error === undefined ? null : (
          <Alert severity="error" role="alert" sx={{ mt: 1 }}>
            {error}
          </Alert>
        )}
        <KeyManager onReady={(k) => void ready(k)} />
      </DialogContent>
      <DialogActions>
        <Button onClick={() => onDone(undefined)}>{translate('portal.session.cancel')}</Button>
      </DialogActions>
    </Dialog>
  );
}
