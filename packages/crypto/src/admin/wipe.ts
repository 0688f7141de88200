/**
 * Remote wipe (spec/remote-wipe.md): an administrator's command, signed by the tenant's Ed25519
 * key, that tells one device of one user to destroy its local data, and the device's report,
 * signed by its identity signing key, that it did.
 *
 * Command bytes: `utf8(WIPE_COMMAND_LABEL) ‖ u8 1 ‖ commandId(16) ‖ u16 len ‖ tenant ‖ u16 len ‖
 * userId ‖ u32 deviceId ‖ u64 issuedAt`, then the 64-byte signature over everything before it.
 * Report bytes: `utf8(WIPE_REPORT_LABEL) ‖ u8 1 ‖ commandId(16) ‖ u64 wipedAt`, then the signature.
 * All integers are big-endian.
 */
import { checkBytes, checkInt, concatBytes, equalBytes, uintBE, utf8 } from '../bytes.js';
import { decodeUtf8, Reader } from '../envelope/_reader.js';
import { DecodeError, InvalidKeyError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';

/**
 * Prefix (ASCII, no terminator) of every wipe command; also its signature domain.
 *
 * @example
 * ```ts
 * const isCommand = equalBytes(bytes.subarray(0, WIPE_COMMAND_LABEL.length), utf8(WIPE_COMMAND_LABEL));
 * ```
 */
export const WIPE_COMMAND_LABEL = 'cloister/v1/wipe-command';
/**
 * Prefix (ASCII, no terminator) of every wipe report; also its signature domain.
 *
 * @example
 * ```ts
 * const isReport = equalBytes(bytes.subarray(0, WIPE_REPORT_LABEL.length), utf8(WIPE_REPORT_LABEL));
 * ```
 */
export const WIPE_REPORT_LABEL = 'cloister/v1/wipe-report';
/**
 * Bytes of a command id: 16.
 *
 * @example
 * ```ts
 * const commandId = provider.randomBytes(WIPE_COMMAND_ID_LENGTH);
 * ```
 */
export const WIPE_COMMAND_ID_LENGTH = 16;
/**
 * Format version written after the label of commands and reports: 1.
 *
 * @example
 * ```ts
 * const version = bytes[WIPE_COMMAND_LABEL.length]; // WIPE_FORMAT_VERSION for a command this code reads
 * console.log(version === WIPE_FORMAT_VERSION);
 * ```
 */
export const WIPE_FORMAT_VERSION = 1;
/**
 * Longest tenant or user id in a command, in UTF-8 bytes: 255.
 *
 * @example
 * ```ts
 * const fits = (id: string) => id !== '' && utf8(id).length <= WIPE_MAX_STRING_BYTES;
 * ```
 */
export const WIPE_MAX_STRING_BYTES = 255;

const COMMAND_PREFIX = utf8(WIPE_COMMAND_LABEL);
const REPORT_PREFIX = utf8(WIPE_REPORT_LABEL);
const SIGNATURE_BYTES = 64;
const COMMAND_MAX_BYTES =
  COMMAND_PREFIX.length + 1 + WIPE_COMMAND_ID_LENGTH + 2 * (2 + WIPE_MAX_STRING_BYTES) + 4 + 8 + 64;
const REPORT_BYTES = REPORT_PREFIX.length + 1 + WIPE_COMMAND_ID_LENGTH + 8 + SIGNATURE_BYTES;

/**
 * What a wipe command says: wipe device `deviceId` of user `userId` in `tenant`.
 *
 * @example
 * ```ts
 * const command: WipeCommand = {
 *   commandId: provider.randomBytes(WIPE_COMMAND_ID_LENGTH),
 *   tenant: 'acme',
 *   userId: 'alice',
 *   deviceId: 2,
 *   issuedAt: Date.now(),
 * };
 * ```
 */
export interface WipeCommand {
  /** 16 random bytes naming this command; the report repeats them. */
  readonly commandId: Uint8Array;
  /** Tenant id, 1..255 UTF-8 bytes. */
  readonly tenant: string;
  /** User id, 1..255 UTF-8 bytes. */
  readonly userId: string;
  /** Device number, an unsigned 32-bit integer. */
  readonly deviceId: number;
  /** When the command was issued, ms since the epoch (0 to 2^53 - 1). */
  readonly issuedAt: number;
}

/**
 * What a device reports after it wiped itself.
 *
 * @example
 * ```ts
 * const command = decodeWipeCommand(bytes);
 * const report: WipeReport = { commandId: command.commandId, wipedAt: Date.now() };
 * ```
 */
export interface WipeReport {
  /** The command this report answers. */
  readonly commandId: Uint8Array;
  /** When the device finished wiping, ms since the epoch (0 to 2^53 - 1). */
  readonly wipedAt: number;
}

/**
 * Why {@link verifyWipeCommand} (or {@link verifyWipeReport}) refused: `signature` (it does not
 * verify under the given key) or `target` (a valid command for another tenant, user or device).
 *
 * @example
 * ```ts
 * const problem: WipeCommandProblem = 'target';
 * ```
 */
export type WipeCommandProblem = 'signature' | 'target';

/**
 * A wipe command or report was refused: `reason` is `'signature'` when the signature does not
 * verify under the given key, `'target'` when a valid command names another tenant, user or
 * device. Its code is `ERR_INVALID_KEY`.
 *
 * @example
 * ```ts
 * try {
 *   await verifyWipeCommand(provider, bytes, { tenantPublicKey: tenant.publicKey, tenant: 'acme', userId: 'alice', deviceId: 2 });
 * } catch (e) {
 *   if (!(e instanceof WipeCommandError)) throw e;
 *   console.warn(`wipe command ignored: ${e.reason}`); // "signature" or "target"
 * }
 * ```
 */
export class WipeCommandError extends InvalidKeyError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'WipeCommandError';

  /** Which check failed: `signature` or `target`. */
  readonly reason: WipeCommandProblem;

  constructor(reason: WipeCommandProblem, what = 'wipeCommand') {
    super(
      what,
      reason === 'signature'
        ? 'signature does not verify under the expected key'
        : 'names another tenant, user or device',
    );
    this.reason = reason;
  }
}

