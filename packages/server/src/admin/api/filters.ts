/**
 * Filters over a tenant's users and devices (`spec/bulk.md` §2): the filter model (zod schemas
 * and pure predicates over the stored `User` and `Device` records), the opaque paging cursor, the
 * bounded scan behind it, and the two search operations `findUsers` (`users.read`) and
 * `findDevices` (`devices.read`), both `GET` with the criteria in the query string.
 *
 * A scan reads the tenant's users in the store's stable order (user id, or its hash under
 * encryption at rest) — or, when the filter names a pool, that pool's member index — and reads
 * a user's devices only when a criterion or the answer needs them. One request reads at most
 * {@link SCAN_BUDGET} users; the cursor it answers continues after the last user it read, so a
 * page may hold fewer items than asked (even none) while `next` is still given.
 *
 * The `compliant` criterion checks a device's latest compliance report against its user's policy
 * with `deviceCompliance` (`spec/restrictions.md` §6), as `GET /admin/v1/compliance` does.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, userId } from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { type Device, ROLES, type ServerStoreSet, type User } from '../../store/index.js';
import { DEFAULT_COMPLIANCE_MAX_AGE_MS, deviceCompliance, restrictionsInForce } from './compliance.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, deviceView, identifier, pageLimit, queryInt, userView } from './schemas.js';
import { deviceViewOf, userViewOf } from './views.js';

/**
 * Most users one search request reads (the cost bound of a page).
 *
 * @example
 * ```ts
 * console.log(SCAN_BUDGET); // 2000
 * ```
 */
export const SCAN_BUDGET = 2000;

/**
 * Most items one search page answers.
 *
 * @example
 * ```ts
 * console.log(MAX_FIND_PAGE); // 500
 * ```
 */
export const MAX_FIND_PAGE = 500;

/**
 * A user's status as filters see it: `blocked` wins; otherwise `never-enrolled` while the user
 * has no device, else `active`.
 *
 * @example
 * ```ts
 * const status: UserStatus = 'never-enrolled';
 * ```
 */
export type UserStatus = 'active' | 'blocked' | 'never-enrolled';

const DOMAIN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is exactly "no control characters"
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().min(1).max(max).regex(NO_CONTROL, 'no control characters');

const common = {
  pool: identifier.optional().describe('Members of this pool.'),
  domain: z
    .string()
    .regex(DOMAIN, 'a domain name')
    .optional()
    .describe(
      'E-mail domain (the user’s address, or the part of the user id after its last @ when the user has none); exact, case-insensitive.',
    ),
  text: text(128)
    .optional()
    .describe('Case-insensitive substring of the display name, e-mail address or user id.'),
  role: z
    .enum(ROLES as unknown as [string, ...string[]])
    .optional()
    .describe('Users holding this role.'),
  lastSeenBefore: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Last seen before this time (ms); never seen counts as before any time.'),
  lastSeenAfter: z.number().int().min(0).optional().describe('Last seen at or after this time (ms).'),
  clientVersion: text(64).optional().describe('Reported client version starts with this (case-insensitive).'),
  appVersion: text(64).optional().describe('Reported app version starts with this (case-insensitive).'),
  platform: text(64)
    .optional()
    .describe('Reported platform (OS and version) starts with this (case-insensitive).'),
  compliant: z
    .boolean()
    .optional()
    .describe(
      'Policy compliance (reasons missing, revision, stale, not-enforced; reports older than 24 h are stale). A device: its latest report. A user: compliant unless one of their active devices is not.',
    ),
};

/**
 * A filter over users (every criterion given must hold). Device criteria (`lastSeen…`, the
 * versions, the platform) hold for a user when they hold for at least one of the user's devices,
 * except `lastSeenBefore`, which compares the user's most recent sighting over all devices, and
 * `compliant`: a user is non-compliant when at least one of their active devices (not blocked,
 * user not blocked) is, compliant otherwise (also when they have no active device).
 *
 * @example
 * ```ts
 * const filter = userFilterSchema.parse({ status: 'active', pool: 'ward-3', lastSeenBefore: Date.now() - 30 * 86_400_000 });
 * ```
 */
