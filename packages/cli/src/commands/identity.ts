/**
 * `cloister client …` for signed device lists and identities: `link-code` (on a new device: the
 * code another device of the user links it with), `link <code>` (on a linked device: signs the
 * user's next device list with the new device added), `link-status`, `safety-number <user>`
 * (with `--verify` to mark the user verified) and `identity <user>` (with `--accept` to accept a
 * verified user's changed identity). Each works on a directory made by `client enroll`, like the
 * other client commands, and needs its PIN.
 *
 * @module
 */
import type { CloisterClient } from '@cloister/client';
import { CloisterError } from '@cloister/crypto';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { printable } from '../_client.js';
import { parseUserId } from '../_options.js';
import type { ResolvedIO } from '../io.js';
import { type DirOptions, dataDirOption, linkNextStep, pinFileOption, withUnlocked } from './client.js';

interface SafetyNumberOptions extends DirOptions {
  readonly verify?: string;
}

interface IdentityOptions extends DirOptions {
  readonly accept?: boolean;
}

/** Where a device stands on its user's signed device list (what `linkStatus` resolves). */
type LinkStatus = Awaited<ReturnType<CloisterClient['linkStatus']>>;

const LINK_CODE = /^[0-9]{1,10}-[A-Za-z0-9_-]{22}$/;

function parseLinkCode(value: string): string {
  const code = value.trim();
  if (!LINK_CODE.test(code) || Number(code.slice(0, code.indexOf('-'))) > 0xffff_ffff) {
    throw new InvalidArgumentError(
      'expected a link code such as 2-AbCdEfGhIjKlMnOpQrStUv (cloister client link-code prints it on the new device).',
    );
  }
  return code;
}

function parseSafetyDigits(value: string): string {
  const digits = value.replace(/\s+/g, '');
  if (!/^[0-9]{60}$/.test(digits)) {
    throw new InvalidArgumentError('expected the 60 digits of a safety number (spaces allowed).');
  }
  return digits;
}

/** The 60 digits in 12 groups of 5, four groups a line. */
function groupDigits(digits: string): string[] {
  const groups = digits.match(/[0-9]{5}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 4) lines.push(groups.slice(i, i + 4).join(' '));
  return lines;
}

function deviceList(devices: readonly number[]): string {
  return devices.length === 0 ? 'none' : devices.join(', ');
}

function linkJson(client: CloisterClient, status: LinkStatus) {
  return {
    user: client.me.userId,
    device: client.me.deviceId,
    linked: status.linked,
    epoch: status.epoch,
    devices: status.devices,
  };
}

/** The human lines of `link-code` and `link-status`. */
function printLink(io: ResolvedIO, client: CloisterClient, status: LinkStatus, code?: string): void {
  const { userId, deviceId } = client.me;
  const user = printable(userId);
  if (code !== undefined) io.stdout(`link code: ${code}\n`);
  if (status.linked) {
    io.stdout(
      `linked: device ${deviceId} is on ${user}'s signed device list (epoch ${status.epoch}, devices ${deviceList(status.devices)})\n`,
    );
    return;
  }
  io.stdout(
    `not linked: device ${deviceId} is not on ${user}'s signed device list (epoch ${status.epoch}, devices ${deviceList(status.devices)}); it receives nothing and cannot send until it is linked\n`,
  );
  io.stdout(
    code === undefined
      ? `next: run cloister client link-code here, then cloister client link <code> on another device of ${user} that is linked\n`
      : `${linkNextStep(userId, code)}\n`,
  );
}

async function linkCode(options: DirOptions, io: ResolvedIO): Promise<void> {
  await withUnlocked(options, io, async (client) => {
    const status = await client.linkStatus();
    const code = await client.linkCode();
    if (options.json === true) {
      io.stdout(`${JSON.stringify({ code, ...linkJson(client, status) })}\n`);
      return;
    }
    printLink(io, client, status, code);
  });
}

async function linkStatus(options: DirOptions, io: ResolvedIO): Promise<void> {
  await withUnlocked(options, io, async (client) => {
    const status = await client.linkStatus();
    if (options.json === true) {
      io.stdout(`${JSON.stringify(linkJson(client, status))}\n`);
      return;
    }
    printLink(io, client, status);
  });
}

async function link(code: string, options: DirOptions, io: ResolvedIO): Promise<void> {
  const target = Number(code.slice(0, code.indexOf('-')));
  await withUnlocked(options, io, async (client) => {
    let status: LinkStatus;
    try {
      status = await client.linkDevice(code);
    } catch (error) {
      if (error instanceof CloisterError && error.code === 'ERR_DEVICE_NOT_LINKED') {
        throw new Error(
          "this device is not on its own user's signed device list, so it cannot link another: run cloister client link on a device that is linked (cloister client link-status says whether one is)",
          { cause: error },
        );
      }
      if (error instanceof CloisterError && error.code === 'ERR_INVALID_KEY') {
        throw new Error(
          `no enrolled device of ${printable(client.me.userId)} matches the link code: check the code the new device shows (cloister client link-code) and that it was enrolled for this user`,
          { cause: error },
        );
      }
      throw error;
    }
    if (options.json === true) {
      io.stdout(
        `${JSON.stringify({ linkedDevice: target, epoch: status.epoch, devices: status.devices })}\n`,
      );
      return;
    }
    const user = printable(client.me.userId);
    io.stdout(
      `linked device ${target} of ${user}: signed device list epoch ${status.epoch}, devices ${deviceList(status.devices)}\n`,
    );
    io.stdout(
      `${user}'s other devices and contacts see it when they next fetch the list; the safety number with each contact changed\n`,
    );
  });
}