function checkString(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new ValidationError(field, 'a string');
  const bytes = utf8(value);
  const wellFormed = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes) === value;
  if (bytes.length < 1 || bytes.length > WIPE_MAX_STRING_BYTES || !wellFormed) {
    throw new ValidationError(field, `well-formed text of 1 to ${WIPE_MAX_STRING_BYTES} UTF-8 bytes`);
  }
  return bytes;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concatBytes(uintBE(bytes.length, 2), bytes);
}

/** Checks a command and returns its signed part (label to issuedAt). */
function commandSignedPart(command: WipeCommand): Uint8Array {
  if (typeof command !== 'object' || command === null) throw new ValidationError('command', 'an object');
  const commandId = checkBytes(command.commandId, 'command.commandId', WIPE_COMMAND_ID_LENGTH);
  const tenant = checkString(command.tenant, 'command.tenant');
  const user = checkString(command.userId, 'command.userId');
  const deviceId = checkInt(command.deviceId, 'command.deviceId', 0, 0xffff_ffff);
  const issuedAt = checkInt(command.issuedAt, 'command.issuedAt', 0, Number.MAX_SAFE_INTEGER);
  return concatBytes(
    COMMAND_PREFIX,
    uintBE(WIPE_FORMAT_VERSION, 1),
    commandId,
    lengthPrefixed(tenant),
    lengthPrefixed(user),
    uintBE(deviceId, 4),
    uintBE(issuedAt, 8),
  );
}

/** Checks a report and returns its signed part (label to wipedAt). */
function reportSignedPart(report: WipeReport): Uint8Array {
  if (typeof report !== 'object' || report === null) throw new ValidationError('report', 'an object');
  const commandId = checkBytes(report.commandId, 'report.commandId', WIPE_COMMAND_ID_LENGTH);
  const wipedAt = checkInt(report.wipedAt, 'report.wipedAt', 0, Number.MAX_SAFE_INTEGER);
  return concatBytes(REPORT_PREFIX, uintBE(WIPE_FORMAT_VERSION, 1), commandId, uintBE(wipedAt, 8));
}

