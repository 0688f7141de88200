/**
 * The system part of the demo, through the admin SDK and the client SDK: a server on its embedded
 * database (PGlite in a temporary directory); the operator creates the tenant and its owner
 * through the admin API; the owner signs in with password and TOTP, creates the organisation root
 * on their side and invites the users (enrolment codes that carry the root's fingerprint); three
 * users (Alice on two devices), 1:1 messages in v2 and in static-v1, a group, a 10 MiB file with
 * progress, a disappearing message, delivery and read receipts, a safety number, and a remote wipe
 * signed on the owner's side.
 *
 *   npx tsx --conditions=@cloister/source examples/demo-system.ts
 *
 * The clients wrap their data key under scrypt at the lowest accepted cost (`PIN_SCRYPT_FLOOR`) so
 * that the demo runs in seconds; a real app keeps the default cost.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AdminClient,
  type AdminSigningKey,
  generateOrganisation,
  type OrganisationSigner,
  sealSigningKey,
  signDelegation,
  signWipe,
} from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import {
  type ClientEvent,
  type ClientMessage,
  type ClientStatus,
  type CloisterClient,
  createClient,
  directConversationId,
  type TransferProgress,
} from '@cloister/client';
import { getProvider, PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import type { Suite } from '@cloister/protocol';
import { tenantId } from '@cloister/protocol';
import { type CloisterServer, createServer, type ServerOptions } from '@cloister/server';
import { createMemoryAdapter, type StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter } from '@cloister/storage/sql';
import { URI as OtpUri, TOTP } from 'otpauth';

/** Prints one numbered step of the demo. */
export type Say = (title: string, ...lines: string[]) => void;

/** Receives file-transfer progress (`label` names the transfer). */
export type ProgressSink = (label: string, progress: TransferProgress) => void;

/** The PIN every demo device uses. */
export const DEMO_PIN = '2468-1357';

/** The demo tenant. */
export const DEMO_TENANT = tenantId('acme');

/**
 * A server in this process with one tenant, and a way to enrol clients against it.
 *
 * @example
 * ```ts
 * const system = await startLocalSystem();
 * const alice = await system.client('alice');
 * await alice.sendText({ user: 'bob' }, 'hi');
 * await system.close();
 * ```
 */
export interface LocalSystem {
  readonly server: CloisterServer;
  readonly url: string;
  /** How the organisation was set up through the admin API (for the demo's report). */
  readonly admin: AdminSetup;
  /** The owner's admin-API client (signed in, holding the root locally) and signer. */
  readonly owner: OrganisationSigner;
  /** How a person signs in to the portal as the owner, and the owner's key for the browser. */
  readonly ownerSignIn: OwnerSignIn;
  /** An enrolment code (token and root fingerprint) for `user`, good for `maxUses` devices. */
  token(user: string, maxUses?: number): Promise<string>;
  /**
   * Creates a client on `storage` (default: a memory adapter), enrols it with `token` (default: a
   * fresh token for `user`) and starts it.
   */
  client(
    user: string,
    options?: { readonly suites?: Suite[]; readonly storage?: StorageAdapter; readonly token?: string },
  ): Promise<CloisterClient>;
  /** A fresh directory under the system's temporary directory. */
  dir(name: string): string;
  close(): Promise<void>;
}

/**
 * The owner's sign-in for the admin portal (or `cloister admin login`), and their signing key as
 * the key store text the portal imports.
 */
export interface OwnerSignIn {
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  /**
   * The owner's TOTP (`otpauth://…`, what the enrolment QR code holds). The set-up signed in with
   * the code of one time step: a sign-in must use the code of a later step (the server refuses a
   * step used before).
   */
  readonly totpUri: string;
  /** The owner's recovery codes (each works once, in place of a TOTP code). */
  readonly recoveryCodes: readonly string[];
  /**
   * `sealSigningKey(provider, org.owner, signingKeyPassphrase)`: the owner's signing key and
   * certificate, the key wrapped under the passphrase (at the lowest accepted scrypt cost, so that
   * a browser imports it in a moment; a real key store keeps the default cost).
   */
  readonly signingKeyJson: string;
  readonly signingKeyPassphrase: string;
}

