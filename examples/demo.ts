/**
 * The Cloister demo, step by step, with no set-up (everything on embedded databases in temporary
 * directories, removed at the end):
 *
 *   npx --yes pnpm@10.34.9 demo
 *
 * Part 1, the crypto core: static-v1 messages, the PIN wrap, a v2 session. Part 2, the encrypted
 * local store on PGlite with retention and purge. Part 3, the whole system through the client SDK
 * (see `demo-system.ts`): a server, a tenant, three users (one on two devices), v2 and static-v1
 * messages, a group, a 10 MiB file, a disappearing message, receipts, a safety number and a remote
 * wipe. Part 4, organisation controls (see `demo-controls.ts`): pools and their signed rules, a user
 * moved between pools mid-conversation, a bulk block chosen by a filter with a dry run first, and a
 * broadcast sealed end to end to every device. Part 5, directory and roll-out (see
 * `demo-directory.ts`): a user created through SCIM, a phone enrolled from a managed configuration
 * with no user action, a second device admitted by the organisation's signature, and the
 * directory disabling the user: every device refused at once, never re-enabled by the directory.
 * Part 6, the compliance archive (see `demo-archive.ts`): three auditors make the archive key and
 * split it 2-of-3, the owner signs archiving on for one pool, users see the indicator and the key's
 * fingerprint, one auditor alone and the owner are refused, two auditors open and search it.
 * Part 7, the admin portal (see `demo-portal.ts`): a server serving the portal (built first when
 * `packages/portal/dist` is missing) with a local certificate authority, and how to sign in as the
 * owner from a browser: the URL, how to trust the CA, the password, the TOTP URI, a recovery code
 * and the owner's signing key file with its passphrase. On a terminal that server keeps running
 * until Ctrl-C; otherwise (tests, CI) the demo stops at the end.
 */
import {
  type CryptoProvider,
  changePin,
  encodeWrappedKey,
  getProvider,
  PIN_SCRYPT_DEFAULT,
  staticV1Decrypt,
  staticV1Encrypt,
  staticV1EncryptForRecipients,
  toHex,
  unwrapDataKey,
  utf8,
  WrongPin,
  wrapDataKey,
} from '@cloister/crypto';
import { runArchiveDemo } from './demo-archive.js';
import { runControlsDemo } from './demo-controls.js';
import { runDirectoryDemo } from './demo-directory.js';
import { portalServed, runPortalDemo, stopRequested } from './demo-portal.js';
import { runSystemDemo, stderrProgress } from './demo-system.js';
import { runV2Demo } from './demo-v2.js';
import { storageExample } from './storage.js';

const decoder = new TextDecoder();
let step = 0;

function say(title: string, ...lines: string[]): void {
  step += 1;
  console.log(`\n[${step}] ${title}`);
  for (const line of lines) console.log(`    ${line}`);
}

function short(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return hex.length > 32 ? `${hex.slice(0, 32)}… (${bytes.length} bytes)` : hex;
}

async function staticV1Demo(provider: CryptoProvider): Promise<void> {
  const alice = await provider.x25519.generateKeyPair();
  const bob = await provider.x25519.generateKeyPair();
  const carol = await provider.x25519.generateKeyPair();
  say('Key pairs (X25519)', `alice ${short(alice.publicKey)}`, `bob   ${short(bob.publicKey)}`);

  const message = await staticV1Encrypt(provider, {
    sender: alice,
    recipientPublicKey: bob.publicKey,
    plaintext: utf8('Quarterly figures are in the shared folder.'),
  });
  const plaintext = await staticV1Decrypt(provider, {
    recipient: bob,
    senderPublicKey: alice.publicKey,
    message,
  });
  say(
    'static-v1 message alice -> bob (the product sheet construction; no forward secrecy)',
    `wire bytes: version | iv | AES-256-CBC ciphertext | HMAC-SHA256 = ${short(message)}`,
    `bob reads: "${decoder.decode(plaintext)}"`,
  );

  const tampered = message.slice();
  tampered[20]! ^= 1;
  const failure = await staticV1Decrypt(provider, {
    recipient: bob,
    senderPublicKey: alice.publicKey,
    message: tampered,
  }).catch((e: unknown) => e);
  say('One flipped bit', `rejected with ${(failure as { code?: string }).code ?? 'no error (BUG)'}`);

  const many = await staticV1EncryptForRecipients(provider, {
    sender: alice,
    recipientPublicKeys: [bob.publicKey, carol.publicKey],
    plaintext: utf8('All hands at 10:00.'),
  });
  const carolCopy = many.find((m) => toHex(m.recipientPublicKey) === toHex(carol.publicKey))!;
  const carolReads = await staticV1Decrypt(provider, {
    recipient: carol,
    senderPublicKey: alice.publicKey,
    message: carolCopy.message,
  });
  say('A message to many recipients (one encryption each)', `carol reads: "${decoder.decode(carolReads)}"`);
}