export const userFilterSchema = z
  .object({
    status: z.enum(['active', 'blocked', 'never-enrolled']).optional(),
    ...common,
  })
  .strict();
ADMIN_SCHEMAS.add(userFilterSchema, {
  id: 'UserFilter',
  description: 'A filter over the users of a tenant.',
});

/**
 * A filter over devices: `status` is the device's own (`blocked` when the device or its user is
 * blocked); the user criteria (`pool`, `domain`, `text`, `role`) apply to the device's user;
 * `compliant` is the device's own compliance (blocked devices included).
 *
 * @example
 * ```ts
 * const filter = deviceFilterSchema.parse({ clientVersion: '@cloister/client/0.1', status: 'active' });
 * ```
 */
export const deviceFilterSchema = z
  .object({
    status: z.enum(['active', 'blocked']).optional(),
    ...common,
  })
  .strict();
ADMIN_SCHEMAS.add(deviceFilterSchema, {
  id: 'DeviceFilter',
  description: 'A filter over the devices of a tenant.',
});

/**
 * A user filter as parsed.
 *
 * @example
 * ```ts
 * const filter: UserFilter = { status: 'blocked', domain: 'acme.example' };
 * ```
 */
export type UserFilter = z.infer<typeof userFilterSchema>;

/**
 * A device filter as parsed.
 *
 * @example
 * ```ts
 * const filter: DeviceFilter = { status: 'active', platform: 'iOS 17' };
 * ```
 */
export type DeviceFilter = z.infer<typeof deviceFilterSchema>;

/**
 * The status of `user` with `devices`.
 *
 * @example
 * ```ts
 * userStatus(user, await stores.devices.list(tenant, user.id)); // 'active'
 * ```
 */
export function userStatus(user: User, devices: readonly Device[]): UserStatus {
  if (user.blocked) return 'blocked';
  return devices.length === 0 ? 'never-enrolled' : 'active';
}

/**
 * The most recent time any of `devices` was seen, or `null`.
 *
 * @example
 * ```ts
 * const seen = lastSeenOf(await stores.devices.list(tenant, user)); // null when never seen
 * ```
 */
export function lastSeenOf(devices: readonly Device[]): number | null {
  let best: number | null = null;
  for (const d of devices)
    if (d.lastSeenAt !== null && (best === null || d.lastSeenAt > best)) best = d.lastSeenAt;
  return best;
}

/**
 * The e-mail domain a filter compares for `user`: its address's, or the part of its id after the
 * last `@`, lower-cased; `null` when neither has one.
 *
 * @example
 * ```ts
 * domainOf(user); // 'acme.example'
 * ```
 */
