/**
 * Conversations (1:1 or group): creation, lookup, a listing by latest activity with cursors, the
 * disappearing-message timer, and deletion with all their messages. The paged listings of this
 * store and of the message store share {@link Page} and its options.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import {
  type ConversationId,
  type GroupId,
  conversationId as toConversationId,
  groupId as toGroupId,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkBrand,
  decodeMessage,
  encodeConv,
  loadConv,
  SORT_LENGTH,
  saveConv,
  T,
  timeSort,
  touchConv,
  VERSION,
} from './_conversation-rows.js';
import {
  checkLimitArg,
  checkObjectArg,
  checkTime,
  dBranded,
  decodeObject,
  EMPTY,
  encode,
  fromHexString,
  toHexString,
  utf8Bytes,
} from './_util.js';

/**
 * Fields every conversation has.
 *
 * @example
 * ```ts
 * const describe = (c: ConversationBase) => `${c.id}: last active ${new Date(c.lastActivityAt).toISOString()}`;
 * ```
 */
export interface ConversationBase {
  /** The conversation id. */
  readonly id: ConversationId;
  /** Lifetime of new messages in ms (disappearing messages), or `null` for none. */
  readonly disappearingTimerMs: number | null;
  /** Time of the latest activity (ms since the epoch); orders {@link ConversationStore.list}. */
  readonly lastActivityAt: number;
  /** When the conversation was created. */
  readonly createdAt: number;
}

/**
 * A 1:1 conversation with one other user.
 *
 * @example
 * ```ts
 * import { conversationId } from '@cloister/protocol';
 * const c = await stores.conversations.get(conversationId('c_bob'));
 * if (c?.kind === 'direct') console.log(`with ${c.peer}`);
 * ```
 */
export interface DirectConversation extends ConversationBase {
  /** Always `direct`. */
  readonly kind: 'direct';
  /** The other user. */
  readonly peer: UserId;
}

/**
 * A group conversation.
 *
 * @example
 * ```ts
 * import { conversationId } from '@cloister/protocol';
 * const c = await stores.conversations.get(conversationId('g_ward3'));
 * if (c?.kind === 'group') console.log(`group ${c.groupId}`);
 * ```
 */
export interface GroupConversation extends ConversationBase {
  /** Always `group`. */
  readonly kind: 'group';
  /** The group it belongs to. */
  readonly groupId: GroupId;
}

/**
 * A stored conversation.
 *
 * @example
 * ```ts
 * const { items }: { items: Conversation[] } = await stores.conversations.list();
 * const titles = items.map((c) => (c.kind === 'direct' ? c.peer : c.groupId));
 * ```
 */
export type Conversation = DirectConversation | GroupConversation;

/**
 * What {@link ConversationStore.create} takes.
 *
 * @example
 * ```ts
 * import { conversationId, groupId } from '@cloister/protocol';
 * const input: ConversationInput = {
 *   id: conversationId('g_ward3'), kind: 'group', groupId: groupId('ward3'), disappearingTimerMs: 7 * 86_400_000,
 * };
 * await stores.conversations.create(input);
 * ```
 */
export type ConversationInput =
  | {
      readonly id: ConversationId;
      readonly kind: 'direct';
      readonly peer: UserId;
      readonly disappearingTimerMs?: number | null;
    }
  | {
      readonly id: ConversationId;
      readonly kind: 'group';
      readonly groupId: GroupId;
      readonly disappearingTimerMs?: number | null;
    };

/**
 * An opaque position in a listing, from a previous page's `next`.
 *
 * @example
 * ```ts
 * const first = await stores.conversations.list({ limit: 20 });
 * const cursor: PageCursor | undefined = first.next;
 * if (cursor !== undefined) await stores.conversations.list({ limit: 20, cursor });
 * ```
 */
export type PageCursor = string;

/**
 * Options of a paged listing. A limit out of range or a cursor that is not one a listing
 * returned is a `ValidationError`.
 *
 * @example
 * ```ts
 * import { conversationId } from '@cloister/protocol';
 * const options: PageOptions = { limit: 100 };
 * const page = await stores.messages.history(conversationId('c_bob'), options);
 * ```
 */
