/**
 * The users area's messages, English and German (Sie-form), with identical keys. Keys are flat
 * (`portal.users.…`), so merging the areas' messages never overwrites another area's.
 *
 * @module
 */
import type { AreaMessages } from '../area.js';

const en: Record<string, string> = {
  'portal.users.menu.users': 'Users',
  'portal.users.menu.devices': 'Devices',
  'portal.users.loading': 'Loading',
  'portal.users.retry': 'Try again',
  'portal.users.cancel': 'Cancel',
  'portal.users.close': 'Close',
  'portal.users.never': 'never',
  'portal.users.backToList': 'Back to the users',

  'portal.users.field.id': 'User ID',
  'portal.users.field.displayName': 'Display name',
  'portal.users.field.email': 'E-mail address',
  'portal.users.field.pools': 'Pools',
  'portal.users.field.status': 'Status',
  'portal.users.field.devices': 'Devices',
  'portal.users.field.lastSeen': 'Last seen',
  'portal.users.field.created': 'Created',
  'portal.users.field.directory': 'Directory',

  'portal.users.status.active': 'Active',
  'portal.users.status.blocked': 'Blocked',
  'portal.users.status.never-enrolled': 'Never enrolled',

  'portal.users.role.owner': 'Owner',
  'portal.users.role.admin': 'Administrator',
  'portal.users.role.user-manager': 'User manager',
  'portal.users.role.auditor': 'Auditor',
  'portal.users.role.integration': 'Integration',

  'portal.users.directory.active': 'Managed by %{source} (active)',
  'portal.users.directory.disabled': 'Managed by %{source} (disabled there)',
  'portal.users.directory.left':
    'Managed by %{source} (left the directory: detach the user before unblocking)',

  'portal.users.filter.text': 'Search name, e-mail or ID',
  'portal.users.filter.status': 'Status',
  'portal.users.filter.pool': 'Pool',
  'portal.users.filter.domain': 'E-mail domain',
  'portal.users.filter.role': 'Role',
  'portal.users.filter.compliant': 'Policy compliance',
  'portal.users.filter.compliantYes': 'Compliant',
  'portal.users.filter.compliantNo': 'Not compliant',
  'portal.users.filter.inactiveDays': 'Inactive for at least (days)',
  'portal.users.filter.clientVersion': 'Client version starts with',
  'portal.users.filter.platform': 'Platform starts with',
  'portal.users.filter.appVersion': 'App version starts with',

  'portal.users.list.title': 'Users',
  'portal.users.list.invite': 'Invite user',
  'portal.users.list.emptyTitle': 'No users yet',
  'portal.users.list.empty': 'No users yet. Invite the first one with Invite user.',
  'portal.users.list.emptyReadOnly': 'No users yet. An administrator or user manager can invite them.',
  'portal.users.list.noMatch': 'No user matches these filters. Change or remove a filter.',
  'portal.users.list.selectRow': 'Select %{user}',

  'portal.users.bulk.action.block': 'Block',
  'portal.users.bulk.action.unblock': 'Unblock',
  'portal.users.bulk.action.invite': 'Invite again',
  'portal.users.bulk.action.move': 'Move to pool',
  'portal.users.bulk.action.delete': 'Delete',
  'portal.users.bulk.title': '%{action}: %{count} selected user(s)',
  'portal.users.bulk.moveHelp':
    'The selected users will belong to this pool only. Enter the pool, then check what would happen.',
  'portal.users.bulk.pool': 'Pool',
  'portal.users.bulk.dryRun': 'Check what would happen',
  'portal.users.bulk.planning': 'Checking what would happen…',
  'portal.users.bulk.dryRunTitle': 'Dry run: nothing has been changed yet',
  'portal.users.bulk.dryRunCounts':
    'Of %{total} item(s), %{change} would change, %{skipped} would be skipped and %{failed} would fail.',
  'portal.users.bulk.dryRunTable': 'What would happen to each user',
  'portal.users.bulk.nothingToDo': 'Nothing would change. Close this dialog or select other users.',
  'portal.users.bulk.deleteWarning':
    'Deleting removes these users and everything the server holds for them. This cannot be undone.',
  'portal.users.bulk.confirm': '%{action} %{count} user(s) now',
  'portal.users.bulk.progress': 'Progress: %{done} of %{total} (%{percent}%)',
  'portal.users.bulk.resultsTitle': 'Results',
  'portal.users.bulk.resultCounts': '%{ok} changed, %{skipped} skipped, %{failed} failed.',
  'portal.users.bulk.resultsTable': 'Result for each user',
  'portal.users.bulk.outcomeColumn': 'Outcome',
  'portal.users.bulk.reasonColumn': 'Reason',
  'portal.users.bulk.planOutcome.change': 'Would change',
  'portal.users.bulk.planOutcome.skipped': 'Would be skipped',
  'portal.users.bulk.planOutcome.failed': 'Would fail',
  'portal.users.bulk.outcome.pending': 'Pending',
  'portal.users.bulk.outcome.ok': 'Succeeded',
  'portal.users.bulk.outcome.skipped': 'Skipped',
  'portal.users.bulk.outcome.failed': 'Failed',
  'portal.users.bulk.more': 'and %{count} more (not listed here)',
  'portal.users.bulk.interrupted':
    'The job stopped before it finished. Open it again later from the jobs, or run the action again for the remaining users.',
  'portal.users.bulk.invitesTitle': 'New enrolment codes',
  'portal.users.bulk.inviteCode': 'Enrolment code for %{user}',

  'portal.users.reason.already-blocked': 'Already blocked',
  'portal.users.reason.not-blocked': 'Not blocked',
  'portal.users.reason.already-in-pool': 'Already in this pool',
  'portal.users.reason.user-blocked': 'The user is blocked: unblock first',
  'portal.users.reason.not-found': 'No such user (deleted or never created)',
  'portal.users.reason.pool-not-found': 'No such pool: create it first',
  'portal.users.reason.stale-sequence': 'Another wipe was published meanwhile: try again',
  'portal.users.reason.left-directory': 'The user left their directory: detach the user first',
  'portal.users.reason.other': 'Refused by the server',

  'portal.users.invite.title': 'Invite user',
  'portal.users.invite.formLabel': 'Invitation',
  'portal.users.invite.idHelp': 'The ID the person signs in with, e.g. their e-mail address or staff number.',
  'portal.users.invite.displayNameHelp': 'Shown to others; the ID when left empty.',
  'portal.users.invite.poolsHelp':
    'Pools the new user belongs to, separated by commas. The pools must exist.',
  'portal.users.invite.ttl.label': 'The code is valid for',
  'portal.users.invite.ttl.hour': '1 hour',
  'portal.users.invite.ttl.eightHours': '8 hours',
  'portal.users.invite.ttl.day': '1 day',
  'portal.users.invite.ttl.threeDays': '3 days',
  'portal.users.invite.ttl.week': '7 days',
  'portal.users.invite.ttl.month': '30 days',
  'portal.users.invite.uses': 'Devices that may enrol with the code',
  'portal.users.invite.usesHelp': 'From 1 to 100.',
  'portal.users.invite.managed': 'Managed device (MDM): make a managed configuration',
  'portal.users.invite.managedHelp':
    'A managed code is valid for one device and at most 72 hours. Push the configuration with your device management.',
  'portal.users.invite.submit': 'Create invitation',
  'portal.users.invite.submitAgain': 'Create a new code',

  'portal.users.code.title': 'Enrolment code for %{user}',
  'portal.users.code.label': 'Enrolment code',
  'portal.users.code.tokenLabel': 'Enrolment token',
  'portal.users.code.copy': 'Copy',
  'portal.users.code.copied': 'Copied to the clipboard.',
  'portal.users.code.copyFailed': 'Could not copy: select the text and copy it by hand.',
  'portal.users.code.qrAlt': 'QR code of the enrolment code for %{user}',
  'portal.users.code.expires': 'Valid until %{time}.',
  'portal.users.code.secret':
    'Give the code to the person only (in person or over a trusted channel). It is shown once.',
  'portal.users.code.rootVerified': 'Checked in this browser against the organisation root (%{fingerprint}).',
  'portal.users.code.rootNotVerified':
    'Not checked against the organisation root: this browser holds no signing key yet. Load your signing key to check codes.',
  'portal.users.code.noRoot':
    'The organisation has no root yet: this is a bare token. Set up the organisation root first.',
  'portal.users.code.managedTitle': 'Managed configuration',
  'portal.users.code.managedHelp':
    'Download it for your device management. It contains the enrolment token: keep it secret.',
  'portal.users.code.downloadPlist': 'Download for Apple (plist)',
  'portal.users.code.downloadAndroid': 'Download for Android (XML)',

  'portal.users.show.title': 'User %{user}',
  'portal.users.show.titleLoading': 'User %{user}',
  'portal.users.show.details': 'Details',
  'portal.users.show.noPools': 'No pool',
  'portal.users.show.notBlocked': 'Not blocked',
  'portal.users.show.block': 'Block user',
  'portal.users.show.unblock': 'Unblock user',
  'portal.users.show.blockTitle': 'Block %{user}?',
  'portal.users.show.blockText': 'All devices of this user are refused at once until you unblock the user.',
  'portal.users.show.blocked': '%{user} is blocked.',
  'portal.users.show.unblocked': '%{user} is unblocked.',
  'portal.users.show.inviteAgain': 'Invite again',
  'portal.users.show.inviteAgainTitle': 'New enrolment code for %{user}',
  'portal.users.show.delete': 'Delete user',
  'portal.users.show.deleteTitle': 'Delete %{user}?',
  'portal.users.show.deleteText':
    'The user and everything the server holds for them are deleted. This cannot be undone.',
  'portal.users.show.devices': 'Devices',
  'portal.users.show.noDevices': 'No device enrolled yet. Use Invite again to give the user a new code.',
  'portal.users.show.noDevicesReadOnly': 'No device enrolled yet.',
  'portal.users.show.deviceBlocked': 'Device %{device} is blocked.',
  'portal.users.show.deviceUnblocked': 'Device %{device} is unblocked.',
  'portal.users.show.wipeSent': 'The wipe of device %{device} is signed and published.',
  'portal.users.show.activity': 'Activity',

  'portal.users.device.id': 'Device',
  'portal.users.device.name': 'Device %{device}',
  'portal.users.device.state': 'State',
  'portal.users.device.active': 'Active',
  'portal.users.device.blocked': 'Blocked',
  'portal.users.device.enrolled': 'Enrolled',
  'portal.users.device.clientVersion': 'Client version',
  'portal.users.device.enrolledVia': 'Enrolled with',
  'portal.users.device.via.token': 'Enrolment code',
  'portal.users.device.via.managed': 'Managed configuration',
  'portal.users.device.wipe': 'Remote wipe',
  'portal.users.device.actions': 'Actions',
  'portal.users.device.blockButton': 'Block device %{device}',
  'portal.users.device.unblockButton': 'Unblock device %{device}',
  'portal.users.device.wipeButton': 'Wipe device %{device}',

  'portal.users.devices.title': 'Devices',
  'portal.users.devices.user': 'User',
  'portal.users.devices.userBlocked': 'User blocked',
  'portal.users.devices.empty': 'No device has enrolled yet. Invite users under Users.',

  'portal.users.wipe.title': 'Wipe device %{device} of %{user}?',
  'portal.users.wipe.text':
    'The device deletes its keys and messages when it next connects, and reports back. The device is blocked at once. This cannot be undone.',
  'portal.users.wipe.confirm': 'Wipe now',
  'portal.users.wipe.pending': 'Wipe pending: waiting for the device',
  'portal.users.wipe.confirmed': 'Wipe confirmed (%{time})',

  'portal.users.activity.enrolled': 'Enrolled since',
  'portal.users.activity.pending': 'Waiting for delivery',
  'portal.users.activity.pendingValue': '%{envelopes} message(s), %{kib} KiB',
  'portal.users.activity.privacy': 'The activity shows no message content and no contacts.',

  'portal.users.error.validation': 'Please check the field “%{field}” and try again.',
  'portal.users.error.forbidden': 'Your role does not allow this. Ask an owner or administrator.',
  'portal.users.error.unauthenticated': 'Your session has ended. Please sign in again.',
  'portal.users.error.notFound': 'It no longer exists. Reload the page.',
  'portal.users.error.conflict':
    'This conflicts with a change made meanwhile. Reload the page and try again.',
  'portal.users.error.sequence': 'Another signed object was published meanwhile. Please try again.',
  'portal.users.error.rateLimited': 'Too many requests. Please wait %{seconds} seconds and try again.',
  'portal.users.error.limit':
    'A limit was reached (too many items or too large). Select fewer and try again.',
  'portal.users.error.invalidKey':
    'The server named another organisation root than the one your signing key belongs to. Do not hand out this code; tell your security officer.',
  'portal.users.error.cancelled': 'Cancelled. Nothing was changed.',
  'portal.users.error.network': 'The server cannot be reached. Check the connection and try again.',
  'portal.users.error.unexpected': 'An unexpected error occurred. Please try again.',
};

