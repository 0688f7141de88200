/**
 * Test vectors for remote-wipe commands and reports (`test-vectors/wipe-command.json`, format in
 * spec/remote-wipe.md §4). Each case draws, in this order, the tenant Ed25519 key pair, the
 * device's Ed25519 identity key pair and the 16-byte command id, from the noble provider with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/wipe-command/" + case name))`.
 */
import {
  createNobleProvider,
  signWipeCommand,
  signWipeReport,
  toHex,
  utf8,
  WIPE_COMMAND_ID_LENGTH,
} from '@cloister/crypto';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const WIPE_SEED_PREFIX = 'cloister/test-vectors/wipe-command/';

const CASES = [
  {
    name: 'basic',
    tenant: 'acme',
    userId: 'alice',
    deviceId: 2,
    issuedAt: 1_800_000_000_000,
    wipedAt: 1_800_000_060_000,
  },
  {
    name: 'utf8-max-device',
    tenant: 'krankenhaus-süd',
    userId: 'björn.müller',
    deviceId: 0xffff_ffff,
    issuedAt: 0,
    wipedAt: 1,
  },
];

export async function generateWipeVectors() {
  const cases = [];
  for (const c of CASES) {
    const seed = `${WIPE_SEED_PREFIX}${c.name}`;
    const provider = createNobleProvider().withRandom(INSECURE_seededRandomForTestsOnly(utf8(seed)));
    const tenantKey = await provider.ed25519.generateKeyPair();
    const deviceKey = await provider.ed25519.generateKeyPair();
    const commandId = provider.randomBytes(WIPE_COMMAND_ID_LENGTH);
    const command = {
      commandId,
      tenant: c.tenant,
      userId: c.userId,
      deviceId: c.deviceId,
      issuedAt: c.issuedAt,
    };
    const commandBytes = await signWipeCommand(provider, tenantKey.privateKey, command);
    const reportBytes = await signWipeReport(provider, deviceKey.privateKey, {
      commandId,
      wipedAt: c.wipedAt,
    });
    cases.push({
      name: c.name,
      seed,
      tenantPrivateKey: toHex(tenantKey.privateKey),
      tenantPublicKey: toHex(tenantKey.publicKey),
      deviceSigningPrivateKey: toHex(deviceKey.privateKey),
      deviceSigningPublicKey: toHex(deviceKey.publicKey),
      command: {
        commandId: toHex(commandId),
        tenant: c.tenant,
        userId: c.userId,
        deviceId: c.deviceId,
        issuedAt: c.issuedAt,
      },
      commandSignedPart: toHex(commandBytes.subarray(0, commandBytes.length - 64)),
      commandSignature: toHex(commandBytes.subarray(commandBytes.length - 64)),
      commandBytes: toHex(commandBytes),
      report: { commandId: toHex(commandId), wipedAt: c.wipedAt },
      reportSignedPart: toHex(reportBytes.subarray(0, reportBytes.length - 64)),
      reportSignature: toHex(reportBytes.subarray(reportBytes.length - 64)),
      reportBytes: toHex(reportBytes),
    });
  }
  return {
    source: {
      generator: 'scripts/vectors/wipe-command.ts',
      note: 'generated with seeded randomness; do not edit by hand',
    },
    spec: 'spec/remote-wipe.md',
    encoding: 'byte strings are lower-case hex; times are milliseconds since the Unix epoch',
    cases,
  };
}

export default { file: 'wipe-command.json', generate: generateWipeVectors };