export interface PageOptions {
  /** At most this many items (1..1000, default 50). */
  readonly limit?: number;
  /** Continue after this cursor (a previous page's `next`). */
  readonly cursor?: PageCursor;
}

/**
 * One page of a listing; `next` is present when more items may follow.
 *
 * @example
 * ```ts
 * import { conversationId } from '@cloister/protocol';
 * const all: StoredMessage[] = [];
 * let page: Page<StoredMessage> = await stores.messages.history(conversationId('c_bob'));
 * all.push(...page.items);
 * while (page.next !== undefined) {
 *   page = await stores.messages.history(conversationId('c_bob'), { cursor: page.next });
 *   all.push(...page.items);
 * }
 * ```
 */
export interface Page<T> {
  /** The items of this page, in the listing's order. */
  readonly items: T[];
  /** The cursor of the next page; absent when this is the last one. */
  readonly next?: PageCursor;
}

/**
 * Conversations of this client.
 *
 * @example
 * ```ts
 * import { conversationId, userId } from '@cloister/protocol';
 * await stores.conversations.create({ id: conversationId('c_bob'), kind: 'direct', peer: userId('bob') });
 * const { items } = await stores.conversations.list({ limit: 20 }); // most recent activity first
 * ```
 */
export interface ConversationStore {
  /**
   * Creates a conversation; resolves `false`, changing nothing, when the id exists.
   *
   * @example
   * ```ts
   * import { conversationId, userId } from '@cloister/protocol';
   * const created = await stores.conversations.create({ id: conversationId('c_bob'), kind: 'direct', peer: userId('bob') });
   * ```
   */
  create(input: ConversationInput): Promise<boolean>;
  /**
   * The conversation with this id, or `undefined`.
   *
   * @example
   * ```ts
   * import { conversationId } from '@cloister/protocol';
   * const c = await stores.conversations.get(conversationId('c_bob'));
   * if (c?.kind === 'direct') console.log(c.peer, c.disappearingTimerMs);
   * ```
   */
  get(id: ConversationId): Promise<Conversation | undefined>;
  /**
   * Conversations by latest activity, most recent first.
   *
   * @example
   * ```ts
   * const first = await stores.conversations.list({ limit: 20 });
   * const more = first.next === undefined ? undefined : await stores.conversations.list({ limit: 20, cursor: first.next });
   * ```
   */
  list(options?: PageOptions): Promise<Page<Conversation>>;
  /**
   * Sets the disappearing-message timer; resolves `false` when the conversation does not exist.
   *
   * @example
   * ```ts
   * import { conversationId } from '@cloister/protocol';
   * await stores.conversations.setDisappearingTimer(conversationId('c_bob'), 7 * 86_400_000); // one week
   * await stores.conversations.setDisappearingTimer(conversationId('c_bob'), null); // off
   * ```
   */
  setDisappearingTimer(id: ConversationId, timerMs: number | null): Promise<boolean>;
  /**
   * Moves the latest activity forward to `at` (never back); `false` when the conversation does not exist.
   *
   * @example
   * ```ts
   * import { conversationId } from '@cloister/protocol';
   * const found = await stores.conversations.touch(conversationId('c_bob'), Date.now());
   * ```
   */
  touch(id: ConversationId, at: number): Promise<boolean>;
  /**
   * Deletes the conversation and all its messages; resolves `true` when it existed.
   *
   * @example
   * ```ts
   * import { conversationId } from '@cloister/protocol';
   * const existed = await stores.conversations.delete(conversationId('c_bob'));
   * ```
   */
  delete(id: ConversationId): Promise<boolean>;
}

/**
 * Most items one page of {@link MessageStore.history} or {@link ConversationStore.list} returns
 * (1000), the largest `limit` they accept.
 *
 * @example
 * ```ts
 * const everything = await stores.conversations.list({ limit: MAX_PAGE_LIMIT });
 * ```
 */
export const MAX_PAGE_LIMIT = 1000;

function checkTimer(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, 'null or a positive safe integer (ms)');
  }
  return value;
}

function checkCursor(value: unknown): Uint8Array | undefined {
  if (value === undefined) return undefined;
  return fromHexString(value as string, 'options.cursor', SORT_LENGTH);
}