export function domainOf(user: User): string | null {
  const address = user.email ?? (user.id.includes('@') ? user.id : null);
  if (address === null) return null;
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

const startsWith = (value: string | undefined, prefix: string | undefined) =>
  prefix === undefined || value?.toLowerCase().startsWith(prefix.toLowerCase()) === true;

/**
 * Whether a filter's device criteria need the user's devices.
 *
 * @example
 * ```ts
 * needsDevices({ pool: 'ward-3' }); // false
 * ```
 */
export function needsDevices(filter: UserFilter | DeviceFilter): boolean {
  return (
    filter.status !== undefined ||
    filter.lastSeenBefore !== undefined ||
    filter.lastSeenAfter !== undefined ||
    filter.clientVersion !== undefined ||
    filter.appVersion !== undefined ||
    filter.platform !== undefined ||
    filter.compliant !== undefined
  );
}

/**
 * The compliance of devices: for each device given (of one user), whether it is compliant.
 *
 * @example
 * ```ts
 * const check: ComplianceCheck = async (_user, devices) => new Map(devices.map((d) => [d.id as number, true]));
 * ```
 */
export type ComplianceCheck = (
  user: User,
  devices: readonly Device[],
) => Promise<ReadonlyMap<number, boolean>>;

/**
 * The compliance check of `tenant` over the stores `s` (those of the caller's transaction): each
 * device's latest report against its user's policy with `deviceCompliance`, at `ctx.now()`,
 * a report older than `maxAgeMs` (default `DEFAULT_COMPLIANCE_MAX_AGE_MS`) being stale. The
 * user's policy is read once per call, and only when the user has devices to check.
 *
 * @example
 * ```ts
 * const page = await ctx.stores.transaction((s) =>
 *   scanUsers(s, tenant, { compliant: false }, { f }, { limit: 100, compliance: complianceCheck(ctx, s, tenant) }),
 * );
 * ```
 */
export function complianceCheck(
  ctx: ServerContext,
  s: ServerStoreSet,
  tenant: TenantId,
  maxAgeMs: number = DEFAULT_COMPLIANCE_MAX_AGE_MS,
): ComplianceCheck {
  // The policy is resolved through the caller's transaction (one connection, one snapshot).
  const bound: ServerContext = { ...ctx, stores: { ...s, transaction: (fn) => fn(s) } };
  return async (user, devices) => {
    const out = new Map<number, boolean>();
    if (devices.length === 0) return out;
    const inForce = await restrictionsInForce(bound, tenant, user.id);
    const now = ctx.now();
    for (const d of devices) {
      const report = await s.compliance.get(tenant, user.id, d.id);
      out.set(d.id, deviceCompliance(report, inForce, now, maxAgeMs).compliant);
    }
    return out;
  };
}

/** The devices whose compliance counts for a user: not blocked, and none when the user is. */
const activeDevices = (user: User, devices: readonly Device[]) =>
  user.blocked ? [] : devices.filter((d) => !d.blocked);

const NO_CHECK = () => new ValidationError('compliant', 'a scan given a compliance check');

function checkOf(check: ComplianceCheck | undefined): ComplianceCheck {
  if (check === undefined) throw NO_CHECK();
  return check;
}

/**
 * Whether `user` meets the filter's user criteria (pool, domain, text, role), which need no device.
 *
 * @example
 * ```ts
 * matchesUserFields({ domain: 'acme.example' }, user); // true for alice@acme.example
 * ```
 */
export function matchesUserFields(filter: UserFilter | DeviceFilter, user: User): boolean {
  if (filter.pool !== undefined && !user.pools.includes(filter.pool as PoolId)) return false;
  if (filter.role !== undefined && !(user.roles as readonly string[]).includes(filter.role)) return false;
  if (filter.domain !== undefined && domainOf(user) !== filter.domain.toLowerCase()) return false;
  if (filter.text !== undefined) {
    const needle = filter.text.toLowerCase();
    const hay = [user.displayName, user.email ?? '', user.id].map((s) => s.toLowerCase());
    if (!hay.some((s) => s.includes(needle))) return false;
  }
  return true;
}

function deviceMatches(filter: UserFilter | DeviceFilter, d: Device): boolean {
  if (filter.lastSeenAfter !== undefined && (d.lastSeenAt === null || d.lastSeenAt < filter.lastSeenAfter))
    return false;
  return (
    startsWith(d.clientVersion, filter.clientVersion) &&
    startsWith(d.appVersion, filter.appVersion) &&
    startsWith(d.platform, filter.platform)
  );
}

/**
 * Whether `user` with `devices` meets every criterion of `filter`; `compliance` (the compliance of
 * the user's active devices, by device id) is needed when the filter has `compliant`.
 *
 * @example
 * ```ts
 * matchesUser({ status: 'never-enrolled' }, user, []); // true unless the user is blocked
 * ```
 */
export function matchesUser(
  filter: UserFilter,
  user: User,
  devices: readonly Device[],
  compliance?: ReadonlyMap<number, boolean>,
): boolean {
  if (!matchesUserFields(filter, user)) return false;
  if (filter.compliant !== undefined) {
    if (compliance === undefined) throw NO_CHECK();
    const compliant = activeDevices(user, devices).every((d) => compliance.get(d.id) === true);
    if (compliant !== filter.compliant) return false;
  }
  if (filter.status !== undefined && userStatus(user, devices) !== filter.status) return false;
  if (filter.lastSeenBefore !== undefined) {
    const seen = lastSeenOf(devices);
    if (seen !== null && seen >= filter.lastSeenBefore) return false;
  }
  const perDevice =
    filter.lastSeenAfter !== undefined ||
    filter.clientVersion !== undefined ||
    filter.appVersion !== undefined ||
    filter.platform !== undefined;
  return !perDevice || devices.some((d) => deviceMatches(filter, d));
}

/**
 * Whether `device` of `user` meets every criterion of `filter`; `compliant` (the device's
 * compliance) is needed when the filter has `compliant`.
 *
 * @example
 * ```ts
 * matchesDevice({ status: 'active', clientVersion: '@cloister/client/0.1' }, user, device);
 * ```
 */
export function matchesDevice(
  filter: DeviceFilter,
  user: User,
  device: Device,
  compliant?: boolean,
): boolean {
  if (!matchesUserFields(filter, user)) return false;
  if (filter.compliant !== undefined) {
    if (compliant === undefined) throw NO_CHECK();
    if (compliant !== filter.compliant) return false;
  }
  if (filter.status !== undefined) {
    const blocked = user.blocked || device.blocked;
    if ((filter.status === 'blocked') !== blocked) return false;
  }
  if (
    filter.lastSeenBefore !== undefined &&
    device.lastSeenAt !== null &&
    device.lastSeenAt >= filter.lastSeenBefore
  )
    return false;
  return deviceMatches(filter, device);
}

/**
 * Where a scan continues: after user `u`; with `d`, user `u` is not finished and its devices
 * continue after device `d`. `f` binds the cursor to the filter it was made for.
 *
 * @example
 * ```ts
 * const position: ScanPosition = { u: 'alice', d: 2, f: 'x1y2…' };
 * ```
 */
export interface ScanPosition {
  /** The last user read. */
  readonly u?: string;
  /** The last device answered of user `u` (device scans), when `u` has more. */
  readonly d?: number;
  /** The filter's digest (base64url, 16 bytes). */
  readonly f: string;
}

/**
 * A digest of a filter (its criteria in key order), that binds a cursor to it.
 *
 * @example
 * ```ts
 * const f = await filterDigest(ctx, 'users', { pool: 'ward-3' });
 * ```
 */
export async function filterDigest(
  ctx: Pick<ServerContext, 'provider'>,
  kind: 'users' | 'devices',
  filter: UserFilter | DeviceFilter,
): Promise<string> {
  const entries = Object.entries(filter)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const digest = await ctx.provider.sha256(new TextEncoder().encode(JSON.stringify([kind, entries])));
  return Buffer.from(digest.subarray(0, 16)).toString('base64url');
}

/**
 * The opaque cursor of a position (`c1.` and base64url JSON).
 *
 * @example
 * ```ts
 * const next = encodeCursor({ u: 'alice', f });
 * ```
 */
export function encodeCursor(position: ScanPosition): string {
  return `c1.${Buffer.from(JSON.stringify(position)).toString('base64url')}`;
}

/**
 * Reads a cursor made for the filter digest `f`; `ValidationError('after')` for anything else
 * (a cursor of another filter, a damaged one).
 *
 * @example
 * ```ts
 * const position = decodeCursor(query.after, f);
 * ```
 */
export function decodeCursor(cursor: string, f: string): ScanPosition {
  const fail = (): never => {
    throw new ValidationError('after', 'a cursor answered for this filter');
  };
  if (!cursor.startsWith('c1.') || cursor.length > 512) return fail();
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(cursor.slice(3), 'base64url').toString('utf8'));
  } catch {
    return fail();
  }
  if (typeof o !== 'object' || o === null) return fail();
  const { u, d, f: g } = o as Record<string, unknown>;
  if (g !== f) return fail();
  if (u !== undefined && !identifier.safeParse(u).success) return fail();
  if (
    d !== undefined &&
    (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 0xffff_ffff || u === undefined)
  )
    return fail();
  return {
    f,
    ...(u === undefined ? {} : { u: u as string }),
    ...(d === undefined ? {} : { d: d as number }),
  };
}

