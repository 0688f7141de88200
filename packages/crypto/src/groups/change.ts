/**
 * Group state changes (R03): signed, canonically encoded management messages and the rules that
 * apply them to a group's state. See `spec/groups.md §3`.
 */
import { checkBytes, checkInt, concatBytes, utf8 } from '../bytes.js';
import { CloisterError, DecodeError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import type { DeviceIdentity, PublicIdentity } from '../v2/types.js';
import { GROUP_MAX_ID_LENGTH } from './fanout.js';

/**
 * Signature input prefix of every group change (ASCII); {@link encodeGroupChange} output starts
 * with it.
 *
 * @example
 * ```ts
 * const encoded = encodeGroupChange(change);
 * const labelled = equalBytes(encoded.subarray(0, GROUP_CHANGE_LABEL.length), utf8(GROUP_CHANGE_LABEL)); // true
 * ```
 */
export const GROUP_CHANGE_LABEL = 'cloister/v1/group/change';
/**
 * The actions of a group change, with their one-byte codes in the encoding.
 *
 * @example
 * ```ts
 * console.log(GROUP_ACTIONS.add); // 2
 * ```
 */
export const GROUP_ACTIONS = { create: 1, add: 2, remove: 3, promote: 4, demote: 5 } as const;
/**
 * A group change action: `create`, `add`, `remove`, `promote` (make admin) or `demote`.
 *
 * @example
 * ```ts
 * const action: GroupAction = 'promote';
 * ```
 */
export type GroupAction = keyof typeof GROUP_ACTIONS;
/**
 * Most members one change may name: 1000.
 *
 * @example
 * ```ts
 * const fitsInOneChange = change.members.length <= GROUP_CHANGE_MAX_MEMBERS;
 * ```
 */
export const GROUP_CHANGE_MAX_MEMBERS = 1000;
/**
 * Most devices one member entry may name: 64.
 *
 * @example
 * ```ts
 * const member: GroupMember = { userId: 'carol', deviceIds: [1, 2, 3].slice(0, GROUP_MAX_DEVICES) };
 * ```
 */
export const GROUP_MAX_DEVICES = 64;

const LABEL = utf8(GROUP_CHANGE_LABEL);

/**
 * A member of a group: a user and the devices that receive its messages.
 *
 * @example
 * ```ts
 * const carol: GroupMember = { userId: 'carol', deviceIds: [1, 2] };
 * ```
 */
export interface GroupMember {
  /** The member's user id (1–255 UTF-8 bytes). */
  readonly userId: string;
  /** The member's device ids (unsigned 32-bit, distinct, at most {@link GROUP_MAX_DEVICES}). */
  readonly deviceIds: readonly number[];
}

/**
 * A group management message.
 *
 * @example
 * ```ts
 * const add: GroupChange = { groupId, version: 2, action: 'add', members: [{ userId: 'carol', deviceIds: [1] }] };
 * const signature = await signGroupChange(provider, identity, add);
 * ```
 */
export interface GroupChange {
  /** The group's id, 1 to {@link GROUP_MAX_ID_LENGTH} bytes. */
  readonly groupId: Uint8Array;
  /** The version the group has after this change; `1` for `create`. */
  readonly version: number;
  /** What the change does to `members`. */
  readonly action: GroupAction;
  /** The members the action applies to (for `create`, the initial members including the creator). */
  readonly members: readonly GroupMember[];
}

/**
 * The state of a group, as every member keeps it.
 *
 * @example
 * ```ts
 * const state: GroupState = applyGroupChange(undefined, { groupId, version: 1, action: 'create', members: [{ userId: 'alice', deviceIds: [1] }] }, 'alice');
 * console.log(state.admins); // ["alice"]
 * ```
 */
export interface GroupState {
  /** The group's id. */
  readonly groupId: Uint8Array;
  /** The version of the last change applied; changes must follow in order. */
  readonly version: number;
  /** Sorted by user id. */
  readonly members: readonly GroupMember[];
  /** User ids of the admins, sorted. */
  readonly admins: readonly string[];
}

/**
 * Why {@link applyGroupChange} refused a change.
 *
 * @example
 * ```ts
 * const outOfOrder: GroupChangeRejection = 'version';
 * ```
 */
export type GroupChangeRejection =
  | 'exists'
  | 'not-created'
  | 'group-id'
  | 'version'
  | 'not-admin'
  | 'not-member'
  | 'creator-not-member'
  | 'last-admin';

/**
 * A group change breaks a rule; `reason` says which. Code `ERR_VALIDATION`.
 *
 * @example
 * ```ts
 * try {
 *   applyGroupChange(undefined, change, 'alice');
 * } catch (e) {
 *   if (e instanceof GroupChangeRejected) console.warn(`group change refused: ${e.reason}`); // "not-created"
 * }
 * ```
 */
export class GroupChangeRejected extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'GroupChangeRejected';

  /** The rule the change breaks. */
  readonly reason: GroupChangeRejection;

  constructor(reason: GroupChangeRejection) {
    super('ERR_VALIDATION', `group change rejected: ${reason}`);
    this.reason = reason;
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function checkMembers(value: unknown): GroupMember[] {
  if (!Array.isArray(value) || value.length > GROUP_CHANGE_MAX_MEMBERS) {
    throw new ValidationError('change.members', `an array of at most ${GROUP_CHANGE_MAX_MEMBERS} members`);
  }
  const seen = new Set<string>();
  const out = value.map((m: unknown, i): GroupMember => {
    const field = `change.members[${i}]`;
    if (typeof m !== 'object' || m === null) throw new ValidationError(field, 'an object');
    const { userId, deviceIds } = m as GroupMember;
    if (typeof userId !== 'string' || userId.length === 0 || utf8(userId).length > 255) {
      throw new ValidationError(`${field}.userId`, 'a string of 1 to 255 UTF-8 bytes');
    }
    if (new TextDecoder().decode(utf8(userId)) !== userId) {
      throw new ValidationError(`${field}.userId`, 'a well-formed string');
    }
    if (seen.has(userId)) throw new ValidationError(`${field}.userId`, 'no duplicate user');
    seen.add(userId);
    if (!Array.isArray(deviceIds) || deviceIds.length > GROUP_MAX_DEVICES) {
      throw new ValidationError(`${field}.deviceIds`, `an array of at most ${GROUP_MAX_DEVICES} ids`);
    }
    const ids = deviceIds.map((d, j) => checkInt(d, `${field}.deviceIds[${j}]`, 0, 0xffff_ffff));
    const sorted = [...new Set(ids)].sort((a, b) => a - b);
    if (sorted.length !== ids.length) throw new ValidationError(`${field}.deviceIds`, 'no duplicate device');
    return { userId, deviceIds: sorted };
  });
  return out.sort((a, b) => compare(a.userId, b.userId));
}

function checkChange(change: GroupChange): GroupChange {
  if (typeof change !== 'object' || change === null) throw new ValidationError('change', 'an object');
  const groupId = checkBytes(change.groupId, 'change.groupId');
  if (groupId.length === 0 || groupId.length > GROUP_MAX_ID_LENGTH) {
    throw new ValidationError('change.groupId', `1 to ${GROUP_MAX_ID_LENGTH} bytes`);
  }
  const version = checkInt(change.version, 'change.version', 1, 0xffff_ffff);
  if (typeof change.action !== 'string' || !Object.hasOwn(GROUP_ACTIONS, change.action)) {
    throw new ValidationError('change.action', 'create, add, remove, promote or demote');
  }
  return { groupId, version, action: change.action, members: checkMembers(change.members) };
}

/**
 * The canonical bytes a group change is signed over: the label, then `u8 length, groupId |
 * u32 version | u8 action | u16 member count`, then per member (sorted by user id) `u8 length,
 * userId (UTF-8) | u8 device count | u32 device ids (ascending)`.
 *
 * @example
 * ```ts
 * const bytes = encodeGroupChange({ groupId, version: 2, action: 'add', members: [{ userId: 'carol', deviceIds: [1] }] });
 * ```
 */
export function encodeGroupChange(change: GroupChange): Uint8Array {
  const c = checkChange(change);
  const parts: Uint8Array[] = [LABEL, Uint8Array.of(c.groupId.length), c.groupId];
  const fixed = new Uint8Array(7);
  const view = new DataView(fixed.buffer);
  view.setUint32(0, c.version);
  fixed[4] = GROUP_ACTIONS[c.action];
  view.setUint16(5, c.members.length);
  parts.push(fixed);
  for (const m of c.members) {
    const user = utf8(m.userId);
    const devices = new Uint8Array(4 * m.deviceIds.length);
    const dv = new DataView(devices.buffer);
    for (const [i, d] of m.deviceIds.entries()) dv.setUint32(4 * i, d);
    parts.push(Uint8Array.of(user.length), user, Uint8Array.of(m.deviceIds.length), devices);
  }
  return concatBytes(...parts);
}

/**
 * Parses the bytes {@link encodeGroupChange} produced. Only the canonical encoding is accepted:
 * members sorted by user id, device ids ascending and distinct, no trailing bytes; anything else
 * is a `DecodeError` (path `groupChange`). The signature is checked separately with
 * {@link verifyGroupChange}, over the decoded change.
 *
 * @example
 * ```ts
 * async function receiveChange(changeBytes: Uint8Array, signature: Uint8Array): Promise<GroupChange> {
 *   const change = decodeGroupChange(changeBytes);
 *   if (!(await verifyGroupChange(provider, pinned, change, signature))) throw new Error('forged group change');
 *   return change; // then applyGroupChange with the sender's user id
 * }
 * ```
 */
export function decodeGroupChange(bytes: Uint8Array): GroupChange {
  const input = checkBytes(bytes, 'bytes');
  const fail = (reason: string): never => {
    throw new DecodeError('groupChange', reason);
  };
  let at = 0;
  const need = (n: number): number => {
    if (at + n > input.length) fail('truncated');
    const start = at;
    at += n;
    return start;
  };
  const start = need(LABEL.length);
  if (!LABEL.every((b, i) => input[start + i] === b)) fail('not a group change (label)');
  const idLength = input[need(1)]!;
  if (idLength === 0 || idLength > GROUP_MAX_ID_LENGTH) fail('group id length');
  const groupId = input.slice(at, need(idLength) + idLength);
  const fixed = new DataView(input.buffer, input.byteOffset + need(7), 7);
  const version = fixed.getUint32(0);
  const actionCode = fixed.getUint8(4);
  const count = fixed.getUint16(5);
  const action = (Object.keys(GROUP_ACTIONS) as GroupAction[]).find((a) => GROUP_ACTIONS[a] === actionCode);
  if (action === undefined) fail('unknown action');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const members: GroupMember[] = [];
  for (let i = 0; i < count; i++) {
    const userLength = input[need(1)]!;
    const userStart = need(userLength);
    let userId = '';
    try {
      userId = decoder.decode(input.subarray(userStart, userStart + userLength));
    } catch {
      fail('member user id is not UTF-8');
    }
    const devices = input[need(1)]!;
    const dv = new DataView(input.buffer, input.byteOffset + need(4 * devices), 4 * devices);
    const deviceIds = Array.from({ length: devices }, (_, j) => dv.getUint32(4 * j));
    members.push({ userId, deviceIds });
  }
  if (at !== input.length) fail('trailing bytes');
  let change: GroupChange;
  try {
    change = checkChange({ groupId, version, action: action as GroupAction, members });
  } catch (e) {
    return fail(e instanceof Error ? e.message : 'invalid');
  }
  const again = encodeGroupChange(change);
  if (again.length !== input.length || !again.every((b, i) => b === input[i])) fail('not canonical');
  return change;
}

/**
 * Signs a group change with the sender's Ed25519 identity signing key.
 *
 * @example
 * ```ts
 * import { signGroupChange } from '@cloister/crypto';
 * const signature = await signGroupChange(provider, identity, change);
 * ```
 */
export async function signGroupChange(
  provider: CryptoProvider,
  identity: DeviceIdentity,
  change: GroupChange,
): Promise<Uint8Array> {
  if (typeof identity !== 'object' || identity === null || typeof identity.signingKeyPair !== 'object') {
    throw new ValidationError('identity', 'a device identity');
  }
  const key = checkBytes(identity.signingKeyPair.privateKey, 'identity.signingKeyPair.privateKey', 32);
  return provider.ed25519.sign(key, encodeGroupChange(change));
}

/**
 * Verifies a group change signature (strict Ed25519); `false` for any bad signature.
 *
 * @example
 * ```ts
 * import { verifyGroupChange } from '@cloister/crypto';
 * const signature = await signGroupChange(provider, identity, change);
 * const valid = await verifyGroupChange(provider, toPublicIdentity(identity), change, signature); // true
 * ```
 */
export async function verifyGroupChange(
  provider: CryptoProvider,
  publicIdentity: PublicIdentity,
  change: GroupChange,
  signature: Uint8Array,
): Promise<boolean> {
  if (typeof publicIdentity !== 'object' || publicIdentity === null) {
    throw new ValidationError('publicIdentity', 'a public identity');
  }
  const key = checkBytes(publicIdentity.signingKey, 'publicIdentity.signingKey', 32);
  const sig = checkBytes(signature, 'signature', 64);
  return provider.ed25519.verify(key, encodeGroupChange(change), sig);
}

function mergeMembers(a: readonly GroupMember[], b: readonly GroupMember[]): GroupMember[] {
  const map = new Map(a.map((m) => [m.userId, new Set(m.deviceIds)]));
  for (const m of b) {
    const set = map.get(m.userId) ?? new Set<number>();
    for (const d of m.deviceIds) set.add(d);
    map.set(m.userId, set);
  }
  return [...map]
    .map(([userId, set]) => ({ userId, deviceIds: [...set].sort((x, y) => x - y) }))
    .sort((x, y) => compare(x.userId, y.userId));
}

/**
 * Applies a (verified) change made by `actor` to a group's state and returns the new state; the
 * input is not modified. Rules: `create` only without a state, with version 1, naming the actor,
 * who becomes the first admin; every other change needs the same group id, version
 * `state.version + 1`, and an actor who is an admin; `remove`, `promote` and `demote` name
 * members; a change may not leave the group without an admin. A broken rule throws
 * {@link GroupChangeRejected}.
 *
 * @example
 * ```ts
 * import { applyGroupChange } from '@cloister/crypto';
 * const alice = { userId: 'alice', deviceIds: [1] };
 * let state = applyGroupChange(undefined, { groupId, version: 1, action: 'create', members: [alice] }, 'alice');
 * state = applyGroupChange(state, { groupId, version: 2, action: 'add', members: [{ userId: 'carol', deviceIds: [1] }] }, 'alice');
 * ```
 */
export function applyGroupChange(
  state: GroupState | undefined,
  change: GroupChange,
  actor: string,
): GroupState {
  const c = checkChange(change);
  if (typeof actor !== 'string' || actor.length === 0)
    throw new ValidationError('actor', 'a non-empty string');
  if (c.action === 'create') {
    if (state !== undefined) throw new GroupChangeRejected('exists');
    if (c.version !== 1) throw new GroupChangeRejected('version');
    if (!c.members.some((m) => m.userId === actor)) throw new GroupChangeRejected('creator-not-member');
    return { groupId: c.groupId.slice(), version: 1, members: c.members, admins: [actor] };
  }
  if (state === undefined) throw new GroupChangeRejected('not-created');
  if (c.groupId.length !== state.groupId.length || !c.groupId.every((v, i) => v === state.groupId[i])) {
    throw new GroupChangeRejected('group-id');
  }
  if (c.version !== state.version + 1) throw new GroupChangeRejected('version');
  if (!state.admins.includes(actor)) throw new GroupChangeRejected('not-admin');
  const isMember = new Set(state.members.map((m) => m.userId));
  const named = c.members.map((m) => m.userId);
  if (c.action !== 'add' && named.some((u) => !isMember.has(u))) throw new GroupChangeRejected('not-member');
  let members = state.members;
  let admins = state.admins;
  switch (c.action) {
    case 'add':
      members = mergeMembers(state.members, c.members);
      break;
    case 'remove':
      members = state.members.filter((m) => !named.includes(m.userId));
      admins = state.admins.filter((a) => !named.includes(a));
      break;
    case 'promote':
      admins = [...new Set([...state.admins, ...named])].sort(compare);
      break;
    case 'demote':
      admins = state.admins.filter((a) => !named.includes(a));
      break;
  }
  if (admins.length === 0 && members.length > 0) throw new GroupChangeRejected('last-admin');
  return { groupId: state.groupId, version: c.version, members, admins };
}
