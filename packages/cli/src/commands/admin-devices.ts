/**
 * `cloister admin devices …`: a user's devices (list, block, unblock) and remote wipes. A wipe is
 * an organisation object signed here, on the administrator's machine, with the signing key of the
 * administrator directory; the server stores it and the device carries it out only when it
 * verifies against the organisation root the device pinned. `admit` is zero-touch admission
 * (`spec/device-lists.md` §5): the next device list of a user that adds an enrolled device, signed
 * here with that key; `admit --managed` admits every device enrolled through a managed token that
 * its user's list lacks.
 *
 * @module
 */
import { type Command, InvalidArgumentError } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
} from '../_admin.js';
import { parseUserId } from '../_options.js';
import type { ResolvedIO } from '../io.js';

function parseDevice(value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 0xffff_ffff) {
    throw new InvalidArgumentError('expected a device id (a whole number from 1).');
  }
  return Number(value);
}

const user = (v: string) => parseUserId(v) as string;
const when = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * What `admin devices wipe --json` and `admin devices wipe-status --json` print.
 *
 * @example
 * ```ts
 * const status: WipeJson = JSON.parse(stdout);
 * if (status.state === 'confirmed') console.log('the device reported the wipe');
 * ```
 */
export interface WipeJson {
  /** The user id. */
  readonly user: string;
  /** The device id within the user. */
  readonly device: number;
  /** `none`, `pending` (published, not yet reported by the device) or `confirmed`. */
  readonly state: 'none' | 'pending' | 'confirmed';
  /** The wipe command's id (base64url of 16 bytes), or null without a wipe. */
  readonly commandId: string | null;
  /** When the wipe was published, ISO 8601, or null. */
  readonly issuedAt: string | null;
  /** When the device's signed report arrived, ISO 8601, or null. */
  readonly confirmedAt: string | null;
}

/**
 * What `admin devices admit --json` prints.
 *
 * @example
 * ```ts
 * const { admitted, skipped }: AdmitJson = JSON.parse(stdout);
 * for (const a of admitted) console.log(`${a.user}/${a.device} admitted at epoch ${a.epoch}`);
 * ```
 */
export interface AdmitJson {
  /** The devices admitted, with the epoch of the list that admits each. */
  readonly admitted: readonly { readonly user: string; readonly device: number; readonly epoch: number }[];
  /** Devices not admitted and why. */
  readonly skipped: readonly { readonly user: string; readonly device: number; readonly reason: string }[];
}

function describeAdmit(r: AdmitJson): string {
  const lines = r.admitted.map(
    (a) => `admitted device ${a.device} of user ${a.user} (list epoch ${a.epoch})\n`,
  );
  for (const k of r.skipped) lines.push(`skipped device ${k.device} of user ${k.user}: ${k.reason}\n`);
  return lines.length === 0 ? 'nothing to admit\n' : lines.join('');
}

function describeWipe(s: WipeJson): string {
  const who = `device ${s.device} of user ${s.user}`;
  if (s.state === 'none') return `no wipe for ${who}\n`;
  if (s.state === 'pending') {
    return `wipe pending for ${who}: command ${s.commandId}, issued ${s.issuedAt}; the device is blocked and wipes itself when it next connects\n`;
  }
  return `wipe confirmed for ${who}: command ${s.commandId}, issued ${s.issuedAt}, confirmed ${s.confirmedAt}\n`;
}