/**
 * One user a scan read, with its devices when they were read.
 *
 * @example
 * ```ts
 * const hit: ScannedUser = { user, devices: null };
 * ```
 */
export interface ScannedUser {
  /** The user. */
  readonly user: User;
  /** The user's devices in id order, or `null` when the scan did not need them. */
  readonly devices: Device[] | null;
}

/**
 * Reads the users of `tenant` after `after`, in the store's order (the pool's member index when
 * the filter names a pool), `limit` at most; `next` when there may be more.
 */
async function readUsers(
  s: ServerStoreSet,
  tenant: TenantId,
  pool: string | undefined,
  after: string | undefined,
  limit: number,
): Promise<{ users: User[]; last: string | undefined; more: boolean }> {
  const page = { ...(after === undefined ? {} : { after }), limit };
  if (pool === undefined) {
    const p = await s.users.list(tenant, page);
    return { users: p.items, last: p.items[p.items.length - 1]?.id, more: p.next !== undefined };
  }
  const p = await s.users.listByPool(tenant, poolId(pool), page);
  const users: User[] = [];
  for (const id of p.items) {
    const u = await s.users.get(tenant, id);
    if (u !== undefined) users.push(u);
  }
  return { users, last: p.items[p.items.length - 1], more: p.next !== undefined };
}