function readHeader(r: Reader, prefix: Uint8Array, base: string): void {
  if (!equalBytes(r.take(prefix.length, 'label'), prefix))
    throw new DecodeError(`${base}.label`, 'unknown label');
  if (r.uint(1, 'version') !== WIPE_FORMAT_VERSION) throw new DecodeError(`${base}.version`, 'unsupported');
}

function readString(r: Reader, field: string): string {
  const length = r.uint(2, `${field}.length`);
  if (length < 1 || length > WIPE_MAX_STRING_BYTES) {
    throw new DecodeError(`wipeCommand.${field}`, `length outside 1..${WIPE_MAX_STRING_BYTES}`);
  }
  return decodeUtf8(r.take(length, field), `wipeCommand.${field}`);
}

/** Splits signed bytes into the command and where its signed part ends. */
function parseCommand(bytes: Uint8Array): { command: WipeCommand; signedLength: number } {
  checkBytes(bytes, 'bytes');
  if (bytes.length > COMMAND_MAX_BYTES) throw new DecodeError('wipeCommand', 'too long');
  const r = new Reader(bytes, 'wipeCommand');
  readHeader(r, COMMAND_PREFIX, 'wipeCommand');
  const commandId = r.take(WIPE_COMMAND_ID_LENGTH, 'commandId');
  const tenant = readString(r, 'tenant');
  const userId = readString(r, 'userId');
  const deviceId = r.uint(4, 'deviceId');
  const issuedAt = r.uint(8, 'issuedAt');
  const signedLength = bytes.length - r.remaining;
  r.take(SIGNATURE_BYTES, 'signature');
  r.end();
  return { command: { commandId, tenant, userId, deviceId, issuedAt }, signedLength };
}

function parseReport(bytes: Uint8Array): WipeReport {
  checkBytes(bytes, 'bytes');
  if (bytes.length > REPORT_BYTES) throw new DecodeError('wipeReport', 'too long');
  const r = new Reader(bytes, 'wipeReport');
  readHeader(r, REPORT_PREFIX, 'wipeReport');
  const commandId = r.take(WIPE_COMMAND_ID_LENGTH, 'commandId');
  const wipedAt = r.uint(8, 'wipedAt');
  r.take(SIGNATURE_BYTES, 'signature');
  r.end();
  return { commandId, wipedAt };
}

/**
 * Encodes `command` and signs it with the tenant's 32-byte Ed25519 signing private key; returns
 * the signed part followed by the 64-byte signature. `ValidationError` names a bad field.
 *
 * @example
 * ```ts
 * const tenant = await provider.ed25519.generateKeyPair();
 * const bytes = await signWipeCommand(provider, tenant.privateKey, {
 *   commandId: provider.randomBytes(WIPE_COMMAND_ID_LENGTH),
 *   tenant: 'acme',
 *   userId: 'alice',
 *   deviceId: 2,
 *   issuedAt: Date.now(),
 * });
 * ```
 */
export async function signWipeCommand(
  provider: CryptoProvider,
  tenantSigningPrivateKey: Uint8Array,
  command: WipeCommand,
): Promise<Uint8Array> {
  checkBytes(tenantSigningPrivateKey, 'tenantSigningPrivateKey', 32);
  const signed = commandSignedPart(command);
  return concatBytes(signed, await provider.ed25519.sign(tenantSigningPrivateKey, signed));
}

/**
 * Parses a signed wipe command without verifying it. `DecodeError` (naming the field) on a wrong
 * label or version, truncation, an empty or oversize string, bad UTF-8 or trailing bytes.
 *
 * @example
 * ```ts
 * const { deviceId, issuedAt } = decodeWipeCommand(bytes);
 * ```
 */
export function decodeWipeCommand(bytes: Uint8Array): WipeCommand {
  return parseCommand(bytes).command;
}