async function pinDemo(provider: CryptoProvider): Promise<void> {
  const started = performance.now();
  const { dataKey, record } = await wrapDataKey(provider, { pin: '482913' });
  const wrapMs = performance.now() - started;
  say(
    'Local store key wrapped under scrypt(PIN) (AES-256-GCM wrap)',
    `scrypt N=2^${Math.log2(PIN_SCRYPT_DEFAULT.N)} r=${PIN_SCRYPT_DEFAULT.r} p=${PIN_SCRYPT_DEFAULT.p}, took ${wrapMs.toFixed(0)} ms`,
    `encoded record: ${short(encodeWrappedKey(record))}`,
  );
  const wrong = await unwrapDataKey(provider, record, '000000').catch((e: unknown) => e);
  say('Wrong PIN', `rejected: ${wrong instanceof WrongPin ? wrong.code : 'unexpected'}`);
  const changed = await changePin(provider, record, '482913', '771245');
  const reopened = await unwrapDataKey(provider, changed, '771245');
  say(
    'PIN changed: the data key is re-wrapped, the data stays as it is',
    `same data key after the change: ${toHex(reopened) === toHex(dataKey)}`,
  );
}

const started = performance.now();
console.log('Part 1: the crypto core');
const provider = await getProvider();
say('Crypto provider', `selected automatically: ${provider.name}`);
await staticV1Demo(provider);
await pinDemo(provider);
await runV2Demo(provider, say, short);
console.log('\nPart 2: the encrypted local store');
const storageLines: string[] = [];
await storageExample((line) => storageLines.push(line));
say('Encrypted local store (PGlite, data key from the PIN wrap, retention and purge)', ...storageLines);
console.log('\nPart 3: the system (server, enrolment, clients through the SDK)');
const report = await runSystemDemo({ say, progress: stderrProgress });
console.log('\nPart 4: organisation controls (pools, bulk operations, broadcast)');
const controls = await runControlsDemo({ say });
console.log('\nPart 5: directory and roll-out (SCIM, managed configuration, zero-touch admission, leavers)');
const directory = await runDirectoryDemo({ say });
console.log('\nPart 6: the compliance archive (auditors’ k-of-n key, scope, indicator, search)');
const archive = await runArchiveDemo({ say });
const ok =
  report.fileIntact &&
  report.wipe.clientWiped &&
  report.wipe.serverState === 'confirmed' &&
  !report.disappearing.after &&
  report.safetyNumbersMatch &&
  controls.deliveredBefore &&
  controls.refusedStatus === 403 &&
  controls.deliveredAfter &&
  controls.bulk.blocked === 8 &&
  controls.broadcast.shownBy === controls.broadcast.sealedTo &&
  directory.afterDisable.refusedDevices === directory.afterDisable.devices &&
  directory.afterReenable.status === 'blocked' &&
  archive.indicators.aliceToBob.on &&
  !archive.indicators.carolToDave.on &&
  archive.refused.oneAuditor &&
  archive.refused.owner &&
  archive.found.length === 2;
console.log('\nPart 7: the admin portal (served by the server; sign in as the owner from a browser)');
const portal = await runPortalDemo({
  say,
  hold: async (served) => {
    const fine = ok && portalServed(served);
    console.log(
      `\nDemo finished in ${((performance.now() - started) / 1000).toFixed(1)} s${fine ? '.' : ' WITH UNEXPECTED RESULTS.'}`,
    );
    if (!process.stdout.isTTY) return;
    console.log(`The server keeps running so that you can sign in at ${served.url}; press Ctrl-C to stop.`);
    await stopRequested();
  },
});
if (!ok || !portalServed(portal)) process.exitCode = 1;