/**
 * Scans users after `position.u` and answers at most `limit` that meet `filter` (reading at most
 * `budget` users), with the position to continue from, or none when the scan reached the end.
 * `withDevices`: read every matching user's devices even when the filter does not need them;
 * `compliance`: the check a `compliant` criterion uses (required when the filter has one).
 *
 * @example
 * ```ts
 * const { items, next } = await scanUsers(ctx.stores, tenant, { status: 'blocked' }, { f }, { limit: 100 });
 * ```
 */
export async function scanUsers(
  s: ServerStoreSet,
  tenant: TenantId,
  filter: UserFilter,
  position: ScanPosition,
  options: {
    readonly limit: number;
    readonly budget?: number;
    readonly withDevices?: boolean;
    readonly compliance?: ComplianceCheck;
  },
): Promise<{ items: ScannedUser[]; next?: ScanPosition; scanned: number }> {
  const budget = options.budget ?? SCAN_BUDGET;
  const devicesNeeded = needsDevices(filter);
  const items: ScannedUser[] = [];
  let after = position.u;
  let scanned = 0;
  for (;;) {
    const want = Math.max(1, Math.min(200, budget - scanned));
    const { users, last, more } = await readUsers(s, tenant, filter.pool, after, want);
    for (let i = 0; i < users.length; i++) {
      const user = users[i] as User;
      scanned++;
      after = user.id;
      if (!matchesUserFields(filter, user)) continue;
      const devices =
        devicesNeeded || options.withDevices === true
          ? (await s.devices.list(tenant, user.id)).sort((a, b) => a.id - b.id)
          : null;
      const compliance =
        filter.compliant !== undefined && devices !== null
          ? await checkOf(options.compliance)(user, activeDevices(user, devices))
          : undefined;
      if (devices !== null && !matchesUser(filter, user, devices, compliance)) continue;
      items.push({ user, devices });
      if (items.length >= options.limit) {
        const exhausted = !more && i === users.length - 1;
        return { items, scanned, ...(exhausted ? {} : { next: { f: position.f, u: user.id } }) };
      }
    }
    if (last !== undefined) after = last;
    if (!more) return { items, scanned };
    if (scanned >= budget)
      return { items, scanned, next: { f: position.f, ...(after === undefined ? {} : { u: after }) } };
  }
}

/**
 * One device a device scan answered, with its user.
 *
 * @example
 * ```ts
 * const hit: ScannedDevice = { user, device };
 * ```
 */
export interface ScannedDevice {
  /** The device's user. */
  readonly user: User;
  /** The device. */
  readonly device: Device;
}

/**
 * Scans devices (user by user, in the users' order, each user's devices in id order) after
 * `position` and answers at most `limit` that meet `filter`, reading at most `budget` users;
 * `compliance`: the check a `compliant` criterion uses (required when the filter has one).
 *
 * @example
 * ```ts
 * const { items, next } = await scanDevices(ctx.stores, tenant, { platform: 'Android' }, { f }, { limit: 100 });
 * ```
 */