/**
 * Verifies a signed wipe command: first the signature under the tenant's 32-byte Ed25519 public
 * key, then that it names exactly `expected.tenant`, `expected.userId` and `expected.deviceId`.
 * Throws {@link WipeCommandError} (`reason` `'signature'` or `'target'`) or `DecodeError`; returns
 * the command.
 *
 * @example
 * ```ts
 * const command = await verifyWipeCommand(provider, bytes, {
 *   tenantPublicKey: tenant.publicKey, // pinned at enrolment
 *   tenant: 'acme',
 *   userId: 'alice',
 *   deviceId: 2,
 * });
 * // the command is for this device: destroy the local data, then sign a report
 * ```
 */
export async function verifyWipeCommand(
  provider: CryptoProvider,
  bytes: Uint8Array,
  expected: {
    readonly tenantPublicKey: Uint8Array;
    readonly tenant: string;
    readonly userId: string;
    readonly deviceId: number;
  },
): Promise<WipeCommand> {
  if (typeof expected !== 'object' || expected === null) throw new ValidationError('expected', 'an object');
  const tenantPublicKey = checkBytes(expected.tenantPublicKey, 'expected.tenantPublicKey', 32);
  if (typeof expected.tenant !== 'string') throw new ValidationError('expected.tenant', 'a string');
  if (typeof expected.userId !== 'string') throw new ValidationError('expected.userId', 'a string');
  checkInt(expected.deviceId, 'expected.deviceId', 0, 0xffff_ffff);
  const { command, signedLength } = parseCommand(bytes);
  const valid = await provider.ed25519.verify(
    tenantPublicKey,
    bytes.subarray(0, signedLength),
    bytes.subarray(signedLength),
  );
  if (!valid) throw new WipeCommandError('signature');
  if (
    command.tenant !== expected.tenant ||
    command.userId !== expected.userId ||
    command.deviceId !== expected.deviceId
  ) {
    throw new WipeCommandError('target');
  }
  return command;
}

/**
 * Encodes `report` and signs it with the wiped device's 32-byte Ed25519 identity signing private
 * key (sign, then destroy the key). Returns the signed part followed by the 64-byte signature.
 *
 * @example
 * ```ts
 * const command = decodeWipeCommand(bytes); // verified with verifyWipeCommand before wiping
 * const report = await signWipeReport(provider, identity.signingKeyPair.privateKey, {
 *   commandId: command.commandId,
 *   wipedAt: Date.now(),
 * });
 * ```
 */
export async function signWipeReport(
  provider: CryptoProvider,
  signingPrivateKey: Uint8Array,
  report: WipeReport,
): Promise<Uint8Array> {
  checkBytes(signingPrivateKey, 'signingPrivateKey', 32);
  const signed = reportSignedPart(report);
  return concatBytes(signed, await provider.ed25519.sign(signingPrivateKey, signed));
}

/**
 * Parses a signed wipe report without verifying it (`DecodeError` on malformed input).
 *
 * @example
 * ```ts
 * const { commandId } = decodeWipeReport(bytes);
 * ```
 */
export function decodeWipeReport(bytes: Uint8Array): WipeReport {
  return parseReport(bytes);
}

/**
 * Verifies a signed wipe report under the device's 32-byte Ed25519 identity signing public key.
 * Throws {@link WipeCommandError} (`reason` `'signature'`) or `DecodeError`; returns the report.
 * The caller checks that `commandId` is the command it issued.
 *
 * @example
 * ```ts
 * async function confirmWipe(reportBytes: Uint8Array, issuedCommandId: Uint8Array): Promise<number> {
 *   const report = await verifyWipeReport(provider, reportBytes, pinned.signingKey); // the device's key
 *   if (!equalBytes(report.commandId, issuedCommandId)) throw new ForbiddenError();
 *   return report.wipedAt;
 * }
 * ```
 */
export async function verifyWipeReport(
  provider: CryptoProvider,
  bytes: Uint8Array,
  signingPublicKey: Uint8Array,
): Promise<WipeReport> {
  const publicKey = checkBytes(signingPublicKey, 'signingPublicKey', 32);
  const report = parseReport(bytes);
  const signedLength = bytes.length - SIGNATURE_BYTES;
  const valid = await provider.ed25519.verify(
    publicKey,
    bytes.subarray(0, signedLength),
    bytes.subarray(signedLength),
  );
  if (!valid) throw new WipeCommandError('signature', 'wipeReport');
  return report;
}
