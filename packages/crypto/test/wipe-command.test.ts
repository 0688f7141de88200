/**
 * Remote-wipe commands and reports (spec/remote-wipe.md, R28): round trips under every provider,
 * every single-byte change refused, wrong key (`signature`) and wrong target (`target`) refused,
 * malformed input `DecodeError`, and test-vectors/wipe-command.json checked byte for byte.
 */
import { describe, expect, it } from 'vitest';
import {
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  DecodeError,
  decodeWipeCommand,
  decodeWipeReport,
  InvalidKeyError,
  signWipeCommand,
  signWipeReport,
  toHex,
  uintBE,
  utf8,
  ValidationError,
  verifyWipeCommand,
  verifyWipeReport,
  WIPE_COMMAND_ID_LENGTH,
  WIPE_COMMAND_LABEL,
  WIPE_REPORT_LABEL,
  type WipeCommand,
  WipeCommandError,
} from '../src/index.js';
import { INSECURE_seededRandomForTestsOnly } from '../src/testing.js';
import { PROVIDERS } from './providers.js';
import { hex, loadVectors } from './vectors-load.js';

const noble = createNobleProvider();

function command(overrides: Partial<WipeCommand> = {}): WipeCommand {
  return {
    commandId: new Uint8Array(WIPE_COMMAND_ID_LENGTH).map((_, i) => i + 1),
    tenant: 'acme',
    userId: 'alice',
    deviceId: 2,
    issuedAt: 1_800_000_000_000,
    ...overrides,
  };
}

const target = (tenantPublicKey: Uint8Array) => ({
  tenantPublicKey,
  tenant: 'acme',
  userId: 'alice',
  deviceId: 2,
});

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WipeCommandError);
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect((e as WipeCommandError).code).toBe('ERR_INVALID_KEY');
    return (e as WipeCommandError).reason;
  }
  throw new Error('expected a refusal');
}

