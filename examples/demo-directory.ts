/**
 * The directory and roll-out part of the demo, with no user action anywhere: an identity provider
 * creates a user through SCIM, the MDM pushes a managed configuration that enrols the user's
 * phone (a platform-keystore secret instead of a PIN), a peer's message reaches it, a second
 * managed device is admitted by the organisation's signature with no linking step, and the
 * identity provider disables the user: every device is blocked at once, and a later "active"
 * from the directory does not give the account back.
 *
 *   npx tsx --conditions=@cloister/source examples/demo-directory.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { AdminTransport } from '@cloister/admin';
import { pinnedTransport } from '@cloister/admin/node';
import { type CloisterClient, clientOptionsFromManagedConfig, createClient } from '@cloister/client';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { createMemoryAdapter } from '@cloister/storage';
import { nextEvent, type Say, startLocalSystem } from './demo-system.js';

/** What {@link runDirectoryDemo} observed. */
export interface DirectoryDemoReport {
  /** The HTTP status of the identity provider's `POST /scim/v2/Users`. */
  readonly scimCreated: number;
  /** Whether the user is marked as managed by the directory (`source`). */
  readonly source: string | undefined;
  /** What the managed phone read from Alice. */
  readonly phoneRead: string;
  /** How many devices the organisation admitted with no linking step, and what the tablet read. */
  readonly admitted: number;
  readonly tabletRead: string;
  /** The user's status after the directory disabled the user, and how many devices were refused at once (and the status). */
  readonly afterDisable: {
    readonly status: string;
    readonly refusedDevices: number;
    readonly devices: number;
    readonly refusedWith: number | undefined;
  };
  /** The status after the directory said `active: true` again, and whether the re-enable was recorded. */
  readonly afterReenable: { readonly status: string; readonly reenableRequested: boolean };
}

const SCIM = 'application/scim+json';

