/**
 * An invitation's result: the enrolment code as text (read-only, selectable, with a copy button)
 * and as a QR code (`qrcode`'s `toDataURL` into an `<img>` with alt text), whether the code was
 * checked against the organisation root this browser holds, when the token expires, and for a
 * managed invite the managed configuration to download (Apple property list, Android
 * restrictions XML).
 *
 * @module
 */
import type { UserInvitation } from '@cloister/admin';
import { managedConfigAndroidXml, managedConfigPlist } from '@cloister/protocol';
import ContentCopyIcon from '@mui/icons-material/ContentCopy';
import DownloadIcon from '@mui/icons-material/Download';
import VerifiedIcon from '@mui/icons-material/Verified';
import WarningAmberIcon from '@mui/icons-material/WarningAmber';
import { Alert, Box, Button, Stack, TextField, Typography } from '@mui/material';
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { useLocaleState, useTranslate } from 'react-admin';

/** The QR code of `text` as an image with `alt`; nothing until it is drawn. */
export function QrImage({ text, alt }: { readonly text: string; readonly alt: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then(
      (u) => {
        if (live) setUrl(u);
      },
      () => {
        if (live) setUrl(null);
      },
    );
    return () => {
      live = false;
    };
  }, [text]);
  if (url === null) return null;
  return (
    <Box
      component="img"
      src={url}
      alt={alt}
      sx={{ width: 240, height: 240, border: 1, borderColor: 'divider', borderRadius: 1 }}
    />
  );
}

/** A read-only text with a copy button. */
export function CopyableText({ label, value }: { readonly label: string; readonly value: string }) {
  const translate = useTranslate();
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <Stack direction="row" spacing={1} alignItems="flex-start">
      <TextField
        label={label}
        value={value}
        fullWidth
        multiline
        slotProps={{
          htmlInput: { readOnly: true, spellCheck: false },
          input: { sx: { fontFamily: 'monospace' } },
        }}
        helperText={
          copied === true
            ? translate('portal.users.code.copied')
            : copied === false
              ? translate('portal.users.code.copyFailed')
              : ' '
        }
      />
      <Button variant="outlined" startIcon={<ContentCopyIcon />} onClick={copy} sx={{ mt: 1, flexShrink: 0 }}>
        {translate('portal.users.code.copy')}
      </Button>
    </Stack>
  );
}

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The result of an invitation for `user`. */
export function InvitationResult({
  user,
  invitation,
}: {
  readonly user: string;
  readonly invitation: UserInvitation;
}) {
  const translate = useTranslate();
  const code = invitation.enrolmentCode ?? invitation.token;
  const [locale] = useLocaleState();
  const expires = new Date(invitation.expiresAt).toLocaleString(locale);
  return (
    <Stack spacing={2} sx={{ mt: 2 }} aria-live="polite">
      <Typography variant="h6" component="h2">
        {translate('portal.users.code.title', { user })}
      </Typography>
      {invitation.rootVerified ? (
        <Alert severity="success" icon={<VerifiedIcon />}>
          {translate('portal.users.code.rootVerified', { fingerprint: invitation.rootFingerprint ?? '' })}
        </Alert>
      ) : invitation.rootFingerprint === null ? (
        <Alert severity="warning" icon={<WarningAmberIcon />}>
          {translate('portal.users.code.noRoot')}
        </Alert>
      ) : (
        <Alert severity="warning" icon={<WarningAmberIcon />}>
          {translate('portal.users.code.rootNotVerified')}
        </Alert>
      )}
      <CopyableText
        label={translate(
          invitation.enrolmentCode === null ? 'portal.users.code.tokenLabel' : 'portal.users.code.label',
        )}
        value={code}
      />
      <QrImage text={code} alt={translate('portal.users.code.qrAlt', { user })} />
      <Typography variant="body2">{translate('portal.users.code.expires', { time: expires })}</Typography>
      <Typography variant="body2" color="text.secondary">
        {translate('portal.users.code.secret')}
      </Typography>
      {invitation.managedConfig !== undefined && (
        <Stack spacing={1}>
          <Typography variant="subtitle1" component="h3">
            {translate('portal.users.code.managedTitle')}
          </Typography>
          <Typography variant="body2">{translate('portal.users.code.managedHelp')}</Typography>
          <Stack direction="row" spacing={1}>
            <Button
              variant="outlined"
              startIcon={<DownloadIcon />}
              onClick={() =>
                download(
                  `cloister-${user}.plist`,
                  'application/x-plist',
                  managedConfigPlist(
                    invitation.managedConfig as NonNullable<typeof invitation.managedConfig>,
                  ),
                )
              }
            >
              {translate('portal.users.code.downloadPlist')}
            </Button>
            <Button
              variant="outlined"
              startIcon={<DownloadIcon />}
              onClick={() =>
                download(
                  `cloister-${user}.xml`,
                  'application/xml',
                  managedConfigAndroidXml(
                    invitation.managedConfig as NonNullable<typeof invitation.managedConfig>,
                  ),
                )
              }
            >
              {translate('portal.users.code.downloadAndroid')}
            </Button>
          </Stack>
        </Stack>
      )}
    </Stack>
  );
}
