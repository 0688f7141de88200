/**
 * `Content`: the plaintext of every message between devices (text, file reference, receipt,
 * group management, control). A suite encrypts the encoded bytes as a whole; the receiver
 * decodes exactly the bytes it authenticated, so this encoding need not be canonical.
 *
 * @module
 */
import { GROUP_CHANGE_LABEL, toHex, utf8 } from '@cloister/crypto';
import { cloister } from './generated/cloister.js';
import {
  asciiText,
  bool,
  decodeFail,
  distinct,
  encodeFail,
  enumValue,
  type Fail,
  fixedBytes,
  fromUint64,
  int,
  list,
  literal,
  object,
  oneof,
  rangeBytes,
  text,
} from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';

const wire = cloister.v1;

/**
 * Length of a message id and of each id in a receipt.
 *
 * @example
 * ```ts
 * import { MESSAGE_ID_LENGTH } from '@cloister/protocol';
 * const messageId = provider.randomBytes(MESSAGE_ID_LENGTH);
 * ```
 */
export const MESSAGE_ID_LENGTH = 16;

/**
 * Length of a group id.
 *
 * @example
 * ```ts
 * import { GROUP_ID_LENGTH } from '@cloister/protocol';
 * const groupId = provider.randomBytes(GROUP_ID_LENGTH);
 * ```
 */
export const GROUP_ID_LENGTH = 32;

/**
 * A text message.
 *
 * @example
 * ```ts
 * const body: TextBody = { type: 'text', text: 'hello' };
 * ```
 */
export interface TextBody {
  /** Tells a text body apart. */
  readonly type: 'text';
  /** 1 .. {@link FIELD_LIMITS}.textBytes UTF-8 bytes, well-formed Unicode. */
  readonly text: string;
}

/**
 * Everything a receiver needs to fetch, check and decrypt a file stored by the server.
 *
 * @example
 * ```ts
 * const file: FileReference = {
 *   fileKey: provider.randomBytes(32),
 *   digest: await provider.sha256(bytes), // bytes: the encrypted blob as stored
 *   size: 52_113,
 *   mediaType: 'image/png',
 *   locator: 'blob/7f3a',
 *   fileName: 'plan.png',
 * };
 * ```
 */
export interface FileReference {
  /** Key of the attachment stream cipher (32 bytes). */
  readonly fileKey: Uint8Array;
  /** SHA-256 of the encrypted blob exactly as stored (32 bytes). */
  readonly digest: Uint8Array;
  /** Size of the plaintext file in bytes (a safe integer). */
  readonly size: number;
  /** `type/subtype` (RFC 6838 restricted names, no parameters), 3 .. 255 ASCII bytes. */
  readonly mediaType: string;
  /** Opaque locator of the encrypted blob on the server: 1 .. 512 printable ASCII bytes. */
  readonly locator: string;
  /** Suggested file name, 1 .. 255 UTF-8 bytes. */
  readonly fileName?: string;
  /** Size of the encrypted blob in bytes (a safe integer): `45 + size + 16 · chunks` (`spec/files.md`). */
  readonly ciphertextSize?: number;
  /** Plaintext chunk size of the attachment stream cipher: a power of two, 64 .. 1048576. */
  readonly chunkSize?: number;
}

/**
 * A file message.
 *
 * @example
 * ```ts
 * const body: FileBody = { type: 'file', file };
 * ```
 */
export interface FileBody {
  /** Tells a file body apart. */
  readonly type: 'file';
  /** Where the encrypted file is and the key and digest to fetch, check and decrypt it. */
  readonly file: FileReference;
}

/**
 * A delivery or read receipt for 1 .. 256 distinct messages of one conversation.
 *
 * @example
 * ```ts
 * const body: ReceiptBody = { type: 'receipt', kind: 'read', messageIds: [content.messageId] };
 * ```
 */