/** One request of the identity provider to the SCIM endpoint (over TLS pinned to the server's key). */
async function scim(
  transport: AdminTransport,
  token: string,
  method: 'POST' | 'PATCH',
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await transport({
    method,
    path: `/scim/v2${path}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': SCIM, accept: SCIM },
    body: new TextEncoder().encode(JSON.stringify(body)),
  });
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function textOf(event: { message: { content: { body: { type: string; text?: string } } } }): string {
  const body = event.message.content.body;
  return body.type === 'text' ? (body.text ?? '') : `(${body.type})`;
}

/**
 * Runs the directory and roll-out demo and reports what it observed.
 *
 * @example
 * ```ts
 * const report = await runDirectoryDemo({ say: (title, ...lines) => console.log(title, lines) });
 * ```
 */
export async function runDirectoryDemo(options: { readonly say: Say }): Promise<DirectoryDemoReport> {
  const { say } = options;
  const system = await startLocalSystem();
  const signer = system.owner;
  const admin = signer.client.withServer({ url: system.url, pin: system.server.pin });
  const devices: CloisterClient[] = [];
  try {
    // The identity provider (Entra ID, Okta, …) gets a SCIM token, shown once.
    const created = await admin.scim.createToken({ name: 'Entra ID provisioning' });
    const token = created.token;
    const idp = pinnedTransport({ url: system.url, pin: system.server.pin });
    const joiner = await scim(idp, token, 'POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'dana@acme.example',
      externalId: 'entra-7f3c2a10',
      displayName: 'Dana Richter',
      emails: [{ value: 'dana@acme.example', primary: true }],
      active: true,
    });
    const dana = String(joiner.json.id);
    const viewed = await admin.getUser(dana);
    say(
      'A joiner created by the identity provider through SCIM',
      `POST /scim/v2/Users -> HTTP ${joiner.status}, Cloister user ${dana}`,
      `directory-managed: source ${viewed.directory?.source ?? '?'}, external id ${viewed.directory?.externalId ?? '?'}`,
    );

    // The MDM pushes the managed configuration; the app enrols with no user action.
    const enrolManaged = async (): Promise<CloisterClient> => {
      const invite = await admin.inviteUser({ user: dana, managed: true });
      if (invite.managedConfig === undefined) throw new Error('a managed invite carries its configuration');
      const client = await createClient({
        ...clientOptionsFromManagedConfig(invite.managedConfig, createMemoryAdapter()),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
      });
      devices.push(client);
      // The secret comes from the platform keystore (Keychain, Android Keystore), not from the user.
      await client.enrollFromManagedConfig(invite.managedConfig, { secret: randomBytes(32) });
      await client.start();
      return client;
    };
    const phone = await enrolManaged();
    const alice = await system.client('alice');
    let got = nextEvent(phone, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: dana }, 'Welcome to ward 3, Dana.');
    const phoneRead = textOf(await got);
    say(
      'The managed configuration enrols the phone, no PIN, no code typed',
      'keys pushed by the MDM: serverUrl, serverPin, organisationRoot, enrolmentToken (single use, 8 h), tenant, userHint',
      `Alice -> Dana's phone: "${phoneRead}"`,
    );

    // A second managed device: admitted by the organisation's signature, not by the phone.
    const tablet = await enrolManaged();
    const report = await admin.devices.admitManaged(signer);
    const admitted = report.admitted.length;
    // The tablet finds itself in the list on its next fetch; Alice picks the new list up on hers.
    await tablet.linkStatus();
    await alice.safetyNumber(dana);
    got = nextEvent(tablet, 'message', (e) => !e.message.outgoing);
    const gotPhone = nextEvent(phone, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: dana }, 'Your rota is on the tablet too.');
    const tabletRead = textOf(await got);
    await gotPhone;
    say(
      'Zero-touch admission: the tablet joins Dana’s signed device list by the organisation’s signature',
      `admitted on the owner's machine: ${admitted} device(s); no linking step on the phone`,
      `Alice -> Dana (both devices): the tablet read "${tabletRead}"`,
    );

    // The leaver: the identity provider disables Dana; every device is blocked at once.
    const patch = (active: boolean | string) =>
      scim(idp, token, 'PATCH', `/Users/${dana}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', value: { active } }],
      });
    await patch(false);
    const disabled = await admin.getUser(dana);
    // The user's block covers every device: each device's next request is refused.
    const refusals = await Promise.all(
      [phone, tablet].map((d) =>
        d.linkStatus().then(
          () => undefined,
          (e: unknown) => (e as { status?: number }).status,
        ),
      ),
    );
    const afterDisable = {
      status: disabled.blocked ? 'blocked' : 'active',
      refusedDevices: refusals.filter((status) => status === 403 || status === 401).length,
      devices: refusals.length,
      refusedWith: refusals[0],
    };
    // Entra sends booleans as strings; a re-enable from the directory is recorded, not applied.
    await patch('True');
    const after = await admin.getUser(dana);
    const afterReenable = {
      status: after.blocked ? 'blocked' : 'active',
      reenableRequested: after.directory?.reenableRequested === true,
    };
    say(
      'The leaver: the identity provider disables Dana (PATCH active false)',
      `Dana: ${afterDisable.status}; the next request of each device refused at once: ${afterDisable.refusedDevices} of ${afterDisable.devices} (HTTP ${afterDisable.refusedWith ?? '?'})`,
      `the directory sends active "True" again: Dana stays ${afterReenable.status}` +
        `${afterReenable.reenableRequested ? ' (re-enable recorded for an administrator to decide)' : ''}`,
    );
    return {
      scimCreated: joiner.status,
      source: viewed.directory?.source,
      phoneRead,
      admitted,
      tabletRead,
      afterDisable,
      afterReenable,
    };
  } finally {
    for (const d of devices) await d.close().catch(() => undefined);
    await system.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let step = 0;
  await runDirectoryDemo({
    say: (title, ...lines) => {
      step += 1;
      console.log(`\n[${step}] ${title}`);
      for (const line of lines) console.log(`    ${line}`);
    },
  });
}