export async function scanDevices(
  s: ServerStoreSet,
  tenant: TenantId,
  filter: DeviceFilter,
  position: ScanPosition,
  options: { readonly limit: number; readonly budget?: number; readonly compliance?: ComplianceCheck },
): Promise<{ items: ScannedDevice[]; next?: ScanPosition; scanned: number }> {
  const budget = options.budget ?? SCAN_BUDGET;
  const items: ScannedDevice[] = [];
  let scanned = 0;
  // Emits `user`'s matching devices after `afterDevice`; answers the cursor when the page filled.
  const take = async (user: User, afterDevice: number | undefined): Promise<ScanPosition | undefined> => {
    if (!matchesUserFields(filter, user)) return undefined;
    const all = (await s.devices.list(tenant, user.id)).sort((a, b) => a.id - b.id);
    const devices = afterDevice === undefined ? all : all.filter((d) => d.id > afterDevice);
    const compliance =
      filter.compliant !== undefined && devices.length > 0
        ? await checkOf(options.compliance)(user, devices)
        : undefined;
    for (const device of devices) {
      if (!matchesDevice(filter, user, device, compliance?.get(device.id))) continue;
      items.push({ user, device });
      if (items.length >= options.limit) return { f: position.f, u: user.id, d: device.id };
    }
    return undefined;
  };
  if (position.u !== undefined && position.d !== undefined) {
    const user = await s.users.get(tenant, userId(position.u));
    if (user !== undefined) {
      scanned++;
      const full = await take(user, position.d);
      if (full !== undefined) return { items, scanned, next: full };
    }
  }
  let after = position.u;
  for (;;) {
    const { users, last, more } = await readUsers(
      s,
      tenant,
      filter.pool,
      after,
      Math.max(1, Math.min(200, budget - scanned)),
    );
    for (const user of users) {
      scanned++;
      after = user.id;
      const full = await take(user, undefined);
      if (full !== undefined) return { items, scanned, next: full };
    }
    if (last !== undefined) after = last;
    if (!more) return { items, scanned };
    if (scanned >= budget)
      return { items, scanned, next: { f: position.f, ...(after === undefined ? {} : { u: after }) } };
  }
}

/**
 * The users of `tenant` that meet `filter`, at most `max` (`ValidationError('filter')` when more
 * do), read with an unbounded scan in pages: what a bulk job acts on.
 *
 * @example
 * ```ts
 * const users = await resolveUsers(ctx, tenant, { pool: 'ward-3' }, 10_000);
 * ```
 */
export async function resolveUsers(
  ctx: ServerContext,
  tenant: TenantId,
  filter: UserFilter,
  max: number,
): Promise<ScannedUser[]> {
  const out: ScannedUser[] = [];
  let position: ScanPosition = { f: '' };
  for (;;) {
    const page = await ctx.stores.transaction((s) =>
      scanUsers(s, tenant, filter, position, {
        limit: max + 1 - out.length,
        budget: SCAN_BUDGET,
        compliance: complianceCheck(ctx, s, tenant),
      }),
    );
    out.push(...page.items);
    if (out.length > max) throw new ValidationError('filter', `a filter matching at most ${max} users`);
    if (page.next === undefined) return out;
    position = page.next;
  }
}

const findQuery = <S extends z.ZodObject>(schema: S) =>
  schema
    .extend({
      lastSeenBefore: queryInt.optional(),
      lastSeenAfter: queryInt.optional(),
      compliant: z
        .enum(['true', 'false'])
        .transform((v) => v === 'true')
        .optional(),
      after: z.string().min(1).max(512).optional(),
      limit: pageLimit.refine((n) => n <= MAX_FIND_PAGE, `at most ${MAX_FIND_PAGE}`).optional(),
    })
    .strict();

/**
 * The query of `findUsers`: the criteria of {@link userFilterSchema} (times as decimal
 * strings, `compliant` as `true` or `false`), `after` (a cursor) and `limit` (1..500, default 100).
 *
 * @example
 * ```ts
 * const { after, limit, ...filter } = findUsersQuery.parse(request.query);
 * ```
 */
export const findUsersQuery = findQuery(userFilterSchema);

/**
 * The query of `findDevices`, as {@link findUsersQuery} over {@link deviceFilterSchema}.
 *
 * @example
 * ```ts
 * const { after, limit, ...filter } = findDevicesQuery.parse(request.query);
 * ```
 */
export const findDevicesQuery = findQuery(deviceFilterSchema);