/** Checks the options of a paged listing: the page size and where to continue. */
export function pageOptions(options: PageOptions | undefined): {
  limit: number;
  after: Uint8Array | undefined;
} {
  const o = checkObjectArg(options ?? {}, 'options');
  return { limit: checkLimitArg(o.limit, 50, MAX_PAGE_LIMIT, 'options.limit'), after: checkCursor(o.cursor) };
}

/**
 * Creates the conversation store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const conversations = createConversationStore(adapterExecutor(adapter));
 * ```
 */
export function createConversationStore(run: Executor): ConversationStore {
  return {
    async create(input) {
      const o = checkObjectArg(input, 'input');
      const id = checkBrand(toConversationId, o.id, 'input.id', 'ConversationId');
      const timer = checkTimer(o.disappearingTimerMs, 'input.disappearingTimerMs');
      let peerOrGroup: { kind: 'direct'; peer: UserId } | { kind: 'group'; groupId: GroupId };
      if (o.kind === 'direct')
        peerOrGroup = { kind: 'direct', peer: checkBrand(toUserId, o.peer, 'input.peer', 'UserId') };
      else if (o.kind === 'group') {
        peerOrGroup = {
          kind: 'group',
          groupId: checkBrand(toGroupId, o.groupId, 'input.groupId', 'GroupId'),
        };
      } else throw new ValidationError('input.kind', "'direct' or 'group'");
      return run(async (tx) => {
        const conversation: Conversation = {
          id,
          ...peerOrGroup,
          disappearingTimerMs: timer,
          lastActivityAt: tx.now,
          createdAt: tx.now,
        };
        const key = timeSort(tx.now);
        const written = await tx.put(
          T.conversations,
          { partition: utf8Bytes(id), sort: EMPTY, value: encodeConv(conversation, key) },
          { ifAbsent: true },
        );
        if (!written) return false;
        await tx.put(T.conversationActivity, { partition: EMPTY, sort: key, value: encode(VERSION, { id }) });
        return true;
      });
    },
    async get(id) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      return run(async (tx) => (await loadConv(tx, c, false))?.conversation, { readOnly: true });
    },
    async list(options) {
      const { limit, after } = pageOptions(options);
      return run(
        async (tx) => {
          const rows = await tx.list(T.conversationActivity, EMPTY, {
            limit: limit + 1,
            reverse: true,
            ...(after === undefined ? {} : { after }),
          });
          const items: Conversation[] = [];
          for (const r of rows.slice(0, limit)) {
            const d = decodeObject(r.value, 'c_conversation_activity', VERSION);
            const id = dBranded(d, 'id', 'c_conversation_activity', toConversationId);
            const conv = await loadConv(tx, id, false);
            if (conv === undefined)
              throw new DecodeError('c_conversation_activity', 'names a missing conversation');
            items.push(conv.conversation);
          }
          const last = rows[limit - 1];
          return rows.length > limit && last !== undefined
            ? { items, next: toHexString(last.sort) }
            : { items };
        },
        { readOnly: true },
      );
    },
    async setDisappearingTimer(id, timerMs) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const timer = checkTimer(timerMs, 'timerMs');
      return run(async (tx) => {
        const old = await loadConv(tx, c, true);
        if (old === undefined) return false;
        await saveConv(tx, old, { ...old.conversation, disappearingTimerMs: timer });
        return true;
      });
    },
    async touch(id, at) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const t = checkTime(at, 'at');
      return run((tx) => touchConv(tx, c, t));
    },
    async delete(id) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const partition = utf8Bytes(c);
      return run(async (tx) => {
        const old = await loadConv(tx, c, true);
        if (old === undefined) return false;
        let after: Uint8Array | undefined;
        for (;;) {
          const rows = await tx.list(T.messages, partition, {
            limit: 1000,
            ...(after === undefined ? {} : { after }),
          });
          for (const r of rows) {
            const m = decodeMessage(r.value, r.expiresAt);
            await tx.delete(T.messageIds, utf8Bytes(m.id), EMPTY);
          }
          const last = rows[rows.length - 1];
          if (rows.length < 1000 || last === undefined) break;
          after = last.sort;
        }
        await tx.deletePartition(T.messages, partition);
        await tx.delete(T.conversationActivity, EMPTY, old.activityKey);
        await tx.delete(T.conversations, partition, EMPTY);
        return true;
      });
    },
  };
}