async function safetyNumber(user: string, options: SafetyNumberOptions, io: ResolvedIO): Promise<void> {
  await withUnlocked(options, io, async (client) => {
    let digits: string;
    try {
      digits = (await client.safetyNumber(user)).digits.replace(/\s+/g, '');
    } catch (error) {
      if (error instanceof CloisterError && error.code === 'ERR_USAGE') {
        throw new Error(
          `no signed device list is known for ${printable(user)}: check the user id (a user none of whose devices published a list has no safety number)`,
          { cause: error },
        );
      }
      throw error;
    }
    const match =
      options.verify === undefined ? undefined : await client.verifySafetyNumber(user, options.verify);
    const { verified } = await client.identityStatus(user);
    const who = printable(user);
    if (options.json === true) {
      io.stdout(`${JSON.stringify({ user, digits, verified, ...(match === undefined ? {} : { match }) })}\n`);
    } else {
      io.stdout(`safety number with ${who}:\n`);
      for (const line of groupDigits(digits)) io.stdout(`  ${line}\n`);
      if (match === true) io.stdout(`the numbers match: ${who} is verified\n`);
      else if (match === undefined) {
        io.stdout(
          verified
            ? `${who} is verified\n`
            : `${who} is not verified: compare it with the number ${who}'s device shows, then run cloister client safety-number ${who} --verify "<their digits>"\n`,
        );
      }
    }
    if (match === false) {
      throw new Error(
        `the safety numbers do not match: ${who} is ${verified ? 'still verified from an earlier comparison of another number' : 'not verified'}; the two devices do not see the same device keys (a device was added on one side since, or someone is in the middle)`,
      );
    }
  });
}

async function identity(user: string, options: IdentityOptions, io: ResolvedIO): Promise<void> {
  await withUnlocked(options, io, async (client) => {
    const accepted = options.accept === true ? await client.acceptIdentityChange(user) : undefined;
    const status = await client.identityStatus(user);
    if (options.json === true) {
      io.stdout(
        `${JSON.stringify({
          user,
          verified: status.verified,
          held: status.held,
          devices: status.devices,
          quarantined: status.quarantined,
          ...(accepted === undefined ? {} : { accepted }),
        })}\n`,
      );
      return;
    }
    const who = printable(user);
    if (accepted === true) {
      io.stdout(
        `accepted the changed identity of ${who}: sending resumes and what was held is processed; ${who} is no longer verified (compare safety numbers again)\n`,
      );
    } else if (accepted === false) {
      io.stdout(`no changed identity of ${who} was held: nothing to accept\n`);
    }
    io.stdout(`${who}: ${status.verified ? 'verified' : 'not verified'}\n`);
    io.stdout(
      `devices on ${who}'s pinned list: ${status.devices.length === 0 ? `none (this device has not fetched ${who}'s list yet)` : status.devices.join(', ')}\n`,
    );
    io.stdout(
      `identity change held: ${status.held ? `yes (nothing is sent to ${who}; accept it with cloister client identity ${who} --accept)` : 'no'}\n`,
    );
    io.stdout(`deliveries in quarantine: ${status.quarantined}\n`);
  });
}

/**
 * Adds the device-list and identity commands to `cloister client` (the command
 * `registerClientCommands` returns).
 *
 * @example
 * ```ts
 * registerIdentityCommands(registerClientCommands(program, io), io);
 * ```
 */
export function registerIdentityCommands(client: Command, io: ResolvedIO): Command {
  client
    .command('link-code')
    .description("print this device's link code and whether it is linked")
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .option('--json', 'print one JSON line {"code","user","device","linked","epoch","devices"}')
    .action((options: DirOptions) => linkCode(options, io));

  client
    .command('link')
    .description("link the user's device showing <code>; prints the new device list's epoch and devices")
    .argument('<code>', 'the link code the new device shows (client link-code)', parseLinkCode)
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .option('--json', 'print one JSON line {"linkedDevice","epoch","devices"}')
    .action((code: string, options: DirOptions) => link(code, options, io));

  client
    .command('link-status')
    .description("whether this device is on its user's signed device list, the list's epoch and devices")
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .option('--json', 'print one JSON line {"user","device","linked","epoch","devices"}')
    .action((options: DirOptions) => linkStatus(options, io));

  client
    .command('safety-number')
    .description(
      "print the safety number with <user> (60 digits, over both users' devices); --verify compares and marks verified",
    )
    .argument('<user>', 'the other user', parseUserId)
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .addOption(
      new Option(
        '--verify <digits>',
        "the number the other user's device shows (spaces allowed); exit 1 when it does not match",
      ).argParser(parseSafetyDigits),
    )
    .option('--json', 'print one JSON line {"user","digits","verified","match"}')
    .action((user: string, options: SafetyNumberOptions) => safetyNumber(user, options, io));

  client
    .command('identity')
    .description('what this device trusts of <user>: verified, a held identity change, devices, quarantine')
    .argument('<user>', 'the other user', parseUserId)
    .addOption(dataDirOption())
    .addOption(pinFileOption())
    .option('--accept', "accept the user's changed identity (held because it was verified)")
    .option('--json', 'print one JSON line {"user","verified","held","devices","quarantined","accepted"}')
    .action((user: string, options: IdentityOptions) => identity(user, options, io));
  return client;
}