/** What the admin API did to set the organisation up. */
export interface AdminSetup {
  /** The owner's administrator id and the role the session reports. */
  readonly owner: string;
  readonly role: string;
  /** How many recovery codes the owner was shown (once). */
  readonly recoveryCodes: number;
  /** The organisation root's fingerprint, computed on the owner's side and confirmed by the server. */
  readonly rootFingerprint: string;
  /** Until when the server may issue sender certificates (the owner's signed delegation). */
  readonly delegatedUntil: number;
}

/** The e-mail address the demo's owner signs in with. */
const OWNER_EMAIL = 'olivia@acme.example';

/** The password of the demo's owner (a real one comes from the person). */
const OWNER_PASSWORD = 'correct horse battery staple';

/** What an authenticator app shows for `totpUri` now. */
function authenticatorCode(totpUri: string): string {
  const otp = OtpUri.parse(totpUri);
  if (!(otp instanceof TOTP)) throw new Error('the owner was given a TOTP enrolment');
  return otp.generate();
}

/**
 * Starts a server on PGlite in a temporary directory and sets the organisation up through the
 * admin API, as its people would: the operator creates the tenant `acme` with its owner; the owner
 * signs in with password and TOTP, generates the organisation root on their side, registers it and
 * delegates sender certificates to the server for a week. Returns helpers to invite and enrol
 * clients (PIN wrap at `PIN_SCRYPT_FLOOR`). `options.server` adds a local certificate authority,
 * web apps or the admin portal to the server. `ownerSignIn` is how a person (or a browser test)
 * signs in to the portal as the owner.
 *
 * @example
 * ```ts
 * const system = await startLocalSystem();
 * const bob = await system.client('bob');
 * ```
 */