const de: Record<string, string> = {
  'portal.users.menu.users': 'Benutzer',
  'portal.users.menu.devices': 'Geräte',
  'portal.users.loading': 'Wird geladen',
  'portal.users.retry': 'Erneut versuchen',
  'portal.users.cancel': 'Abbrechen',
  'portal.users.close': 'Schließen',
  'portal.users.never': 'nie',
  'portal.users.backToList': 'Zurück zu den Benutzern',

  'portal.users.field.id': 'Benutzerkennung',
  'portal.users.field.displayName': 'Anzeigename',
  'portal.users.field.email': 'E-Mail-Adresse',
  'portal.users.field.pools': 'Pools',
  'portal.users.field.status': 'Status',
  'portal.users.field.devices': 'Geräte',
  'portal.users.field.lastSeen': 'Zuletzt gesehen',
  'portal.users.field.created': 'Angelegt',
  'portal.users.field.directory': 'Verzeichnis',

  'portal.users.status.active': 'Aktiv',
  'portal.users.status.blocked': 'Gesperrt',
  'portal.users.status.never-enrolled': 'Nie registriert',

  'portal.users.role.owner': 'Eigentümer',
  'portal.users.role.admin': 'Administrator',
  'portal.users.role.user-manager': 'Benutzerverwalter',
  'portal.users.role.auditor': 'Prüfer',
  'portal.users.role.integration': 'Integration',

  'portal.users.directory.active': 'Verwaltet durch %{source} (aktiv)',
  'portal.users.directory.disabled': 'Verwaltet durch %{source} (dort deaktiviert)',
  'portal.users.directory.left':
    'Verwaltet durch %{source} (aus dem Verzeichnis entfernt: lösen Sie den Benutzer vor dem Entsperren vom Verzeichnis)',

  'portal.users.filter.text': 'Name, E-Mail oder Kennung suchen',
  'portal.users.filter.status': 'Status',
  'portal.users.filter.pool': 'Pool',
  'portal.users.filter.domain': 'E-Mail-Domain',
  'portal.users.filter.role': 'Rolle',
  'portal.users.filter.compliant': 'Richtlinienkonformität',
  'portal.users.filter.compliantYes': 'Konform',
  'portal.users.filter.compliantNo': 'Nicht konform',
  'portal.users.filter.inactiveDays': 'Inaktiv seit mindestens (Tagen)',
  'portal.users.filter.clientVersion': 'Client-Version beginnt mit',
  'portal.users.filter.platform': 'Plattform beginnt mit',
  'portal.users.filter.appVersion': 'App-Version beginnt mit',

  'portal.users.list.title': 'Benutzer',
  'portal.users.list.invite': 'Benutzer einladen',
  'portal.users.list.emptyTitle': 'Noch keine Benutzer',
  'portal.users.list.empty': 'Es gibt noch keine Benutzer. Laden Sie den ersten mit „Benutzer einladen“ ein.',
  'portal.users.list.emptyReadOnly':
    'Es gibt noch keine Benutzer. Ein Administrator oder Benutzerverwalter kann sie einladen.',
  'portal.users.list.noMatch':
    'Kein Benutzer entspricht diesen Filtern. Ändern oder entfernen Sie einen Filter.',
  'portal.users.list.selectRow': '%{user} auswählen',

  'portal.users.bulk.action.block': 'Sperren',
  'portal.users.bulk.action.unblock': 'Entsperren',
  'portal.users.bulk.action.invite': 'Erneut einladen',
  'portal.users.bulk.action.move': 'In Pool verschieben',
  'portal.users.bulk.action.delete': 'Löschen',
  'portal.users.bulk.title': '%{action}: %{count} ausgewählte(r) Benutzer',
  'portal.users.bulk.moveHelp':
    'Die ausgewählten Benutzer gehören danach nur noch diesem Pool an. Geben Sie den Pool ein und prüfen Sie dann, was geschehen würde.',
  'portal.users.bulk.pool': 'Pool',
  'portal.users.bulk.dryRun': 'Prüfen, was geschehen würde',
  'portal.users.bulk.planning': 'Es wird geprüft, was geschehen würde …',
  'portal.users.bulk.dryRunTitle': 'Probelauf: Es wurde noch nichts geändert',
  'portal.users.bulk.dryRunCounts':
    'Von %{total} Einträgen würden %{change} geändert, %{skipped} übersprungen und bei %{failed} würde es fehlschlagen.',
  'portal.users.bulk.dryRunTable': 'Was mit jedem Benutzer geschehen würde',
  'portal.users.bulk.nothingToDo':
    'Es würde sich nichts ändern. Schließen Sie diesen Dialog oder wählen Sie andere Benutzer aus.',
  'portal.users.bulk.deleteWarning':
    'Beim Löschen werden diese Benutzer und alle Daten, die der Server zu ihnen hält, entfernt. Dies kann nicht rückgängig gemacht werden.',
  'portal.users.bulk.confirm': '%{action}: %{count} Benutzer jetzt ausführen',
  'portal.users.bulk.progress': 'Fortschritt: %{done} von %{total} (%{percent} %)',
  'portal.users.bulk.resultsTitle': 'Ergebnisse',
  'portal.users.bulk.resultCounts': '%{ok} geändert, %{skipped} übersprungen, %{failed} fehlgeschlagen.',
  'portal.users.bulk.resultsTable': 'Ergebnis für jeden Benutzer',
  'portal.users.bulk.outcomeColumn': 'Ergebnis',
  'portal.users.bulk.reasonColumn': 'Grund',
  'portal.users.bulk.planOutcome.change': 'Würde geändert',
  'portal.users.bulk.planOutcome.skipped': 'Würde übersprungen',
  'portal.users.bulk.planOutcome.failed': 'Würde fehlschlagen',
  'portal.users.bulk.outcome.pending': 'Ausstehend',
  'portal.users.bulk.outcome.ok': 'Erfolgreich',
  'portal.users.bulk.outcome.skipped': 'Übersprungen',
  'portal.users.bulk.outcome.failed': 'Fehlgeschlagen',
  'portal.users.bulk.more': 'und %{count} weitere (hier nicht aufgeführt)',
  'portal.users.bulk.interrupted':
    'Der Auftrag wurde vor seinem Abschluss unterbrochen. Führen Sie die Aktion für die verbleibenden Benutzer später erneut aus.',
  'portal.users.bulk.invitesTitle': 'Neue Registrierungscodes',
  'portal.users.bulk.inviteCode': 'Registrierungscode für %{user}',

  'portal.users.reason.already-blocked': 'Bereits gesperrt',
  'portal.users.reason.not-blocked': 'Nicht gesperrt',
  'portal.users.reason.already-in-pool': 'Bereits in diesem Pool',
  'portal.users.reason.user-blocked': 'Der Benutzer ist gesperrt: Entsperren Sie ihn zuerst',
  'portal.users.reason.not-found': 'Benutzer nicht vorhanden (gelöscht oder nie angelegt)',
  'portal.users.reason.pool-not-found': 'Pool nicht vorhanden: Legen Sie ihn zuerst an',
  'portal.users.reason.stale-sequence':
    'Zwischenzeitlich wurde eine andere Löschung veröffentlicht: Bitte versuchen Sie es erneut',
  'portal.users.reason.left-directory':
    'Der Benutzer wurde aus seinem Verzeichnis entfernt: Lösen Sie ihn zuerst vom Verzeichnis',
  'portal.users.reason.other': 'Vom Server abgelehnt',

  'portal.users.invite.title': 'Benutzer einladen',
  'portal.users.invite.formLabel': 'Einladung',
  'portal.users.invite.idHelp':
    'Die Kennung, mit der sich die Person anmeldet, z. B. ihre E-Mail-Adresse oder Personalnummer.',
  'portal.users.invite.displayNameHelp': 'Für andere sichtbar; leer gelassen wird die Kennung angezeigt.',
  'portal.users.invite.poolsHelp':
    'Pools, denen der neue Benutzer angehört, durch Kommas getrennt. Die Pools müssen bereits bestehen.',
  'portal.users.invite.ttl.label': 'Der Code ist gültig für',
  'portal.users.invite.ttl.hour': '1 Stunde',
  'portal.users.invite.ttl.eightHours': '8 Stunden',
  'portal.users.invite.ttl.day': '1 Tag',
  'portal.users.invite.ttl.threeDays': '3 Tage',
  'portal.users.invite.ttl.week': '7 Tage',
  'portal.users.invite.ttl.month': '30 Tage',
  'portal.users.invite.uses': 'Anzahl Geräte, die sich mit dem Code registrieren dürfen',
  'portal.users.invite.usesHelp': 'Von 1 bis 100.',
  'portal.users.invite.managed': 'Verwaltetes Gerät (MDM): verwaltete Konfiguration erstellen',
  'portal.users.invite.managedHelp':
    'Ein verwalteter Code gilt für ein Gerät und höchstens 72 Stunden. Verteilen Sie die Konfiguration über Ihre Geräteverwaltung.',
  'portal.users.invite.submit': 'Einladung erstellen',
  'portal.users.invite.submitAgain': 'Neuen Code erstellen',

  'portal.users.code.title': 'Registrierungscode für %{user}',
  'portal.users.code.label': 'Registrierungscode',
  'portal.users.code.tokenLabel': 'Registrierungstoken',
  'portal.users.code.copy': 'Kopieren',
  'portal.users.code.copied': 'In die Zwischenablage kopiert.',
  'portal.users.code.copyFailed':
    'Kopieren nicht möglich: Markieren Sie den Text und kopieren Sie ihn von Hand.',
  'portal.users.code.qrAlt': 'QR-Code des Registrierungscodes für %{user}',
  'portal.users.code.expires': 'Gültig bis %{time}.',
  'portal.users.code.secret':
    'Geben Sie den Code nur der Person selbst (persönlich oder über einen vertrauenswürdigen Weg). Er wird nur einmal angezeigt.',
  'portal.users.code.rootVerified':
    'In diesem Browser gegen die Wurzel der Organisation geprüft (%{fingerprint}).',
  'portal.users.code.rootNotVerified':
    'Nicht gegen die Wurzel der Organisation geprüft: Dieser Browser hält noch keinen Signaturschlüssel. Laden Sie Ihren Signaturschlüssel, um Codes zu prüfen.',
  'portal.users.code.noRoot':
    'Die Organisation hat noch keine Wurzel: Dies ist ein bloßes Token. Richten Sie zuerst die Wurzel der Organisation ein.',
  'portal.users.code.managedTitle': 'Verwaltete Konfiguration',
  'portal.users.code.managedHelp':
    'Laden Sie sie für Ihre Geräteverwaltung herunter. Sie enthält das Registrierungstoken: Halten Sie sie geheim.',
  'portal.users.code.downloadPlist': 'Für Apple herunterladen (plist)',
  'portal.users.code.downloadAndroid': 'Für Android herunterladen (XML)',

  'portal.users.show.title': 'Benutzer %{user}',
  'portal.users.show.titleLoading': 'Benutzer %{user}',
  'portal.users.show.details': 'Angaben',
  'portal.users.show.noPools': 'Kein Pool',
  'portal.users.show.notBlocked': 'Nicht gesperrt',
  'portal.users.show.block': 'Benutzer sperren',
  'portal.users.show.unblock': 'Benutzer entsperren',
  'portal.users.show.blockTitle': '%{user} sperren?',
  'portal.users.show.blockText':
    'Alle Geräte dieses Benutzers werden sofort abgewiesen, bis Sie den Benutzer wieder entsperren.',
  'portal.users.show.blocked': '%{user} ist gesperrt.',
  'portal.users.show.unblocked': '%{user} ist entsperrt.',
  'portal.users.show.inviteAgain': 'Erneut einladen',
  'portal.users.show.inviteAgainTitle': 'Neuer Registrierungscode für %{user}',
  'portal.users.show.delete': 'Benutzer löschen',
  'portal.users.show.deleteTitle': '%{user} löschen?',
  'portal.users.show.deleteText':
    'Der Benutzer und alle Daten, die der Server zu ihm hält, werden gelöscht. Dies kann nicht rückgängig gemacht werden.',
  'portal.users.show.devices': 'Geräte',
  'portal.users.show.noDevices':
    'Noch kein Gerät registriert. Geben Sie dem Benutzer mit „Erneut einladen“ einen neuen Code.',
  'portal.users.show.noDevicesReadOnly': 'Noch kein Gerät registriert.',
  'portal.users.show.deviceBlocked': 'Gerät %{device} ist gesperrt.',
  'portal.users.show.deviceUnblocked': 'Gerät %{device} ist entsperrt.',
  'portal.users.show.wipeSent': 'Die Fernlöschung von Gerät %{device} ist signiert und veröffentlicht.',
  'portal.users.show.activity': 'Aktivität',

  'portal.users.device.id': 'Gerät',
  'portal.users.device.name': 'Gerät %{device}',
  'portal.users.device.state': 'Zustand',
  'portal.users.device.active': 'Aktiv',
  'portal.users.device.blocked': 'Gesperrt',
  'portal.users.device.enrolled': 'Registriert',
  'portal.users.device.clientVersion': 'Client-Version',
  'portal.users.device.enrolledVia': 'Registriert mit',
  'portal.users.device.via.token': 'Registrierungscode',
  'portal.users.device.via.managed': 'Verwaltete Konfiguration',
  'portal.users.device.wipe': 'Fernlöschung',
  'portal.users.device.actions': 'Aktionen',
  'portal.users.device.blockButton': 'Gerät %{device} sperren',
  'portal.users.device.unblockButton': 'Gerät %{device} entsperren',
  'portal.users.device.wipeButton': 'Gerät %{device} fernlöschen',

  'portal.users.devices.title': 'Geräte',
  'portal.users.devices.user': 'Benutzer',
  'portal.users.devices.userBlocked': 'Benutzer gesperrt',
  'portal.users.devices.empty':
    'Es hat sich noch kein Gerät registriert. Laden Sie Benutzer unter „Benutzer“ ein.',

  'portal.users.wipe.title': 'Gerät %{device} von %{user} fernlöschen?',
  'portal.users.wipe.text':
    'Das Gerät löscht seine Schlüssel und Nachrichten, sobald es sich das nächste Mal verbindet, und meldet dies zurück. Das Gerät wird sofort gesperrt. Dies kann nicht rückgängig gemacht werden.',
  'portal.users.wipe.confirm': 'Jetzt fernlöschen',
  'portal.users.wipe.pending': 'Löschung ausstehend: Warten auf das Gerät',
  'portal.users.wipe.confirmed': 'Löschung bestätigt (%{time})',

  'portal.users.activity.enrolled': 'Registriert seit',
  'portal.users.activity.pending': 'Zur Zustellung wartend',
  'portal.users.activity.pendingValue': '%{envelopes} Nachricht(en), %{kib} KiB',
  'portal.users.activity.privacy': 'Die Aktivität zeigt keine Nachrichteninhalte und keine Kontakte.',

  'portal.users.error.validation': 'Bitte prüfen Sie das Feld „%{field}“ und versuchen Sie es erneut.',
  'portal.users.error.forbidden':
    'Ihre Rolle erlaubt dies nicht. Wenden Sie sich an einen Eigentümer oder Administrator.',
  'portal.users.error.unauthenticated': 'Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an.',
  'portal.users.error.notFound': 'Dies besteht nicht mehr. Laden Sie die Seite neu.',
  'portal.users.error.conflict':
    'Dies steht im Konflikt mit einer zwischenzeitlichen Änderung. Laden Sie die Seite neu und versuchen Sie es erneut.',
  'portal.users.error.sequence':
    'Zwischenzeitlich wurde ein anderes signiertes Objekt veröffentlicht. Bitte versuchen Sie es erneut.',
  'portal.users.error.rateLimited':
    'Zu viele Anfragen. Bitte warten Sie %{seconds} Sekunden und versuchen Sie es dann erneut.',
  'portal.users.error.limit':
    'Eine Grenze wurde erreicht (zu viele Einträge oder zu groß). Wählen Sie weniger aus und versuchen Sie es erneut.',
  'portal.users.error.invalidKey':
    'Der Server nennt eine andere Wurzel der Organisation als die, zu der Ihr Signaturschlüssel gehört. Geben Sie diesen Code nicht weiter und informieren Sie Ihre Sicherheitsbeauftragte oder Ihren Sicherheitsbeauftragten.',
  'portal.users.error.cancelled': 'Abgebrochen. Es wurde nichts geändert.',
  'portal.users.error.network':
    'Der Server ist nicht erreichbar. Prüfen Sie die Verbindung und versuchen Sie es erneut.',
  'portal.users.error.unexpected': 'Ein unerwarteter Fehler ist aufgetreten. Bitte versuchen Sie es erneut.',
};

/** The users area's messages. */
export const usersMessages: AreaMessages = { en, de };