/**
 * Adds `cloister admin devices …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminDeviceCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminDeviceCommands(admin: Command, io: ResolvedIO): Command {
  const devices = admin.command('devices').description("a user's devices and remote wipes");
  addAdminOptions(
    devices.command('list').description("list a user's devices").argument('<user>', 'the user id', user),
  ).action(async (u: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const list = await client.listDevices(u).catch(explainAdminError);
    output(io, options, list, (l) =>
      l.items
        .map(
          (d) =>
            `device ${d.id}: enrolled ${when(d.createdAt)}, last seen ${when(d.lastSeenAt) ?? 'never'}, version ${d.clientVersion ?? 'unknown'}${d.blocked ? ', blocked' : ''}\n`,
        )
        .join(''),
    );
  });
  for (const name of ['block', 'unblock'] as const) {
    addAdminOptions(
      devices
        .command(name)
        .description(`${name} one device`)
        .argument('<user>', 'the user id', user)
        .argument('<device>', 'the device id', parseDevice),
    ).action(async (u: string, device: number, options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const d = await (name === 'block'
        ? client.blockDevice(u, device)
        : client.unblockDevice(u, device)
      ).catch(explainAdminError);
      output(io, options, d, (v) => `device ${v.id} of ${u} is ${v.blocked ? 'blocked' : 'not blocked'}\n`);
    });
  }
  addAdminOptions(
    devices
      .command('wipe')
      .description(
        'sign a wipe command for one device with your signing key and publish it (fresh second factor)',
      )
      .argument('<user>', 'the user id', user)
      .argument('<device>', 'the device id', parseDevice),
    'print one JSON line {"user","device","state","commandId","issuedAt","confirmedAt"}',
  ).action(async (u: string, device: number, options: AdminOptionValues) => {
    const { client, provider, dir, passphrase } = await openAdminSession(options, io);
    const key = await openAdminSigningKey(dir, provider, passphrase);
    const { signWipe } = await import('@cloister/admin');
    await signWipe({ provider, key, client }, { user: u, device }).catch(explainAdminError);
    const s = await client.getWipe(u, device).catch(explainAdminError);
    const out: WipeJson = {
      user: u,
      device,
      state: s.state,
      commandId: s.commandId,
      issuedAt: when(s.issuedAt),
      confirmedAt: when(s.confirmedAt),
    };
    output(io, options, out, describeWipe);
  });
  addAdminOptions(
    devices
      .command('admit')
      .description(
        'admit enrolled devices to their user’s device list by the organisation, signed with your signing key: one device, or with --managed every device enrolled through a managed token',
      )
      .argument('[user]', 'the user id (with [device]: that device; with --managed: only that user)', user)
      .argument('[device]', 'the device id', parseDevice)
      .option('--managed', 'admit every device enrolled through a managed token that its user’s list lacks'),
    'print one JSON line {"admitted":[{"user","device","epoch"}],"skipped":[{"user","device","reason"}]}',
  ).action(
    async (
      u: string | undefined,
      device: number | undefined,
      options: AdminOptionValues & { readonly managed?: boolean },
    ) => {
      if (options.managed === true ? device !== undefined : u === undefined || device === undefined) {
        throw new InvalidArgumentError('expected <user> <device>, or --managed with at most a user.');
      }
      const { client, provider, dir, passphrase } = await openAdminSession(options, io);
      const key = await openAdminSigningKey(dir, provider, passphrase);
      const signer = { provider, key, client };
      const report: AdmitJson =
        options.managed === true
          ? await client.devices
              .admitManaged(signer, u === undefined ? {} : { users: [u] })
              .catch(explainAdminError)
          : {
              admitted: [
                await client.devices
                  .admit(signer, { user: u as string, device: device as number })
                  .catch(explainAdminError),
              ],
              skipped: [],
            };
      output(io, options, report, describeAdmit);
    },
  );
  addAdminOptions(
    devices
      .command('wipe-status')
      .description('whether a device has a wipe, pending or confirmed')
      .argument('<user>', 'the user id', user)
      .argument('<device>', 'the device id', parseDevice),
    'print one JSON line {"user","device","state","commandId","issuedAt","confirmedAt"}',
  ).action(async (u: string, device: number, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const s = await client.getWipe(u, device).catch(explainAdminError);
    const out: WipeJson = {
      user: u,
      device,
      state: s.state,
      commandId: s.commandId,
      issuedAt: when(s.issuedAt),
      confirmedAt: when(s.confirmedAt),
    };
    output(io, options, out, describeWipe);
  });
  return devices;
}