describe('labels', () => {
  it('are the documented strings', () => {
    expect(toHex(utf8(WIPE_COMMAND_LABEL))).toBe('636c6f69737465722f76312f776970652d636f6d6d616e64');
    expect(toHex(utf8(WIPE_REPORT_LABEL))).toBe('636c6f69737465722f76312f776970652d7265706f7274');
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'wipe commands under %s',
  (_name, provider: CryptoProvider) => {
    it('round-trips and verifies for the named device', async () => {
      const tenant = await provider.ed25519.generateKeyPair();
      const c = command({ tenant: 'krankenhaus-süd', userId: 'björn', deviceId: 0xffff_ffff });
      const bytes = await signWipeCommand(provider, tenant.privateKey, c);
      expect(decodeWipeCommand(bytes)).toEqual(c);
      const verified = await verifyWipeCommand(provider, bytes, {
        tenantPublicKey: tenant.publicKey,
        tenant: 'krankenhaus-süd',
        userId: 'björn',
        deviceId: 0xffff_ffff,
      });
      expect(verified).toEqual(c);
      // The layout of spec/remote-wipe.md §2.
      const expected = concatBytes(
        utf8(WIPE_COMMAND_LABEL),
        Uint8Array.of(1),
        c.commandId,
        uintBE(utf8(c.tenant).length, 2),
        utf8(c.tenant),
        uintBE(utf8(c.userId).length, 2),
        utf8(c.userId),
        uintBE(c.deviceId, 4),
        uintBE(c.issuedAt, 8),
      );
      expect(toHex(bytes.subarray(0, bytes.length - 64))).toBe(toHex(expected));
      expect(bytes.length).toBe(expected.length + 64);
    });

    it('refuses a change to any single byte', async () => {
      const tenant = await provider.ed25519.generateKeyPair();
      const bytes = await signWipeCommand(provider, tenant.privateKey, command());
      for (let i = 0; i < bytes.length; i++) {
        const bad = bytes.slice();
        bad[i] = (bad[i] ?? 0) ^ 0x01;
        let refused = false;
        try {
          await verifyWipeCommand(provider, bad, target(tenant.publicKey));
        } catch (e) {
          refused = e instanceof WipeCommandError || e instanceof DecodeError;
        }
        expect(refused, `byte ${i}`).toBe(true);
      }
    });

    it("refuses another tenant's key with reason 'signature'", async () => {
      const tenant = await provider.ed25519.generateKeyPair();
      const other = await provider.ed25519.generateKeyPair();
      const bytes = await signWipeCommand(provider, tenant.privateKey, command());
      expect(await reason(verifyWipeCommand(provider, bytes, target(other.publicKey)))).toBe('signature');
    });

    it("refuses a valid command for another device, user or tenant with reason 'target'", async () => {
      const tenant = await provider.ed25519.generateKeyPair();
      const bytes = await signWipeCommand(provider, tenant.privateKey, command());
      const base = target(tenant.publicKey);
      expect(await reason(verifyWipeCommand(provider, bytes, { ...base, deviceId: 3 }))).toBe('target');
      expect(await reason(verifyWipeCommand(provider, bytes, { ...base, userId: 'alicia' }))).toBe('target');
      expect(await reason(verifyWipeCommand(provider, bytes, { ...base, tenant: 'acme2' }))).toBe('target');
    });

    it('round-trips reports and refuses every changed byte and a wrong key', async () => {
      const device = await provider.ed25519.generateKeyPair();
      const other = await provider.ed25519.generateKeyPair();
      const report = { commandId: command().commandId, wipedAt: 1_800_000_060_000 };
      const bytes = await signWipeReport(provider, device.privateKey, report);
      expect(decodeWipeReport(bytes)).toEqual(report);
      expect(await verifyWipeReport(provider, bytes, device.publicKey)).toEqual(report);
      expect(
        toHex(
          concatBytes(utf8(WIPE_REPORT_LABEL), Uint8Array.of(1), report.commandId, uintBE(report.wipedAt, 8)),
        ),
      ).toBe(toHex(bytes.subarray(0, bytes.length - 64)));
      expect(await reason(verifyWipeReport(provider, bytes, other.publicKey))).toBe('signature');
      for (let i = 0; i < bytes.length; i++) {
        const bad = bytes.slice();
        bad[i] = (bad[i] ?? 0) ^ 0x80;
        await expect(verifyWipeReport(provider, bad, device.publicKey), `byte ${i}`).rejects.toSatisfy(
          (e) => e instanceof WipeCommandError || e instanceof DecodeError,
        );
      }
    });
  },
);

describe('malformed input', () => {
  it('refuses truncation, trailing bytes, wrong version and label, bad strings with DecodeError', async () => {
    const tenant = await noble.ed25519.generateKeyPair();
    const bytes = await signWipeCommand(noble, tenant.privateKey, command());
    const label = utf8(WIPE_COMMAND_LABEL).length;
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      bytes.subarray(0, bytes.length - 1),
      concatBytes(bytes, Uint8Array.of(0)),
      Uint8Array.from(bytes, (b, i) => (i === label ? 2 : b)),
      Uint8Array.from(bytes, (b, i) => (i === 0 ? b ^ 0x20 : b)),
      // tenant length 0
      Uint8Array.from(bytes, (b, i) => (i === label + 1 + 16 || i === label + 1 + 17 ? 0 : b)),
      // tenant length 256 (over the bound)
      Uint8Array.from(bytes, (b, i) => (i === label + 1 + 16 ? 1 : i === label + 1 + 17 ? 0 : b)),
      // tenant not UTF-8
      Uint8Array.from(bytes, (b, i) => (i === label + 1 + 18 ? 0xff : b)),
      new Uint8Array(2000),
    ];
    for (const [i, bad] of cases.entries()) {
      expect(() => decodeWipeCommand(bad), `case ${i}`).toThrow(DecodeError);
      await expect(verifyWipeCommand(noble, bad, target(tenant.publicKey)), `case ${i}`).rejects.toThrow(
        DecodeError,
      );
    }
    const report = await signWipeReport(noble, tenant.privateKey, {
      commandId: new Uint8Array(16),
      wipedAt: 5,
    });
    for (const bad of [
      report.subarray(1),
      concatBytes(report, Uint8Array.of(1)),
      bytes,
      Uint8Array.from(report, (b, i) => (i === utf8(WIPE_REPORT_LABEL).length ? 0 : b)),
    ]) {
      expect(() => decodeWipeReport(bad)).toThrow(DecodeError);
    }
  });

  it('refuses bad fields when signing with ValidationError naming them', async () => {
    const key = new Uint8Array(32);
    const cases: [Partial<WipeCommand>, string][] = [
      [{ commandId: new Uint8Array(15) }, 'command.commandId'],
      [{ tenant: '' }, 'command.tenant'],
      [{ userId: 'x'.repeat(256) }, 'command.userId'],
      [{ userId: '\ud800' }, 'command.userId'],
      [{ deviceId: 2 ** 32 }, 'command.deviceId'],
      [{ issuedAt: -1 }, 'command.issuedAt'],
    ];
    for (const [overrides, field] of cases) {
      await expect(signWipeCommand(noble, key, command(overrides))).rejects.toSatisfy(
        (e) => e instanceof ValidationError && e.field === field,
      );
    }
    await expect(signWipeCommand(noble, new Uint8Array(31), command())).rejects.toThrow(ValidationError);
    await expect(signWipeReport(noble, key, { commandId: new Uint8Array(16), wipedAt: 1.5 })).rejects.toThrow(
      ValidationError,
    );
  });
});

interface WipeVectors {
  source: unknown;
  cases: {
    name: string;
    seed: string;
    tenantPrivateKey: string;
    tenantPublicKey: string;
    deviceSigningPrivateKey: string;
    deviceSigningPublicKey: string;
    command: { commandId: string; tenant: string; userId: string; deviceId: number; issuedAt: number };
    commandSignedPart: string;
    commandSignature: string;
    commandBytes: string;
    report: { commandId: string; wipedAt: number };
    reportSignedPart: string;
    reportSignature: string;
    reportBytes: string;
  }[];
}

describe('test-vectors/wipe-command.json', () => {
  const vectors = loadVectors<WipeVectors>('wipe-command.json');

  it('has its cases', () => {
    expect(vectors.cases.map((c) => c.name)).toEqual(['basic', 'utf8-max-device']);
  });

  it.each(PROVIDERS.map((p) => [p.name, p] as const))(
    'verifies and re-signs every case under %s',
    async (_n, provider) => {
      for (const v of vectors.cases) {
        const c: WipeCommand = { ...v.command, commandId: hex(v.command.commandId) };
        const bytes = await signWipeCommand(provider, hex(v.tenantPrivateKey), c);
        expect(toHex(bytes), v.name).toBe(v.commandBytes);
        expect(v.commandBytes, v.name).toBe(v.commandSignedPart + v.commandSignature);
        expect(
          await verifyWipeCommand(provider, hex(v.commandBytes), {
            tenantPublicKey: hex(v.tenantPublicKey),
            tenant: v.command.tenant,
            userId: v.command.userId,
            deviceId: v.command.deviceId,
          }),
          v.name,
        ).toEqual(c);
        const report = { commandId: hex(v.report.commandId), wipedAt: v.report.wipedAt };
        expect(toHex(await signWipeReport(provider, hex(v.deviceSigningPrivateKey), report)), v.name).toBe(
          v.reportBytes,
        );
        expect(v.reportBytes, v.name).toBe(v.reportSignedPart + v.reportSignature);
        expect(await verifyWipeReport(provider, hex(v.reportBytes), hex(v.deviceSigningPublicKey))).toEqual(
          report,
        );
      }
    },
  );

  it('draws its keys and command ids from the stored seed', async () => {
    for (const v of vectors.cases) {
      const p = createNobleProvider().withRandom(INSECURE_seededRandomForTestsOnly(utf8(v.seed)));
      const tenant = await p.ed25519.generateKeyPair();
      const device = await p.ed25519.generateKeyPair();
      expect(toHex(tenant.privateKey), v.name).toBe(v.tenantPrivateKey);
      expect(toHex(tenant.publicKey), v.name).toBe(v.tenantPublicKey);
      expect(toHex(device.publicKey), v.name).toBe(v.deviceSigningPublicKey);
      expect(toHex(p.randomBytes(16)), v.name).toBe(v.command.commandId);
    }
  });
});
