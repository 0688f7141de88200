/**
 * Provides the {@link PortalSession} to the screens (`usePortal()`) and the session's dialogs:
 * the idle warning 60 s before the server would end an unused session ("stay signed in" asks the
 * server who we are, which counts as use), the step-up prompt for a TOTP code, and the signing-key
 * dialog `signer()` opens when no key is kept in this browser. When the server ends the session
 * (a 401 on any call) it goes to the login page, which says so.
 *
 * @module
 */
import type { OrganisationSigner } from '@cloister/admin';
import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  TextField,
} from '@mui/material';
import {
  type FormEvent,
  type ReactNode,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import { useLogout, useTranslate } from 'react-admin';
import { describeError } from '../shell/errors.js';
import { IDLE_WARNING_MS, type SessionController } from './controller.js';
import type { PortalSession } from './portal-context.js';
import { PortalContext } from './use-portal.js';

/** What the key dialog gets: resolve with a signer, or undefined when the person cancels. */
export type KeyDialogRender = (done: (signer: OrganisationSigner | undefined) => void) => ReactNode;

function useSession(controller: SessionController): PortalSession | undefined {
  const subscribe = useMemo(
    () => (notify: () => void) =>
      controller.on((event) => {
        if (event !== 'used') notify();
      }),
    [controller],
  );
  return useSyncExternalStore(subscribe, () =>
    controller.identity === undefined ? undefined : controller.session(),
  );
}

/** The session around the signed-in layout, with its dialogs. */
export function PortalSessionProvider({
  controller,
  keyDialog,
  children,
}: {
  readonly controller: SessionController;
  readonly keyDialog?: KeyDialogRender;
  readonly children: ReactNode;
}) {
  const session = useSession(controller);
  const logout = useLogout();
  const [stepUp, setStepUp] = useState<((ok: boolean) => void) | undefined>(undefined);
  const [keyWanted, setKeyWanted] = useState<((s: OrganisationSigner | undefined) => void) | undefined>(
    undefined,
  );

  useEffect(() => {
    controller.setPrompts({
      askStepUp: () => new Promise<boolean>((resolve) => setStepUp(() => resolve)),
      askSigner: () =>
        keyDialog === undefined
          ? Promise.resolve(undefined)
          : new Promise<OrganisationSigner | undefined>((resolve) => setKeyWanted(() => resolve)),
    });
    return () => controller.setPrompts(undefined);
  }, [controller, keyDialog]);

  useEffect(
    () =>
      controller.on((event) => {
        if (event === 'ended') void logout({}, '/login', false);
      }),
    [controller, logout],
  );

  if (session === undefined) return null;
  return (
    <PortalContext.Provider value={session}>
      {children}
      <IdleWarning controller={controller} />
      {stepUp === undefined ? null : (
        <StepUpDialog
          controller={controller}
          onDone={(ok) => {
            setStepUp(undefined);
            stepUp(ok);
          }}
        />
      )}
      {keyWanted === undefined || keyDialog === undefined
        ? null
        : keyDialog((signer) => {
            setKeyWanted(undefined);
            keyWanted(signer);
          })}
    </PortalContext.Provider>
  );
}

/** The warning shown from 60 s before the idle end. */
function IdleWarning({ controller }: { readonly controller: SessionController }) {
  const translate = useTranslate();
  const logout = useLogout();
  const [now, setNow] = useState(() => Date.now());
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const endsAt = controller.idleEndsAt;
  const left = endsAt === undefined ? Number.POSITIVE_INFINITY : endsAt - now;
  const open = left <= IDLE_WARNING_MS;
  useEffect(() => {
    if (left <= 0 && endsAt !== undefined) void controller.refresh().catch(() => undefined);
  }, [left, endsAt, controller]);
  if (!open) return null;
  return (
    <Dialog open aria-labelledby="idle-title" aria-describedby="idle-text">
      <DialogTitle id="idle-title">{translate('portal.session.idle_title')}</DialogTitle>
      <DialogContent>
        <DialogContentText id="idle-text">
          {translate('portal.session.idle_text', { seconds: Math.max(0, Math.ceil(left / 1000)) })}
        </DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={() => void logout()}>{translate('portal.session.sign_out')}</Button>
        <Button
          variant="contained"
          disabled={busy}
          autoFocus
          onClick={async () => {
            setBusy(true);
            await controller.refresh().catch(() => undefined);
            setBusy(false);
            setNow(Date.now());
          }}
        >
          {translate('portal.session.stay')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Asks for a TOTP code and steps up; a wrong code keeps the dialog open with a message. */
function StepUpDialog({
  controller,
  onDone,
}: {
  readonly controller: SessionController;
  readonly onDone: (ok: boolean) => void;
}) {
  const translate = useTranslate();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = (input.current?.value ?? '').replace(/\s+/g, '');
    setBusy(true);
    setError(undefined);
    try {
      await controller.stepUp(code);
      onDone(true);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      setError(
        code === 'ERR_UNAUTHENTICATED' || code === 'ERR_VALIDATION' || code === 'ERR_FORBIDDEN'
          ? translate('portal.session.step_up_wrong')
          : describeError(e, translate),
      );
      setBusy(false);
      if (input.current !== null) input.current.value = '';
      input.current?.focus();
    }
  };
  return (
    <Dialog
      open
      onClose={() => onDone(false)}
      aria-labelledby="step-up-title"
      aria-describedby="step-up-text"
    >
      <form onSubmit={submit}>
        <DialogTitle id="step-up-title">{translate('portal.session.step_up_title')}</DialogTitle>
        <DialogContent>
          <DialogContentText id="step-up-text">{translate('portal.session.step_up_text')}</DialogContentText>
          {error === undefined ? null : (
            <Alert severity="error" role="alert" sx={{ mt: 2 }}>
              {error}
            </Alert>
          )}
          <TextField
            inputRef={input}
            autoFocus
            required
            fullWidth
            margin="dense"
            name="totp"
            label={translate('portal.session.step_up_code')}
            autoComplete="one-time-code"
            slotProps={{ htmlInput: { inputMode: 'numeric' } }}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => onDone(false)}>{translate('portal.session.cancel')}</Button>
          <Button type="submit" variant="contained" disabled={busy}>
            {translate('portal.session.step_up_confirm')}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