export async function startLocalSystem(
  options: { readonly server?: Pick<ServerOptions, 'localCa' | 'webApps' | 'portal'> } = {},
): Promise<LocalSystem> {
  const root = mkdtempSync(join(tmpdir(), 'cloister-demo-'));
  const operatorToken = randomBytes(32).toString('base64url');
  const server = await createServer({
    ...options.server,
    dataDir: join(root, 'server'),
    logLevel: 'silent',
    operatorToken,
  });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  const provider = await getProvider();
  const transport = pinnedTransport({ url, pin: server.pin });

  // The operator: creates the tenant and its first owner (the only thing it does).
  const operator = new AdminClient({
    transport,
    provider,
    credential: { kind: 'operator', token: operatorToken },
  });
  const created = await operator.createTenant({
    id: DEMO_TENANT,
    name: 'ACME Hospital',
    domains: ['acme.example'],
    owner: { email: OWNER_EMAIL, name: 'Olivia (owner)', password: OWNER_PASSWORD },
  });

  // The owner: password and the authenticator's code (the TOTP URI is what the QR code holds).
  const { client: session, session: login } = await AdminClient.login(
    { transport, provider },
    {
      tenant: DEMO_TENANT,
      email: OWNER_EMAIL,
      password: OWNER_PASSWORD,
      totp: authenticatorCode(created.owner.totpUri),
    },
  );
  const me = await session.whoami();
  // On the owner's machine: the root and the owner's signing key it certifies; the server gets the
  // public half only. The session's second factor is fresh, as registering the root requires.
  const org = await generateOrganisation(provider, { tenant: DEMO_TENANT, admin: login.admin });
  const registered = await session.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
  const admin = new AdminClient({
    transport,
    provider,
    organisationRoot: org.root.publicKey,
    credential: { kind: 'session', token: login.token },
  });
  const key: AdminSigningKey = org.owner;
  // The owner's key for the portal, sealed while the key is whole (it stays in use for `owner`).
  const signingKeyPassphrase = randomBytes(12).toString('base64url');
  const signingKeyJson = await sealSigningKey(provider, key, signingKeyPassphrase, {
    scrypt: PIN_SCRYPT_FLOOR,
  });
  const owner: OrganisationSigner = { provider, key, client: admin };
  await signDelegation(owner);
  const state = await admin.getOrganisation();
  org.root.privateKey.fill(0);

  const clients: CloisterClient[] = [];
  const token = async (user: string, maxUses = 1) => {
    const invite = await admin.inviteUser({ user, uses: maxUses });
    if (invite.enrolmentCode === null) throw new Error('the tenant has an organisation root');
    return invite.enrolmentCode;
  };
  let dirs = 0;
  return {
    server,
    url,
    admin: {
      owner: login.admin,
      role: me.role,
      recoveryCodes: created.owner.recoveryCodes.length,
      rootFingerprint: registered.fingerprint,
      delegatedUntil: state.delegation?.notAfterMs ?? 0,
    },
    owner,
    ownerSignIn: {
      tenant: DEMO_TENANT,
      email: OWNER_EMAIL,
      password: OWNER_PASSWORD,
      totpUri: created.owner.totpUri,
      recoveryCodes: [...created.owner.recoveryCodes],
      signingKeyJson,
      signingKeyPassphrase,
    },
    token,
    dir(name) {
      dirs += 1;
      return join(root, `${dirs}-${name}`);
    },
    async client(user, options = {}) {
      const client = await createClient({
        server: { url, pin: server.pin },
        storage: options.storage ?? createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        ...(options.suites === undefined ? {} : { suites: options.suites }),
      });
      clients.push(client);
      await client.enroll(options.token ?? (await token(user)), { pin: DEMO_PIN });
      await client.start();
      return client;
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Resolves with the next event of `type` matching `match`; rejects after `ms`. */
export function nextEvent<E extends ClientEvent['type']>(
  client: CloisterClient,
  type: E,
  match: (e: Extract<ClientEvent, { type: E }>) => boolean = () => true,
  ms = 15_000,
): Promise<Extract<ClientEvent, { type: E }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

function textOf(m: ClientMessage): string {
  return m.content.body.type === 'text' ? m.content.body.text : `(${m.content.body.type})`;
}

/** Resolves with the next incoming text message whose text is `text`. */
function incoming(client: CloisterClient, text: string): Promise<ClientMessage> {
  return nextEvent(client, 'message', (e) => textOf(e.message) === text).then((e) => e.message);
}

/** What {@link runSystemDemo} observed. */
export interface SystemDemoReport {
  /** What Bob read from Alice (v2). */
  readonly bobRead: string;
  /** What Alice's second device got as the copy of her own message. */
  readonly aliceSecondDeviceCopy: string;
  /** What both of Alice's devices read from Bob's answer. */
  readonly aliceDevicesRead: readonly string[];
  /** What Carol (static-v1 only) read, and what Alice read back from her. */
  readonly carolRead: string;
  readonly aliceReadFromCarol: string;
  /** What each member read from the group, by user. */
  readonly groupRead: Readonly<Record<string, string>>;
  /** Whether Bob's download of the file equals what Alice sent, and its size. */
  readonly fileIntact: boolean;
  readonly fileBytes: number;
  /** Receipts Alice got for her first message. */
  readonly receipts: readonly ('delivered' | 'read')[];
  /** The disappearing message: in Bob's history before, rows purged, in his history after. */
  readonly disappearing: { readonly before: boolean; readonly purged: number; readonly after: boolean };
  /** Whether Alice and Bob computed the same safety number, and Bob's verification of it. */
  readonly safetyNumbersMatch: boolean;
  readonly safetyNumberVerified: boolean;
  /** Alice's second device: not on her signed list after enrolment, on it once her first device linked it. */
  readonly linking: { readonly before: boolean; readonly after: boolean; readonly epoch: number };
  /**
   * The operator's device for Alice (a new chain of lists it started): its message to Bob is held,
   * not shown as Alice's, and Bob's sending to Alice stops, because Bob verified Alice.
   */
  readonly heldIdentity: {
    readonly held: boolean;
    readonly shownToBob: boolean;
    readonly quarantined: number;
    readonly sendingRefused: string;
  };
  /** How the organisation was set up through the admin API. */
  readonly admin: AdminSetup;
  /** The remote wipe of Bob's device. */
  readonly wipe: {
    readonly clientWiped: boolean;
    readonly reported: boolean;
    readonly serverState: string;
    readonly reopenedStatus: ClientStatus;
    readonly unlockRefused: boolean;
  };
}

/** Options of {@link runSystemDemo}. */
export interface SystemDemoOptions {
  readonly say: Say;
  /** File-transfer progress (default: none). */
  readonly progress?: ProgressSink;
  /** Size of the file sent (default 10 MiB). */
  readonly fileBytes?: number;
  /** The disappearing-message timer in seconds (default 2). */
  readonly disappearSeconds?: number;
}

/**
 * Runs the whole system in this process and reports what happened; every step is printed with
 * `say`. Everything it creates lives in a temporary directory removed at the end.
 *
 * @example
 * ```ts
 * const report = await runSystemDemo({ say: (title, ...lines) => console.log(title, ...lines) });
 * console.log(report.bobRead);
 * ```
 */
export async function runSystemDemo(options: SystemDemoOptions): Promise<SystemDemoReport> {
  const { say } = options;
  const fileBytes = options.fileBytes ?? 10 * 1024 * 1024;
  const disappearSeconds = options.disappearSeconds ?? 2;
  const system = await startLocalSystem();
  try {
    say(
      'Server: started on its embedded database (PGlite in a temporary directory), HTTPS with a pinned key',
      `listening on ${system.url}`,
      `key pin the clients check on every connection: ${system.server.pin}`,
    );

    const aliceToken = await system.token('alice', 2);
    const bobToken = await system.token('bob');
    const carolToken = await system.token('carol');
    const a = system.admin;
    say(
      `Admin API: the operator creates tenant "${DEMO_TENANT}" and its owner; the owner signs in with password and TOTP`,
      `owner ${a.owner} (role ${a.role}), shown a TOTP enrolment (QR code) and ${a.recoveryCodes} recovery codes once`,
      `the owner generates the organisation root on their machine: ${a.rootFingerprint}`,
      `the server holds its public key only; the owner's signed delegation lets the server issue sender certificates until ${new Date(a.delegatedUntil).toISOString()}`,
    );
    say(
      'Admin API: the owner invites alice, bob and carol',
      'alice: one enrolment code good for two devices; bob and carol: a single-use code each',
      `each code is the 43-character token (shown once, stored only as a hash, expiring in 7 days) and the root's fingerprint: ${aliceToken.slice(0, 12)}….${aliceToken.slice(44, 56)}…`,
      'the devices pin the root from the code, so the server cannot substitute another one',
    );

    const alice = await system.client('alice', { token: aliceToken });
    const alice2 = await system.client('alice', { token: aliceToken });
    const bobDir = system.dir('bob');
    const bob = await system.client('bob', {
      token: bobToken,
      storage: await createPGliteAdapter({ dataDir: bobDir }),
    });
    const carol = await system.client('carol', { token: carolToken, suites: ['static-v1'] });
    // Alice's second device: enrolled by the server, but on her signed device list only once her
    // first device links it (the server cannot add a device to the list).
    const linkedBefore = (await alice2.linkStatus()).linked;
    const linkCode = await alice2.linkCode();
    const linkedEvent = nextEvent(alice2, 'device-linked');
    const linkedList = await alice.linkDevice(linkCode);
    const linkedAfter = (await alice2.linkStatus()).linked;
    await linkedEvent;
    say(
      "Device linking: alice's second device is enrolled but receives nothing until she links it",
      `on alice's signed device list after enrolment: ${linkedBefore}; it shows the link code ${linkCode}`,
      `alice's first device checks the code against the enrolled device's keys and signs list epoch ${linkedList.epoch} (devices ${linkedList.devices.join(', ')})`,
      `on the list now: ${linkedAfter}; peers and alice's devices see device-added, and the safety number covers both devices`,
    );
    say(
      'Devices: the SDK enrols each with its token, publishes prekeys and connects',
      `alice: devices ${alice.me.deviceId} and ${alice2.me.deviceId} (memory storage)`,
      `bob:   device ${bob.me.deviceId} (encrypted store on PGlite in its own directory)`,
      `carol: device ${carol.me.deviceId}, configured with suites ['static-v1'] only`,
      `local data keys are wrapped under scrypt(PIN) at the lowest accepted cost (N=2^${Math.log2(PIN_SCRYPT_FLOOR.N)}) to keep the demo fast`,
    );

    // 1:1 in v2, with the copy to Alice's other device and the receipts.
    const hello = 'Ward 3 handover at 18:00: bed 12 needs a new line.';
    const bobGets = incoming(bob, hello);
    const copyGets = incoming(alice2, hello);
    const receipts: ('delivered' | 'read')[] = [];
    const onReceipt = alice.on('receipt', (e) => receipts.push(e.kind));
    const sent = await alice.sendText({ user: 'bob' }, hello);
    const delivered = nextEvent(
      alice,
      'receipt',
      (e) => e.kind === 'delivered' && e.messageIds.includes(sent.id),
    );
    const bobMessage = await bobGets;
    const copy = await copyGets;
    await delivered;
    say(
      'v2: alice -> bob (sealed sender, hybrid X25519 + ML-KEM-768 session)',
      `bob reads: "${textOf(bobMessage)}" from ${bobMessage.from.userId}, device ${bobMessage.from.deviceId}`,
      `alice's second device gets the copy: "${textOf(copy)}" (outgoing: ${copy.outgoing})`,
      `alice gets a delivery receipt: message status ${(await alice.history(directConversationId('bob'))).items[0]?.status}`,
    );
    const read = nextEvent(alice, 'receipt', (e) => e.kind === 'read' && e.messageIds.includes(sent.id));
    await bob.markRead(bobMessage.conversationId, [bobMessage.id]);
    await read;
    say(
      'Read receipt: bob marks it read',
      `alice's status for it now: ${(await alice.history(directConversationId('bob'))).items[0]?.status}`,
    );

    const answer = 'Noted, I will take bed 12.';
    const toAlice1 = incoming(alice, answer);
    const toAlice2 = incoming(alice2, answer);
    await bob.sendText({ user: 'alice' }, answer);
    const aliceDevicesRead = [textOf(await toAlice1), textOf(await toAlice2)];
    say(
      'bob answers: both of alice’s devices receive it',
      ...aliceDevicesRead.map((t, i) => `alice device ${i + 1}: "${t}"`),
    );

    // 1:1 with carol, who supports static-v1 only.
    const toCarol = 'Carol, the night rota is attached to the board.';
    const carolGets = incoming(carol, toCarol);
    await alice.sendText({ user: 'carol' }, toCarol);
    const carolRead = textOf(await carolGets);
    const fromCarol = 'Thanks, seen it.';
    const aliceGets = incoming(alice, fromCarol);
    await carol.sendText({ user: 'alice' }, fromCarol);
    const aliceReadFromCarol = textOf(await aliceGets);
    say(
      'static-v1: alice <-> carol (suite negotiated from the suites signed into carol’s bundle)',
      "alice supports ['v2', 'static-v1']; carol supports ['static-v1'] -> the common suite is static-v1",
      '(the SDK does not report the suite per message; static-v1 is the only one both support)',
      `carol reads: "${carolRead}"`,
      `alice reads: "${aliceReadFromCarol}"`,
    );

    // A group.
    const group = await alice.createGroup('Ward 3', ['bob', 'carol']);
    const groupText = 'Team briefing moved to 07:45.';
    const groupGets = {
      bob: incoming(bob, groupText),
      carol: incoming(carol, groupText),
      'alice (device 2)': incoming(alice2, groupText),
    };
    await alice.sendText({ group: group.groupId }, groupText);
    const groupRead: Record<string, string> = {};
    for (const [who, p] of Object.entries(groupGets)) groupRead[who] = textOf(await p);
    say(
      `Group "Ward 3": alice creates it with bob and carol (members: ${group.state.members.map((m) => m.userId).join(', ')})`,
      `group id ${group.groupId.slice(0, 16)}…; one message, encrypted for every device of every member`,
      ...Object.entries(groupRead).map(([who, t]) => `${who} reads: "${t}"`),
    );

    // A file.
    const data = new Uint8Array(fileBytes);
    for (let i = 0; i < data.length; i += 65_536) {
      crypto.getRandomValues(data.subarray(i, Math.min(i + 65_536, data.length)));
    }
    say(
      `File: alice sends ${(fileBytes / 1048576).toFixed(1)} MiB to bob`,
      'encrypted in 64 KiB chunks while it uploads, then referenced (key and digest) in a message',
    );
    const fileGets = nextEvent(bob, 'message', (e) => e.message.content.body.type === 'file', 60_000);
    const started = performance.now();
    await alice.sendFile(
      { user: 'bob' },
      { data, name: 'scan.bin', mediaType: 'application/octet-stream' },
      { onProgress: (p) => options.progress?.('alice uploads', p) },
    );
    const fileMessage = (await fileGets).message;
    const body = fileMessage.content.body;
    if (body.type !== 'file') throw new Error('expected a file message');
    const downloaded = await bob.downloadFile(body.file, {
      onProgress: (p) => options.progress?.('bob downloads', p),
    });
    const fileIntact = downloaded.length === data.length && downloaded.every((b, i) => b === data[i]);
    say(
      'File received',
      `bob downloads, checks the digest and decrypts: ${fileIntact ? 'identical' : 'DIFFERENT (BUG)'} (${downloaded.length} bytes)`,
      `both transfers took ${(performance.now() - started).toFixed(0)} ms; the server stored only ciphertext`,
    );

    // A disappearing message.
    await alice.setDisappearingTimer(directConversationId('bob'), disappearSeconds * 1000);
    const secret = 'Door code for the drug room: 4711.';
    const secretGets = incoming(bob, secret);
    await alice.sendText({ user: 'bob' }, secret);
    const secretMessage = await secretGets;
    const bobConversation = directConversationId('alice');
    const inHistory = async () =>
      (await bob.history(bobConversation, { limit: 50 })).items.some((m) => m.id === secretMessage.id);
    const before = await inHistory();
    await new Promise((r) => setTimeout(r, disappearSeconds * 1000 + 300));
    const purged = (await bob.purgeExpired()) + (await alice.purgeExpired());
    const after = await inHistory();
    say(
      `Disappearing message: a ${disappearSeconds} s timer on alice's conversation with bob`,
      `bob reads "${textOf(secretMessage)}"; in his history: ${before}`,
      `after ${disappearSeconds} s and a purge: ${purged} rows deleted; in his history: ${after}`,
    );

    // Safety numbers.
    const aliceView = await alice.safetyNumber('bob');
    const bobView = await bob.safetyNumber('alice');
    const safetyNumberVerified = await bob.verifySafetyNumber('alice', aliceView.digits);
    const digits = aliceView.digits.replace(/\s+/g, '');
    say(
      'Safety number: compared out of band (read aloud or scanned); it covers every device on both users’ signed lists',
      `alice sees: ${digits.replace(/(\d{5})/g, '$1 ').trim()}`,
      `bob computes the same: ${bobView.digits.replace(/\s+/g, '') === digits}; bob marks alice verified: ${safetyNumberVerified}`,
    );

    // The operator impersonates alice: it deletes her lists from its own database and enrols a
    // device of its own for her (it can mint tokens), which starts a new chain of lists.
    const enc = new TextEncoder();
    const partition = new Uint8Array([...enc.encode(DEMO_TENANT), 0, ...enc.encode('alice')]);
    await system.server.context.adapter.transaction((tx) => tx.deletePartition('s_device_lists', partition));
    const impostor = await system.client('alice', { token: await system.token('alice') });
    const heldEvent = nextEvent(bob, 'identity-held');
    const shown: ClientMessage[] = [];
    const offShown = bob.on('message', (e) => {
      if (!e.message.outgoing) shown.push(e.message);
    });
    await impostor.sendText({ user: 'bob' }, 'It is me, alice. Please open the drug room for my colleague.');
    await heldEvent;
    await bob.flush();
    offShown();
    const heldStatus = await bob.identityStatus('alice');
    let sentTo = 0;
    const offSent = bob.on('sent', (e) => {
      sentTo += e.devices;
    });
    await bob.sendText({ user: 'alice' }, 'Are you sure?');
    await bob.flush();
    offSent();
    const sendingRefused = sentTo === 0 ? 'not sent' : `sent to ${sentTo} devices (BUG)`;
    say(
      'The operator impersonates alice: a device of its own, a new chain of lists, a certificate signed with the tenant key',
      `bob verified alice, so her changed identity is held: identity-held for ${heldStatus.held ? 'alice' : '(none)'}, ${heldStatus.quarantined} message(s) waiting undecrypted`,
      `shown to bob as alice's: ${shown.length > 0}; bob's message to alice: ${sendingRefused} (sending stops until bob's app calls acceptIdentityChange)`,
    );
    await impostor.close();

    // Remote wipe of Bob's device: signed on the owner's side, checked by the device against the root.
    onReceipt();
    const bobDevice = bob.me.deviceId;
    const wipedEvent = nextEvent(bob, 'wiped');
    const issued = await signWipe(system.owner, { user: 'bob', device: bobDevice });
    say(
      "Remote wipe: the owner signs a wipe for bob's device on their machine and the admin API stores it",
      `command ${issued.commandId.slice(0, 12)}… (sequence ${issued.sequence}) signed by the owner's certified key, not by the server; the device is blocked`,
      `server status: ${(await system.owner.client.getWipe('bob', bobDevice)).state}`,
    );
    let clientWiped: boolean;
    try {
      clientWiped = await bob.checkWipe();
    } catch (e) {
      // The socket closing on the block may already have made the client check and wipe.
      if (bob.status !== 'wiped') throw e;
      clientWiped = true;
    }
    const wiped = await wipedEvent;
    const server = await system.owner.client.getWipe('bob', bobDevice);
    await bob.close();
    const reopened = await createClient({
      server: { url: system.url, pin: system.server.pin },
      storage: await createPGliteAdapter({ dataDir: bobDir }),
    });
    const unlockRefused = await reopened.unlock(DEMO_PIN).then(
      () => false,
      () => true,
    );
    const reopenedStatus = reopened.status;
    await reopened.close();
    say(
      "Bob's client checks in, verifies the command against the organisation root it pinned at enrolment, and destroys its data",
      `client: wiped ${clientWiped}, signed report sent to the server: ${wiped.reported}`,
      `server status: ${server.state}`,
      `bob's store reopened from disk: status "${reopenedStatus}", unlock with the right PIN refused: ${unlockRefused}`,
    );

    return {
      bobRead: textOf(bobMessage),
      aliceSecondDeviceCopy: textOf(copy),
      aliceDevicesRead,
      carolRead,
      aliceReadFromCarol,
      groupRead,
      fileIntact,
      fileBytes: downloaded.length,
      receipts,
      disappearing: { before, purged, after },
      safetyNumbersMatch: bobView.digits.replace(/\s+/g, '') === digits,
      safetyNumberVerified,
      linking: { before: linkedBefore, after: linkedAfter, epoch: linkedList.epoch },
      heldIdentity: {
        held: heldStatus.held,
        shownToBob: shown.length > 0,
        quarantined: heldStatus.quarantined,
        sendingRefused,
      },
      admin: system.admin,
      wipe: {
        clientWiped,
        reported: wiped.reported,
        serverState: server.state,
        reopenedStatus,
        unlockRefused,
      },
    };
  } finally {
    await system.close();
  }
}

/**
 * A text progress bar on stderr (demo output only): redrawn in place on a terminal, one line per
 * finished transfer otherwise.
 *
 * @example
 * ```ts
 * await client.sendFile(to, file, { onProgress: (p) => stderrProgress('upload', p) });
 * ```
 */
export function stderrProgress(label: string, p: TransferProgress): void {
  if (p.phase === 'encrypt') return; // encryption streams into the upload; its bar is enough
  const width = 30;
  const ratio = p.total > 0 ? Math.min(1, p.bytes / p.total) : 1;
  const filled = Math.round(ratio * width);
  const line = `    ${`${label} (${p.phase})`.padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line}`);
    if (ratio >= 1) process.stderr.write('\n');
  } else if (ratio >= 1) {
    process.stderr.write(`${line}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let step = 0;
  await runSystemDemo({
    say: (title, ...lines) => {
      step += 1;
      console.log(`\n[${step}] ${title}`);
      for (const line of lines) console.log(`    ${line}`);
    },
    progress: stderrProgress,
  });
}