const foundUser = z
  .object({
    user: userView,
    status: z.enum(['active', 'blocked', 'never-enrolled']),
    devices: z.number().int().min(0),
    lastSeenAt: z.number().int().nullable(),
  })
  .strict();
ADMIN_SCHEMAS.add(foundUser, { id: 'FoundUser', description: 'A user a filter matched, with its status.' });

const foundDevice = z.object({ user: identifier, userBlocked: z.boolean(), device: deviceView }).strict();
ADMIN_SCHEMAS.add(foundDevice, {
  id: 'FoundDevice',
  description: 'A device a filter matched, with its user.',
});

const page = <S extends z.ZodType>(item: S) =>
  z
    .object({
      items: z.array(item),
      next: z.string().optional().describe('The cursor of the next page; absent at the end.'),
      scanned: z.number().int().min(0).describe('How many users this request read.'),
    })
    .strict();

function split<Q extends { after?: string | undefined; limit?: number | undefined }>(query: Q) {
  const { after, limit, ...filter } = query;
  return {
    after,
    limit: limit ?? 100,
    filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)),
  };
}

/**
 * `GET /admin/v1/search/users` (`users.read`): one page of the users that meet the filter in the
 * query, each with its status, device count and last sighting.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/search/users?status=blocked&limit=50`, { headers })).json();
 * ```
 */
export const findUsersOperation = defineAdminOperation({
  id: 'findUsers',
  method: 'GET',
  path: '/admin/v1/search/users',
  tag: 'search',
  summary: 'Find users by a filter',
  description:
    'Reads at most 2000 users per request in a stable order; `next` continues after the last user read, so a page may be short or empty while `next` is given. A cursor works only with the filter it was answered for.',
  access: { permission: 'users.read' },
  query: findUsersQuery,
  status: 200,
  response: page(foundUser),
  handle: async (ctx, { me, query }) => {
    const { after, limit, filter } = split(query);
    const f = await filterDigest(ctx, 'users', filter as UserFilter);
    const position = after === undefined ? { f } : decodeCursor(after, f);
    const result = await ctx.stores.transaction((s) =>
      scanUsers(s, me.tenant, filter as UserFilter, position, {
        limit,
        withDevices: true,
        compliance: complianceCheck(ctx, s, me.tenant),
      }),
    );
    return {
      items: result.items.map(({ user, devices }) => ({
        user: userViewOf(user),
        status: userStatus(user, devices ?? []),
        devices: devices?.length ?? 0,
        lastSeenAt: lastSeenOf(devices ?? []),
      })),
      ...(result.next === undefined ? {} : { next: encodeCursor(result.next) }),
      scanned: result.scanned,
    };
  },
});

/**
 * `GET /admin/v1/search/devices` (`devices.read`): one page of the devices that meet the filter
 * in the query, each with its user.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/search/devices?platform=Android`, { headers })).json();
 * ```
 */
export const findDevicesOperation = defineAdminOperation({
  id: 'findDevices',
  method: 'GET',
  path: '/admin/v1/search/devices',
  tag: 'search',
  summary: 'Find devices by a filter',
  description:
    'Reads at most 2000 users per request; devices come user by user, each user’s in id order. A cursor works only with the filter it was answered for.',
  access: { permission: 'devices.read' },
  query: findDevicesQuery,
  status: 200,
  response: page(foundDevice),
  handle: async (ctx, { me, query }) => {
    const { after, limit, filter } = split(query);
    const f = await filterDigest(ctx, 'devices', filter as DeviceFilter);
    const position = after === undefined ? { f } : decodeCursor(after, f);
    const result = await ctx.stores.transaction((s) =>
      scanDevices(s, me.tenant, filter as DeviceFilter, position, {
        limit,
        compliance: complianceCheck(ctx, s, me.tenant),
      }),
    );
    return {
      items: result.items.map(({ user, device }) => ({
        user: user.id,
        userBlocked: user.blocked,
        device: deviceViewOf(device),
      })),
      ...(result.next === undefined ? {} : { next: encodeCursor(result.next) }),
      scanned: result.scanned,
    };
  },
});

/**
 * The search operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, FILTER_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const FILTER_OPERATIONS = [findUsersOperation, findDevicesOperation] as const;
