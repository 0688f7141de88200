/**
 * The shell's own messages (sign-in, session, layout, errors, signing key, dashboard,
 * administrators), under `portal.*`, in English and German with the same keys (a test checks).
 *
 * @module
 */
import type { AreaMessages } from '../areas/area.js';

const en = {
  portal: {
    app_title: 'Cloister administration',
    language: 'Language',
    language_names: { en: 'English', de: 'Deutsch (German)' },
    skip_to_content: 'Skip to content',
    signed_in_as: 'Signed in as %{name} (%{role})',
    roles: { owner: 'Owner', admin: 'Administrator', 'user-manager': 'User manager', auditor: 'Auditor' },
    menu: { dashboard: 'Dashboard', administrators: 'Administrators', my_key: 'My signing key' },
    login: {
      title: 'Sign in to the Cloister administration',
      tenant: 'Organisation (tenant id)',
      email: 'E-mail address',
      password: 'Password',
      totp: 'Code from your authenticator app',
      recovery: 'Recovery code',
      use_recovery: 'Use a recovery code instead',
      use_totp: 'Use the authenticator app instead',
      submit: 'Sign in',
      failed: 'Sign-in failed. Check the organisation, e-mail address, password and code, and try again.',
      rate_limited: 'Too many attempts. Try again in %{seconds} seconds.',
      ended: 'Your session ended. Sign in again.',
      required: 'Sign in to continue.',
      unexpected: 'Sign-in is not possible right now. Try again in a moment.',
    },
    session: {
      idle_title: 'Are you still there?',
      idle_text: 'For your security, your session ends in %{seconds} seconds unless you stay signed in.',
      stay: 'Stay signed in',
      sign_out: 'Sign out',
      step_up_title: 'Confirm it is you',
      step_up_text:
        'This action needs a fresh confirmation. Enter the current code from your authenticator app.',
      step_up_code: 'Authenticator code',
      step_up_confirm: 'Confirm',
      step_up_wrong: 'The code was not accepted. Wait for the next code and enter it.',
      cancel: 'Cancel',
    },
    dashboard: {
      title: 'Dashboard',
      activity_title: 'Activity over the last %{days} days',
      storage_title: 'Storage',
      loading: 'Loading figures…',
      no_stats_permission: 'Your role does not include usage statistics.',
      no_usage_permission: 'Your role does not include the storage figures.',
      active_users: 'Active users',
      active_devices: 'Active devices',
      deliveries: 'Messages delivered',
      activity_chart_label: 'Line chart of active users, active devices and messages delivered per day',
      activity_table_label: 'Activity per day',
      show_table: 'Show the figures as a table',
      day: 'Day',
      suppressed: 'suppressed',
      suppressed_note:
        'Figures about fewer than %{min} people are suppressed to protect their privacy; they show as gaps.',
      storage: 'Storage',
      files: 'Files',
      archive: 'Compliance archive',
      free: 'Free',
      quota: 'Quota',
      kind: 'Kind',
      size: 'Size',
      count: 'Items',
      storage_summary: '%{used} of %{quota} used (%{percent})',
      storage_chart_label: 'Bar chart of the storage used by files and the archive against the quota',
      storage_table_label: 'Storage used and quota',
    },
    not_allowed: {
      title: 'Not allowed',
      text: 'Your role does not allow this page. If you need it, ask an owner of your organisation.',
      back: 'Back to the dashboard',
    },
    errors: {
      validation: 'Please check your entry (%{field}) and try again.',
      forbidden: 'Your role does not allow this action. Ask an owner of your organisation.',
      unauthenticated: 'Your session ended. Sign in again.',
      not_found: 'This item no longer exists. Reload the list.',
      conflict: 'This was changed at the same time elsewhere, or exists already. Reload and try again.',
      rate_limited: 'Too many requests. Try again in %{seconds} seconds.',
      limit: 'A limit of the server was reached. Remove something first or ask your operator.',
      wrong_passphrase: 'The passphrase is not correct. Try again.',
      invalid_key: 'The key or certificate is not valid for this organisation.',
      cancelled: 'The action was cancelled.',
      network: 'The server cannot be reached. Check your connection and try again.',
      unexpected: 'An unexpected error occurred. Try again.',
    },
  },
};