export interface ReceiptBody {
  /** Tells a receipt body apart. */
  readonly type: 'receipt';
  /** `delivered` (the device received the messages) or `read` (the user saw them). */
  readonly kind: 'delivered' | 'read';
  /** Ids (16 bytes each) of the messages acknowledged, without duplicates. */
  readonly messageIds: readonly Uint8Array[];
}

/**
 * A group member, named by a pseudonymous user id (1 .. 256 UTF-8 bytes).
 *
 * @example
 * ```ts
 * const member: GroupMember = { userId: 'u_3f9c2a' };
 * ```
 */
export interface GroupMember {
  /** The member's pseudonymous user id, 1 .. 256 UTF-8 bytes. */
  readonly userId: string;
}

/**
 * One change to a group. Member lists hold 1 .. 1000 members with distinct user ids.
 *
 * @example
 * ```ts
 * const action: GroupAction = { kind: 'add-members', members: [{ userId: 'u_3f9c2a' }] };
 * ```
 */
export type GroupAction =
  | {
      readonly kind: 'create';
      /** 0 .. 256 UTF-8 bytes. */
      readonly name: string;
      readonly members: readonly GroupMember[];
    }
  | { readonly kind: 'add-members'; readonly members: readonly GroupMember[] }
  | { readonly kind: 'remove-members'; readonly members: readonly GroupMember[] };

/**
 * A change to the group named by {@link Content.groupId} (which is then required).
 *
 * @example
 * ```ts
 * const body: GroupBody = {
 *   type: 'group', version: 1, action: { kind: 'create', name: 'Accounting', members: [{ userId: 'u_1' }] },
 * };
 * ```
 */
export interface GroupBody {
  /** Tells a group body apart. */
  readonly type: 'group';
  /** Version of the group state after this change, 1 .. 2^32 - 1; a creation has version 1. */
  readonly version: number;
  /** What changes: a creation, or members added or removed. */
  readonly action: GroupAction;
}

/**
 * A group state change signed by the acting device: `change` is the output of `encodeGroupChange`
 * of `@cloister/crypto` (33 .. 130048 bytes, starting with `"cloister/v1/group/change"`) and
 * `signature` (64 bytes) the output of `signGroupChange` for the same change. The receiver
 * verifies the signature over `change` with the sender's identity signing key.
 *
 * @example
 * ```ts
 * import { encodeGroupChange, signGroupChange } from '@cloister/crypto';
 * const body: GroupChangeBody = {
 *   type: 'group-change',
 *   change: encodeGroupChange(change),
 *   signature: await signGroupChange(provider, identity, change),
 * };
 * ```
 */
export interface GroupChangeBody {
  /** Tells a signed group change apart. */
  readonly type: 'group-change';
  /** The encoded change (`encodeGroupChange`), 33 .. 130048 bytes. */
  readonly change: Uint8Array;
  /** The acting device's Ed25519 signature over `change` (64 bytes). */
  readonly signature: Uint8Array;
}

/**
 * The key of one group content ciphertext for one member device: the output of
 * `encodeGroupKeyWrap` of `@cloister/crypto` (67 .. 130 bytes), opaque here.
 *
 * @example
 * ```ts
 * import { encodeGroupKeyWrap } from '@cloister/crypto';
 * const body: GroupKeyBody = { type: 'group-key', wrap: encodeGroupKeyWrap(encrypted.wrap) };
 * ```
 */
export interface GroupKeyBody {
  /** Tells a group key body apart. */
  readonly type: 'group-key';
  /** The encoded key wrap (`encodeGroupKeyWrap`), 67 .. 130 bytes. */
  readonly wrap: Uint8Array;
}

/**
 * A control message between devices, never shown to the user. `session-reset`: the sender
 * discarded its session with the receiver, which starts a new one.
 *
 * @example
 * ```ts
 * const body: ControlBody = { type: 'control', action: 'session-reset' };
 * ```
 */
export interface ControlBody {
  /** Tells a control body apart. */
  readonly type: 'control';
  /** What the receiving device does; `session-reset` is the only action. */
  readonly action: 'session-reset';
}

