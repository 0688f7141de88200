/**
 * Sending messages and read receipts: the shell's part is to check the input, run the core's
 * decision (`core/outgoing.ts`, `core/receipts.ts`) in one transaction, and wake the outbox.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import {
  type Content,
  type ConversationId,
  type MessageId,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import type { ClientContext } from './context.js';
import {
  type ClientMessage,
  composeMessage,
  queueReadReceipts,
  type Recipient,
  resolveRecipient,
} from './core/index.js';
import type { SendOptions } from './options.js';

/**
 * Sending for one client; `kickOutbox` wakes the outbox loop after a commit, `checkKnown` rejects
 * with `UnknownRecipientError` for a user the server's directory does not know (the directory's
 * `checkKnown`).
 */
export class Messaging {
  readonly #ctx: ClientContext;
  readonly #kickOutbox: () => void;
  readonly #checkKnown: (users: readonly UserId[]) => Promise<void>;
  readonly #selfPools: () => Promise<readonly string[]>;

  constructor(
    ctx: ClientContext,
    kickOutbox: () => void,
    checkKnown: (users: readonly UserId[]) => Promise<void>,
    selfPools: () => Promise<readonly string[]> = () => Promise.reject(new Error('no pools')),
  ) {
    this.#ctx = ctx;
    this.#kickOutbox = kickOutbox;
    this.#checkKnown = checkKnown;
    this.#selfPools = selfPools;
  }

  /**
   * This user's pools (its sender certificate's) when the archive scope needs them: only while the
   * signed policy archives with a scope that lists pools; undefined otherwise, or when they cannot
   * be fetched (offline), which counts as in scope.
   */
  async selfPools(): Promise<readonly string[] | undefined> {
    const policy = this.#ctx.policy;
    if (policy === undefined || policy.archiveKey === null) return undefined;
    if ((policy.archiveScope?.pools?.length ?? 0) === 0) return undefined;
    return this.#selfPools().catch(() => undefined);
  }

  /**
   * Checks `to` (`ValidationError`) and, for a user, that the server's directory knows them
   * (`UnknownRecipientError`; skipped offline); nothing is stored.
   */
  async checkRecipient(to: Recipient): Promise<void> {
    this.#ctx.ready();
    const resolved = resolveRecipient(to);
    if ('user' in resolved.job) await this.#checkKnown([toUserId(resolved.job.user)]);
  }

  /**
   * Stores and queues a message with `body` (see `composeMessage`); resolves once committed. A
   * user the directory does not know is `UnknownRecipientError` before anything is stored
   * (unless `checked`: the caller has just checked).
   */
  async send(
    to: Recipient,
    body: Content['body'],
    options: SendOptions = {},
    checked = false,
  ): Promise<ClientMessage> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const resolved = resolveRecipient(to);
    if (!checked) await this.checkRecipient(to);
    const selfPools = await this.selfPools();
    const now = ctx.now();
    const contentId = await ctx.provider.randomBytes(16);
    const message = await u.stores.transaction((t) =>
      composeMessage(u.self, t, {
        to: resolved,
        body,
        contentId,
        expireTimerSeconds: options.expireTimerSeconds,
        policy: ctx.policy,
        now,
        selfPools,
      }),
    );
    await ctx.step('enqueue:committed');
    this.#kickOutbox();
    return message;
  }

  /** Sends a text message. */
  async sendText(to: Recipient, text: string, options: SendOptions = {}): Promise<ClientMessage> {
    if (typeof text !== 'string' || text.length === 0)
      throw new ValidationError('text', 'a non-empty string');
    return this.send(to, { type: 'text', text }, options);
  }

  /** Marks received messages read and queues the receipts. */
  async markRead(conversationId: ConversationId, ids: readonly MessageId[]): Promise<void> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const now = ctx.now();
    await u.stores.transaction((t) => queueReadReceipts(u.self, t, { conversationId, ids, now }));
    this.#kickOutbox();
  }
}