const de: typeof en = {
  portal: {
    app_title: 'Cloister-Verwaltung',
    language: 'Sprache',
    language_names: { en: 'English (Englisch)', de: 'Deutsch' },
    skip_to_content: 'Zum Inhalt springen',
    signed_in_as: 'Angemeldet als %{name} (%{role})',
    roles: {
      owner: 'Eigentümer',
      admin: 'Administrator',
      'user-manager': 'Benutzerverwaltung',
      auditor: 'Prüfer',
    },
    menu: { dashboard: 'Übersicht', administrators: 'Administratoren', my_key: 'Mein Signaturschlüssel' },
    login: {
      title: 'Anmeldung bei der Cloister-Verwaltung',
      tenant: 'Organisation (Mandanten-ID)',
      email: 'E-Mail-Adresse',
      password: 'Passwort',
      totp: 'Code aus Ihrer Authentifizierungs-App',
      recovery: 'Wiederherstellungscode',
      use_recovery: 'Stattdessen einen Wiederherstellungscode verwenden',
      use_totp: 'Stattdessen die Authentifizierungs-App verwenden',
      submit: 'Anmelden',
      failed:
        'Die Anmeldung ist fehlgeschlagen. Bitte prüfen Sie Organisation, E-Mail-Adresse, Passwort und Code und versuchen Sie es erneut.',
      rate_limited: 'Zu viele Versuche. Bitte versuchen Sie es in %{seconds} Sekunden erneut.',
      ended: 'Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an.',
      required: 'Bitte melden Sie sich an, um fortzufahren.',
      unexpected: 'Die Anmeldung ist derzeit nicht möglich. Bitte versuchen Sie es gleich erneut.',
    },
    session: {
      idle_title: 'Sind Sie noch da?',
      idle_text:
        'Zu Ihrer Sicherheit endet Ihre Sitzung in %{seconds} Sekunden, wenn Sie nicht angemeldet bleiben.',
      stay: 'Angemeldet bleiben',
      sign_out: 'Abmelden',
      step_up_title: 'Bitte bestätigen Sie Ihre Identität',
      step_up_text:
        'Diese Aktion erfordert eine erneute Bestätigung. Bitte geben Sie den aktuellen Code aus Ihrer Authentifizierungs-App ein.',
      step_up_code: 'Code der Authentifizierungs-App',
      step_up_confirm: 'Bestätigen',
      step_up_wrong:
        'Der Code wurde nicht angenommen. Bitte warten Sie auf den nächsten Code und geben Sie ihn ein.',
      cancel: 'Abbrechen',
    },
    dashboard: {
      title: 'Übersicht',
      activity_title: 'Aktivität der letzten %{days} Tage',
      storage_title: 'Speicher',
      loading: 'Zahlen werden geladen …',
      no_stats_permission: 'Ihre Rolle umfasst keine Nutzungsstatistik.',
      no_usage_permission: 'Ihre Rolle umfasst keine Speicherangaben.',
      active_users: 'Aktive Benutzer',
      active_devices: 'Aktive Geräte',
      deliveries: 'Zugestellte Nachrichten',
      activity_chart_label:
        'Liniendiagramm der aktiven Benutzer, aktiven Geräte und zugestellten Nachrichten pro Tag',
      activity_table_label: 'Aktivität pro Tag',
      show_table: 'Zahlen als Tabelle anzeigen',
      day: 'Tag',
      suppressed: 'unterdrückt',
      suppressed_note:
        'Zahlen über weniger als %{min} Personen werden zum Schutz ihrer Privatsphäre unterdrückt und erscheinen als Lücken.',
      storage: 'Speicher',
      files: 'Dateien',
      archive: 'Compliance-Archiv',
      free: 'Frei',
      quota: 'Kontingent',
      kind: 'Art',
      size: 'Größe',
      count: 'Einträge',
      storage_summary: '%{used} von %{quota} belegt (%{percent})',
      storage_chart_label:
        'Balkendiagramm des von Dateien und Archiv belegten Speichers im Verhältnis zum Kontingent',
      storage_table_label: 'Belegter Speicher und Kontingent',
    },
    not_allowed: {
      title: 'Nicht erlaubt',
      text: 'Ihre Rolle erlaubt diese Seite nicht. Wenn Sie sie benötigen, wenden Sie sich an einen Eigentümer Ihrer Organisation.',
      back: 'Zurück zur Übersicht',
    },
    errors: {
      validation: 'Bitte prüfen Sie Ihre Eingabe (%{field}) und versuchen Sie es erneut.',
      forbidden:
        'Ihre Rolle erlaubt diese Aktion nicht. Bitte wenden Sie sich an einen Eigentümer Ihrer Organisation.',
      unauthenticated: 'Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an.',
      not_found: 'Dieser Eintrag existiert nicht mehr. Bitte laden Sie die Liste neu.',
      conflict:
        'Der Eintrag wurde gleichzeitig an anderer Stelle geändert oder existiert bereits. Bitte laden Sie neu und versuchen Sie es erneut.',
      rate_limited: 'Zu viele Anfragen. Bitte versuchen Sie es in %{seconds} Sekunden erneut.',
      limit:
        'Eine Grenze des Servers ist erreicht. Bitte entfernen Sie zuerst etwas oder wenden Sie sich an Ihren Betreiber.',
      wrong_passphrase: 'Die Passphrase ist nicht korrekt. Bitte versuchen Sie es erneut.',
      invalid_key: 'Der Schlüssel oder das Zertifikat ist für diese Organisation nicht gültig.',
      cancelled: 'Die Aktion wurde abgebrochen.',
      network:
        'Der Server ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
      unexpected: 'Ein unerwarteter Fehler ist aufgetreten. Bitte versuchen Sie es erneut.',
    },
  },
};

/** The shell's messages. */
export const SHELL_MESSAGES: AreaMessages = { en, de };