/**
 * The body of a {@link Content}, told apart by `type`.
 *
 * @example
 * ```ts
 * function preview(body: ContentBody): string {
 *   return body.type === 'text' ? body.text : `[${body.type}]`;
 * }
 * ```
 */
export type ContentBody =
  | TextBody
  | FileBody
  | ReceiptBody
  | GroupBody
  | ControlBody
  | GroupChangeBody
  | GroupKeyBody;

/**
 * The plaintext of a message between devices.
 *
 * @example
 * ```ts
 * const content: Content = {
 *   messageId: provider.randomBytes(16),
 *   sentAtMs: Date.now(),
 *   body: { type: 'text', text: 'hello' },
 * };
 * ```
 */
export interface Content {
  /** Random id chosen by the sender (16 bytes); receipts refer to it. */
  readonly messageId: Uint8Array;
  /** Sender's clock in milliseconds since the Unix epoch, 1 .. 2^53 - 1. */
  readonly sentAtMs: number;
  /** The group conversation (32 bytes); required when `body.type` is `group`. */
  readonly groupId?: Uint8Array;
  /** Disappearing-message timer in seconds, 1 .. 2^32 - 1; absent for none. */
  readonly expireTimerSeconds?: number;
  /**
   * True when the sender also sealed this message to the tenant's compliance archive; apps show
   * that archiving is on. Decoders leave it out when false.
   */
  readonly archived?: boolean;
  /**
   * Only on a copy a device sends to its own user's other devices of a message it sent in a 1:1
   * conversation: the user id the original went to (1 .. 256 UTF-8 bytes). Receivers accept it
   * only from their own user.
   */
  readonly syncedTo?: string;
  /** What the message carries (text, file, receipt, group change, control), told apart by `type`. */
  readonly body: ContentBody;
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const LOCATOR = /^[\x21-\x7e]{1,512}$/;
const UINT32_MAX = 0xffff_ffff;
const GROUP_CHANGE_PREFIX = utf8(GROUP_CHANGE_LABEL);
/** Label, group id length, 1-byte group id, version, action, member count. */
const GROUP_CHANGE_MIN = GROUP_CHANGE_PREFIX.length + 9;
/** Version, group id length, 1-byte group id, content key, content digest. */
const GROUP_KEY_WRAP_MIN = 67;
const CHUNK_SIZE_MIN = 64;
const CHUNK_SIZE_MAX = 1_048_576;
const BODY_TYPES = ['text', 'file', 'receipt', 'group', 'control', 'group-change', 'group-key'] as const;

const RECEIPT_KINDS = ['delivered', 'read'] as const;
const RECEIPT_FROM_WIRE = new Map<number, ReceiptBody['kind']>([
  [wire.ReceiptType.RECEIPT_TYPE_DELIVERED, 'delivered'],
  [wire.ReceiptType.RECEIPT_TYPE_READ, 'read'],
]);
const RECEIPT_TO_WIRE: Readonly<Record<ReceiptBody['kind'], number>> = {
  delivered: wire.ReceiptType.RECEIPT_TYPE_DELIVERED,
  read: wire.ReceiptType.RECEIPT_TYPE_READ,
};
const CONTROL_FROM_WIRE = new Map<number, ControlBody['action']>([
  [wire.ControlAction.CONTROL_ACTION_SESSION_RESET, 'session-reset'],
]);
const CONTROL_TO_WIRE: Readonly<Record<ControlBody['action'], number>> = {
  'session-reset': wire.ControlAction.CONTROL_ACTION_SESSION_RESET,
};

// ---- validation, shared by both directions --------------------------------------------------

function checkFile(fail: Fail, value: unknown, path: string): FileReference {
  const f = object(fail, value, path);
  const file = {
    fileKey: fixedBytes(fail, f.fileKey, `${path}.fileKey`, 32),
    digest: fixedBytes(fail, f.digest, `${path}.digest`, 32),
    size: int(fail, f.size, `${path}.size`, 0, Number.MAX_SAFE_INTEGER),
    mediaType: asciiText(fail, f.mediaType, `${path}.mediaType`, MEDIA_TYPE, 'an RFC 6838 type/subtype'),
    locator: asciiText(fail, f.locator, `${path}.locator`, LOCATOR, '1 to 512 printable ASCII characters'),
  };
  let out: FileReference = file;
  if (f.fileName !== undefined) {
    out = { ...out, fileName: text(fail, f.fileName, `${path}.fileName`, 1, FIELD_LIMITS.fileNameBytes) };
  }
  if (f.ciphertextSize !== undefined) {
    out = {
      ...out,
      ciphertextSize: int(fail, f.ciphertextSize, `${path}.ciphertextSize`, 0, Number.MAX_SAFE_INTEGER),
    };
  }
  if (f.chunkSize !== undefined) {
    const chunkSize = int(fail, f.chunkSize, `${path}.chunkSize`, CHUNK_SIZE_MIN, CHUNK_SIZE_MAX);
    if ((chunkSize & (chunkSize - 1)) !== 0) fail(`${path}.chunkSize`, 'a power of two');
    out = { ...out, chunkSize };
  }
  return out;
}

function checkGroupChange(fail: Fail, b: Readonly<Record<string, unknown>>, path: string): GroupChangeBody {
  const change = rangeBytes(
    fail,
    b.change,
    `${path}.change`,
    GROUP_CHANGE_MIN,
    FIELD_LIMITS.groupChangeBytes,
  );
  if (!GROUP_CHANGE_PREFIX.every((byte, i) => change[i] === byte)) {
    fail(`${path}.change`, `bytes starting with "${GROUP_CHANGE_LABEL}"`);
  }
  return { type: 'group-change', change, signature: fixedBytes(fail, b.signature, `${path}.signature`, 64) };
}

function checkMembers(fail: Fail, value: unknown, path: string): GroupMember[] {
  const members = list(fail, value, path, 1, FIELD_LIMITS.groupMembers).map((m, i) => ({
    userId: text(
      fail,
      object(fail, m, `${path}[${i}]`).userId,
      `${path}[${i}].userId`,
      1,
      FIELD_LIMITS.userIdBytes,
    ),
  }));
  distinct(fail, members, path, (m) => m.userId);
  return members;
}

function checkAction(fail: Fail, value: unknown, path: string): GroupAction {
  const a = object(fail, value, path);
  const kind = literal(fail, a.kind, `${path}.kind`, ['create', 'add-members', 'remove-members']);
  const members = checkMembers(fail, a.members, `${path}.members`);
  if (kind !== 'create') return { kind, members };
  return { kind, name: text(fail, a.name, `${path}.name`, 0, FIELD_LIMITS.groupNameBytes), members };
}

function checkBody(fail: Fail, value: unknown, path: string): ContentBody {
  const b = object(fail, value, path);
  const type = literal(fail, b.type, `${path}.type`, BODY_TYPES);
  switch (type) {
    case 'text':
      return { type, text: text(fail, b.text, `${path}.text`, 1, FIELD_LIMITS.textBytes) };
    case 'file':
      return { type, file: checkFile(fail, b.file, `${path}.file`) };
    case 'receipt': {
      const kind = literal(fail, b.kind, `${path}.kind`, RECEIPT_KINDS);
      const messageIds = list(
        fail,
        b.messageIds,
        `${path}.messageIds`,
        1,
        FIELD_LIMITS.receiptMessageIds,
      ).map((id, i) => fixedBytes(fail, id, `${path}.messageIds[${i}]`, MESSAGE_ID_LENGTH));
      distinct(fail, messageIds, `${path}.messageIds`, toHex);
      return { type, kind, messageIds };
    }
    case 'group':
      return {
        type,
        version: int(fail, b.version, `${path}.version`, 1, UINT32_MAX),
        action: checkAction(fail, b.action, `${path}.action`),
      };
    case 'control':
      return { type, action: literal(fail, b.action, `${path}.action`, ['session-reset']) };
    case 'group-change':
      return checkGroupChange(fail, b, path);
    case 'group-key':
      return {
        type,
        wrap: rangeBytes(fail, b.wrap, `${path}.wrap`, GROUP_KEY_WRAP_MIN, FIELD_LIMITS.groupKeyWrapBytes),
      };
  }
}

function checkContent(fail: Fail, value: unknown, path: string): Content {
  const c = object(fail, value, path);
  const body = checkBody(fail, c.body, `${path}.body`);
  let content: Content = {
    messageId: fixedBytes(fail, c.messageId, `${path}.messageId`, MESSAGE_ID_LENGTH),
    sentAtMs: int(fail, c.sentAtMs, `${path}.sentAtMs`, 1, Number.MAX_SAFE_INTEGER),
    body,
  };
  if (c.groupId !== undefined) {
    content = { ...content, groupId: fixedBytes(fail, c.groupId, `${path}.groupId`, GROUP_ID_LENGTH) };
  } else if (body.type === 'group') {
    fail(`${path}.groupId`, `${GROUP_ID_LENGTH} bytes (required with a group body)`);
  }
  if (c.expireTimerSeconds !== undefined) {
    const seconds = int(fail, c.expireTimerSeconds, `${path}.expireTimerSeconds`, 1, UINT32_MAX);
    content = { ...content, expireTimerSeconds: seconds };
  }
  if (c.archived !== undefined && bool(fail, c.archived, `${path}.archived`)) {
    content = { ...content, archived: true };
  }
  if (c.syncedTo !== undefined) {
    content = {
      ...content,
      syncedTo: text(fail, c.syncedTo, `${path}.syncedTo`, 1, FIELD_LIMITS.userIdBytes),
    };
  }
  return content;
}

// ---- wire mapping --------------------------------------------------------------------------

/** protobufjs leaves absent `optional` fields null; the domain leaves them out. */
function present<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

function bodyFromWire(raw: cloister.v1.Content, path: string): unknown {
  const field = oneof(decodeFail, raw, path, [
    'text',
    'file',
    'receipt',
    'group',
    'control',
    'groupChange',
    'groupKey',
  ]);
  switch (field) {
    case 'text':
      return { type: 'text', text: raw.text!.body };
    case 'file': {
      const f = raw.file!;
      const file = {
        fileKey: f.fileKey,
        digest: f.digest,
        size: fromUint64(f.size),
        mediaType: f.mediaType,
        locator: f.locator,
        fileName: present(f.fileName),
        ciphertextSize: present(fromUint64(f.ciphertextSize)),
        chunkSize: present(f.chunkSize),
      };
      return { type: 'file', file };
    }
    case 'receipt': {
      const r = raw.receipt!;
      const kind = enumValue(decodeFail, r.type, `${path}.kind`, RECEIPT_FROM_WIRE);
      return { type: 'receipt', kind, messageIds: r.messageIds };
    }
    case 'group': {
      const g = raw.group!;
      const actionPath = `${path}.action`;
      const which = oneof(decodeFail, g, actionPath, ['create', 'addMembers', 'removeMembers']);
      const action =
        which === 'create'
          ? { kind: 'create', name: g.create!.name, members: g.create!.members }
          : which === 'addMembers'
            ? { kind: 'add-members', members: g.addMembers!.members }
            : { kind: 'remove-members', members: g.removeMembers!.members };
      return { type: 'group', version: g.version, action };
    }
    case 'control':
      return {
        type: 'control',
        action: enumValue(decodeFail, raw.control!.action, `${path}.action`, CONTROL_FROM_WIRE),
      };
    case 'groupChange':
      return { type: 'group-change', change: raw.groupChange!.change, signature: raw.groupChange!.signature };
    case 'groupKey':
      return { type: 'group-key', wrap: raw.groupKey!.wrap };
  }
}

function contentFromWire(raw: cloister.v1.Content, path: string): Content {
  const candidate = {
    messageId: raw.messageId,
    sentAtMs: fromUint64(raw.sentAtMs),
    groupId: present(raw.groupId),
    expireTimerSeconds: present(raw.expireTimerSeconds),
    archived: raw.archived,
    syncedTo: present(raw.syncedTo),
    body: bodyFromWire(raw, `${path}.body`),
  };
  return checkContent(decodeFail, candidate, path);
}

function membersToWire(members: readonly GroupMember[]): cloister.v1.IGroupMember[] {
  return members.map((m) => ({ userId: m.userId }));
}

function contentToWire(c: Content): cloister.v1.IContent {
  const raw: cloister.v1.IContent = { messageId: c.messageId, sentAtMs: c.sentAtMs };
  if (c.groupId !== undefined) raw.groupId = c.groupId;
  if (c.expireTimerSeconds !== undefined) raw.expireTimerSeconds = c.expireTimerSeconds;
  if (c.archived === true) raw.archived = true;
  if (c.syncedTo !== undefined) raw.syncedTo = c.syncedTo;
  const b = c.body;
  switch (b.type) {
    case 'text':
      raw.text = { body: b.text };
      break;
    case 'file': {
      const f = b.file;
      const file: cloister.v1.IFileReference = {
        fileKey: f.fileKey,
        digest: f.digest,
        size: f.size,
        mediaType: f.mediaType,
        locator: f.locator,
      };
      if (f.fileName !== undefined) file.fileName = f.fileName;
      if (f.ciphertextSize !== undefined) file.ciphertextSize = f.ciphertextSize;
      if (f.chunkSize !== undefined) file.chunkSize = f.chunkSize;
      raw.file = file;
      break;
    }
    case 'receipt':
      raw.receipt = { type: RECEIPT_TO_WIRE[b.kind], messageIds: [...b.messageIds] };
      break;
    case 'group': {
      const a = b.action;
      const members = membersToWire(a.members);
      raw.group =
        a.kind === 'create'
          ? { version: b.version, create: { name: a.name, members } }
          : a.kind === 'add-members'
            ? { version: b.version, addMembers: { members } }
            : { version: b.version, removeMembers: { members } };
      break;
    }
    case 'control':
      raw.control = { action: CONTROL_TO_WIRE[b.action] };
      break;
    case 'group-change':
      raw.groupChange = { change: b.change, signature: b.signature };
      break;
    case 'group-key':
      raw.groupKey = { wrap: b.wrap };
      break;
  }
  return raw;
}

// ---- public codec ---------------------------------------------------------------------------

/**
 * Encodes a {@link Content} after checking every field against the limits of `spec/wire.md`.
 * Throws `ValidationError` naming the field (for example `content.body.messageIds[2]`).
 *
 * @example
 * ```ts
 * import { encodeContent } from '@cloister/protocol';
 * const plaintext = encodeContent({
 *   messageId: provider.randomBytes(16),
 *   sentAtMs: Date.now(),
 *   body: { type: 'text', text: 'hello' },
 * });
 * ```
 */
export function encodeContent(content: Content): Uint8Array {
  const checked = checkContent(encodeFail, content, 'content');
  return encodeWith(contentToWire(checked), 'content', MAX_ENCODED_BYTES.content, (m, w) =>
    wire.Content.encode(m, w),
  );
}

/**
 * Decodes a {@link Content}. Input longer than `MAX_ENCODED_BYTES.content` is rejected before
 * parsing; every field is checked. Throws `DecodeError` whose `path` names the field (for
 * example `content.body.file.digest`); never returns a partial object.
 *
 * @example
 * ```ts
 * import { decodeContent } from '@cloister/protocol';
 * const content = decodeContent(plaintext);
 * if (content.body.type === 'receipt') console.log(content.body.kind, content.body.messageIds.length);
 * ```
 */
export function decodeContent(bytes: Uint8Array): Content {
  return decodeWith(bytes, {
    root: 'content',
    maxBytes: MAX_ENCODED_BYTES.content,
    parse: (r) => wire.Content.decode(r),
    convert: contentFromWire,
  });
}
