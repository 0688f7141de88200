/**
 * `cloister device wipe` and `cloister device wipe-status`: the administrator's side of a remote
 * wipe, run offline against the server's storage like `tenant create` (the data-directory lock is
 * taken; with PostgreSQL a server may keep running). The device carries the wipe out when it next
 * asks the server (`client listen`, `client send`, `client wipe-status --check` or any app).
 *
 * @module
 */
import { type DeviceId, deviceId } from '@cloister/crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import { NotFoundError } from '@cloister/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseTenantId, parseUserId } from '../_options.js';
import { addStorageOptions, type StorageOptionValues, withStoredServer } from '../_storage.js';
import type { ResolvedIO } from '../io.js';

interface TargetOptions extends StorageOptionValues {
  readonly tenant: TenantId;
  readonly user: UserId;
  readonly device: DeviceId;
  readonly json?: boolean;
}

/**
 * What `device wipe-status --json` prints (`device wipe --json` prints `commandId` and `state`
 * `pending` or `confirmed` the same way).
 *
 * @example
 * ```ts
 * const status: DeviceWipeJson = JSON.parse(stdout);
 * if (status.state === 'confirmed') console.log('the device reported the wipe');
 * ```
 */
export interface DeviceWipeJson {
  readonly tenant: string;
  readonly user: string;
  readonly device: number;
  readonly state: 'none' | 'pending' | 'confirmed';
  readonly commandId: string | null;
  readonly issuedAt: string | null;
  readonly confirmedAt: string | null;
}

function parseDeviceId(value: string): DeviceId {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('expected a device id (a whole number from 1).');
  try {
    return deviceId(Number(value), 'device');
  } catch {
    throw new InvalidArgumentError('expected a device id (a whole number from 1).');
  }
}

function notFound(error: unknown): never {
  if (error instanceof NotFoundError) {
    throw new Error('no such device (check --tenant, --user and --device)', { cause: error });
  }
  throw error;
}

async function status(options: TargetOptions): Promise<DeviceWipeJson> {
  const target = { tenant: options.tenant, user: options.user, device: options.device };
  const { wipeStatus } = await import('@cloister/server');
  const s = await withStoredServer(options, 'device', (context) =>
    wipeStatus(context, target).catch(notFound),
  );
  return {
    tenant: options.tenant,
    user: options.user,
    device: options.device,
    state: s.state,
    commandId: s.state === 'none' ? null : s.commandId,
    issuedAt: s.state === 'none' ? null : new Date(s.issuedAt).toISOString(),
    confirmedAt: s.state === 'confirmed' ? new Date(s.confirmedAt).toISOString() : null,
  };
}

function describe(s: DeviceWipeJson): string {
  const who = `device ${s.device} of user ${s.user} (tenant ${s.tenant})`;
  if (s.state === 'none') return `no wipe for ${who}\n`;
  if (s.state === 'pending') {
    return `wipe pending for ${who}: command ${s.commandId}, issued ${s.issuedAt}; the device is blocked and wipes itself when it next connects\n`;
  }
  return `wipe confirmed for ${who}: command ${s.commandId}, issued ${s.issuedAt}, confirmed ${s.confirmedAt}\n`;
}

async function wipe(options: TargetOptions, io: ResolvedIO): Promise<void> {
  const target = { tenant: options.tenant, user: options.user, device: options.device };
  const { issueWipe, wipeStatus } = await import('@cloister/server');
  const s = await withStoredServer(options, 'device', async (context) => {
    await issueWipe(context, target, { actor: 'cli' }).catch(notFound);
    return wipeStatus(context, target);
  });
  if (s.state === 'none') throw new Error('the wipe was not recorded');
  const out: DeviceWipeJson = {
    tenant: options.tenant,
    user: options.user,
    device: options.device,
    state: s.state,
    commandId: s.commandId,
    issuedAt: new Date(s.issuedAt).toISOString(),
    confirmedAt: s.state === 'confirmed' ? new Date(s.confirmedAt).toISOString() : null,
  };
  io.stdout(options.json === true ? `${JSON.stringify(out)}\n` : describe(out));
}

function addTargetOptions(command: Command): Command {
  command
    .addOption(new Option('--tenant <id>', 'the tenant').argParser(parseTenantId).makeOptionMandatory())
    .addOption(
      new Option('--user <id>', 'the user the device belongs to')
        .argParser(parseUserId)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--device <n>', 'the device id (client enroll prints it)')
        .argParser(parseDeviceId)
        .makeOptionMandatory(),
    )
    .option(
      '--json',
      'print one JSON line {"tenant","user","device","state","commandId","issuedAt","confirmedAt"}',
    );
  return addStorageOptions(command);
}

/**
 * Adds `cloister device …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerDeviceCommands(program, resolveIO());
 * ```
 */
export function registerDeviceCommands(program: Command, io: ResolvedIO): Command {
  const device = program.command('device').description("manage a user's devices in the server storage");
  addTargetOptions(
    device
      .command('wipe')
      .description('order a remote wipe of one device (signed with the tenant key); prints the command id'),
  ).action((options: TargetOptions) => wipe(options, io));
  addTargetOptions(
    device.command('wipe-status').description('whether a device has a wipe, pending or confirmed'),
  ).action(async (options: TargetOptions) => {
    const s = await status(options);
    io.stdout(options.json === true ? `${JSON.stringify(s)}\n` : describe(s));
  });
  return device;
}
