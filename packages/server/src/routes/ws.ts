/**
 * `GET /v1/ws`: the delivery WebSocket. A device opens it with its `Authorization` header, or
 * (browsers, which cannot set that header on a WebSocket) with the subprotocol list
 * `cloister.v1, cloister.auth.<base64url credential>`; the * server pushes every pending envelope of the device's mailbox as a binary frame, then every new
 * arrival as the wake-up bus reports it. The device acknowledges envelopes by message id; an
 * acknowledged envelope is deleted, an unacknowledged one is pushed again on the next connection
 * (at-least-once). See `spec/server-delivery.md` for the frames.
 *
 * Frames (all binary; a text frame closes the socket with 1003):
 *
 *   server → device  0x01 | u8(len(id)) | id (ASCII) | envelope       one queued envelope
 *                    0x02                                             everything queued at connect has been pushed once
 *   device → server  0x81 | (u8(len(id)) | id){1..256}                acknowledges those ids
 *
 * @module
 */
import { DecodeError, ForbiddenError, UnauthenticatedError, ValidationError } from '@cloister/crypto';
import { type MailboxId, type MessageId, messageId as toMessageId } from '@cloister/protocol';
import type { WebSocket } from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import { authenticate, type DeviceAuth } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { mailboxWriterOf } from '../mailbox-writer.js';
import { recipientsOf } from '../recipients.js';
import { statisticsOf } from '../statistics.js';
import { type QueuedPosition, queuedRecordBytes } from '../store/index.js';

/**
 * First byte of a frame carrying one queued envelope (server → device), `0x01`.
 *
 * @example
 * ```ts
 * socket.binaryType = 'arraybuffer';
 * socket.addEventListener('message', (event) => {
 *   const data = new Uint8Array(event.data as ArrayBuffer);
 *   const frame = data[0] === FRAME_ENVELOPE ? decodeServerFrame(data) : undefined;
 *   if (frame?.type === 'envelope') socket.send(encodeAckFrame([frame.messageId])); // after storing it
 * });
 * ```
 */
export const FRAME_ENVELOPE = 0x01;
/**
 * First byte of the frame saying the backlog found at connect has been pushed (server → device),
 * `0x02`; the frame is this one byte.
 *
 * @example
 * ```ts
 * socket.addEventListener('message', (event) => {
 *   const data = new Uint8Array(event.data as ArrayBuffer);
 *   if (data.length === 1 && data[0] === FRAME_SYNCED) console.log('caught up with the mailbox');
 * });
 * ```
 */
export const FRAME_SYNCED = 0x02;
/**
 * First byte of an acknowledgement frame (device → server), `0x81`.
 *
 * @example
 * ```ts
 * encodeAckFrame(['m_0001'])[0] === FRAME_ACK; // → true
 * ```
 */
export const FRAME_ACK = 0x81;
/**
 * Most ids in one acknowledgement frame (256).
 *
 * @example
 * ```ts
 * const ids = ['m_0001', 'm_0002', 'm_0003']; // the ids of the envelopes stored since the last ack
 * for (let i = 0; i < ids.length; i += MAX_ACK_FRAME_IDS) socket.send(encodeAckFrame(ids.slice(i, i + MAX_ACK_FRAME_IDS)));
 * ```
 */
export const MAX_ACK_FRAME_IDS = 256;

/**
 * Close codes of the delivery socket.
 *
 * @example
 * ```ts
 * socket.addEventListener('close', (event) => {
 *   if (event.code === WS_CLOSE.policy) console.log('this device was blocked or removed: stop reconnecting');
 *   else if (event.code === WS_CLOSE.goingAway) console.log('the server restarts: reconnect soon');
 * });
 * ```
 */
export const WS_CLOSE = Object.freeze({
  /** The server is shutting down (after finishing the pushes in flight). */
  goingAway: 1001,
  /** A text frame was received. */
  unsupportedData: 1003,
  /** A binary frame could not be decoded. */
  invalidFrame: 1007,
  /** The device or its user was blocked or removed while connected. */
  policy: 1008,
  /** The server failed (for example its database); reconnect later. */
  internalError: 1011,
});

/**
 * The subprotocol the server selects on the delivery socket (the only one it ever selects).
 *
 * @example
 * ```ts
 * const auth = `${WS_AUTH_SUBPROTOCOL_PREFIX}${Buffer.from(credential).toString('base64url')}`;
 * const ws = new WebSocket('wss://chat.example.org/v1/ws', [WS_SUBPROTOCOL, auth]);
 * ws.protocol; // → 'cloister.v1' once open
 * ```
 */
export const WS_SUBPROTOCOL = 'cloister.v1';
/**
 * The prefix of the subprotocol entry carrying a device credential (base64url, unpadded) for
 * clients that cannot set an `Authorization` header on a WebSocket. Never selected or echoed.
 *
 * @example
 * ```ts
 * const offer = [WS_SUBPROTOCOL, `${WS_AUTH_SUBPROTOCOL_PREFIX}${Buffer.from(credential).toString('base64url')}`];
 * const ws = new WebSocket('wss://chat.example.org/v1/ws', offer); // a browser cannot set Authorization
 * ```
 */
export const WS_AUTH_SUBPROTOCOL_PREFIX = 'cloister.auth.';

/**
 * The `Authorization` value carried by a `Sec-WebSocket-Protocol` header, or undefined when the
 * header holds no `cloister.auth.` entry. More than one such entry is `UnauthenticatedError`; the
 * credential's form is checked by `authenticate`, exactly as for the header.
 *
 * @example
 * ```ts
 * subprotocolAuthorization('cloister.v1, cloister.auth.AAAA…'); // 'Cloister-Device AAAA…'
 * ```
 */
export function subprotocolAuthorization(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const entries = header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith(WS_AUTH_SUBPROTOCOL_PREFIX));
  if (entries.length === 0) return undefined;
  if (entries.length > 1) throw new UnauthenticatedError();
  return `Cloister-Device ${(entries[0] as string).slice(WS_AUTH_SUBPROTOCOL_PREFIX.length)}`;
}

/**
 * Picks the subprotocol to answer with: `cloister.v1` when offered, otherwise none (a client that
 * offered only other protocols then fails the handshake, as RFC 6455 requires). The credential
 * entry is never selected, so it is never sent back.
 *
 * @example
 * ```ts
 * import websocket from '@fastify/websocket';
 * await app.register(websocket, { options: { handleProtocols: selectSubprotocol } });
 * selectSubprotocol(new Set(['cloister.v1', 'cloister.auth.AAAA'])); // → 'cloister.v1'
 * ```
 */
export function selectSubprotocol(protocols: ReadonlySet<string>): string | false {
  return protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false;
}

/** The request to authenticate: the `Authorization` header when present (it wins), else the subprotocol credential. */
function credentialSource(request: FastifyRequest): Pick<FastifyRequest, 'headers'> {
  if (request.headers.authorization !== undefined) return request;
  const authorization = subprotocolAuthorization(request.headers['sec-websocket-protocol']);
  return authorization === undefined ? request : { headers: { authorization } };
}

const MESSAGE_ID_PATTERN = /^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/;
const ascii = new TextEncoder();
const asciiDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes the frame that pushes one envelope: `0x01 | u8(len(id)) | id | envelope`.
 *
 * @example
 * ```ts
 * const [item] = (await ctx.stores.mailboxes.list(mailbox, { limit: 1 })).items;
 * if (item !== undefined) socket.send(encodeEnvelopeFrame(item.messageId, item.envelope));
 * ```
 */
export function encodeEnvelopeFrame(id: MessageId, envelope: Uint8Array): Uint8Array {
  const idBytes = ascii.encode(id);
  const out = new Uint8Array(2 + idBytes.length + envelope.length);
  out[0] = FRAME_ENVELOPE;
  out[1] = idBytes.length;
  out.set(idBytes, 2);
  out.set(envelope, 2 + idBytes.length);
  return out;
}

/**
 * A frame the server sends on the delivery socket, decoded.
 *
 * @example
 * ```ts
 * const frame: ServerFrame = decodeServerFrame(bytes); // a binary frame from the delivery socket
 * if (frame.type === 'envelope') socket.send(encodeAckFrame([frame.messageId]));
 * ```
 */
export type ServerFrame =
  | { readonly type: 'envelope'; readonly messageId: MessageId; readonly envelope: Uint8Array }
  | { readonly type: 'synced' };

function readId(bytes: Uint8Array, at: number, path: string): { id: MessageId; end: number } {
  const length = bytes[at];
  if (length === undefined || length === 0 || at + 1 + length > bytes.length) {
    throw new DecodeError(path, 'truncated message id');
  }
  let text: string;
  try {
    text = asciiDecoder.decode(bytes.subarray(at + 1, at + 1 + length));
  } catch {
    throw new DecodeError(path, 'message id is not text');
  }
  if (!MESSAGE_ID_PATTERN.test(text)) throw new DecodeError(path, 'not a message id');
  return { id: toMessageId(text), end: at + 1 + length };
}

/**
 * Decodes a frame received from the server (for clients and tests). Throws `DecodeError`.
 *
 * @example
 * ```ts
 * socket.addEventListener('message', (event) => {
 *   const frame = decodeServerFrame(new Uint8Array(event.data as ArrayBuffer));
 *   if (frame.type === 'envelope') socket.send(encodeAckFrame([frame.messageId]));
 * });
 * ```
 */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new DecodeError('frame', 'empty');
  if (bytes[0] === FRAME_SYNCED) {
    if (bytes.length !== 1) throw new DecodeError('frame', 'trailing bytes');
    return { type: 'synced' };
  }
  if (bytes[0] !== FRAME_ENVELOPE) throw new DecodeError('frame.type', 'unknown');
  const { id, end } = readId(bytes, 1, 'frame.messageId');
  if (end >= bytes.length) throw new DecodeError('frame.envelope', 'empty');
  return { type: 'envelope', messageId: id, envelope: bytes.slice(end) };
}

/**
 * Encodes an acknowledgement frame: `0x81 | (u8(len(id)) | id){1..256}`.
 *
 * @example
 * ```ts
 * const frame = decodeServerFrame(bytes);
 * if (frame.type === 'envelope') socket.send(encodeAckFrame([frame.messageId]));
 * ```
 */
export function encodeAckFrame(ids: readonly string[]): Uint8Array {
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_ACK_FRAME_IDS) {
    throw new ValidationError('ids', `1 to ${MAX_ACK_FRAME_IDS} ids`);
  }
  const parts = ids.map((id) => {
    if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id))
      throw new ValidationError('ids', 'message ids');
    return ascii.encode(id);
  });
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + 1 + p.length, 0));
  out[0] = FRAME_ACK;
  let at = 1;
  for (const p of parts) {
    out[at] = p.length;
    out.set(p, at + 1);
    at += 1 + p.length;
  }
  return out;
}

/**
 * Decodes an acknowledgement frame (the server side of {@link encodeAckFrame}). Throws
 * `DecodeError` on anything else.
 *
 * @example
 * ```ts
 * const ids = decodeAckFrame(bytes); // a binary frame a device sent
 * await ctx.stores.mailboxes.ack(mailbox, ids);
 * ```
 */
export function decodeAckFrame(bytes: Uint8Array): MessageId[] {
  if (bytes.length < 2 || bytes[0] !== FRAME_ACK) throw new DecodeError('ack', 'not an acknowledgement');
  const ids: MessageId[] = [];
  let at = 1;
  while (at < bytes.length) {
    if (ids.length === MAX_ACK_FRAME_IDS) throw new DecodeError('ack.ids', 'too many');
    const { id, end } = readId(bytes, at, `ack.ids[${ids.length}]`);
    ids.push(id);
    at = end;
  }
  return ids;
}

/**
 * A newly queued envelope handed from a submission's commit to the sockets of its mailbox.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const item = { messageId: messageId('m_0001'), envelope, expiresAt: ctx.now() + 86_400_000 };
 * const { outcomes } = await mailboxWriterOf(ctx).submit([{ mailbox, ...item }]);
 * const [outcome] = outcomes;
 * if (outcome?.status === 'queued') {
 *   const offer: LocalOffer = { messageId: item.messageId, envelope, cursor: outcome.cursor };
 *   offerToLocalSockets(ctx, mailbox, offer);
 * }
 * ```
 */
export interface LocalOffer {
  /** The envelope's mailbox message id. */
  readonly messageId: MessageId;
  /** The sealed envelope, as queued. */
  readonly envelope: Uint8Array;
  /** Its position in the mailbox (what an acknowledgement deletes). */
  readonly cursor: string;
}

// The live delivery sockets of this instance, by mailbox (per server context).
const LOCAL_SOCKETS = new WeakMap<ServerContext, Map<string, Set<DeliveryConnection>>>();

/**
 * Whether this instance holds a live delivery socket for `mailbox`. Another instance may hold one
 * even when this says `false`; the delivery route then sends a push hint anyway (harmless).
 *
 * @example
 * ```ts
 * if (!hasLocalSocket(ctx, mailbox)) await ctx.notifier?.notify({ mailboxHint: mailbox });
 * ```
 */
export function hasLocalSocket(ctx: ServerContext, mailbox: MailboxId): boolean {
  return (LOCAL_SOCKETS.get(ctx)?.get(mailbox)?.size ?? 0) > 0;
}

/**
 * Hands a newly committed envelope (or, with `undefined`, a wake-up) to every socket of `mailbox`
 * on this instance; resolves whether there was one. A socket pushes the envelope at once when its
 * window has room and it is caught up, keeps it for later when the window is full, and lists its
 * mailbox again when it is still catching up or kept too much.
 *
 * @example
 * ```ts
 * if (!offerToLocalSockets(ctx, mailbox, undefined)) await ctx.bus.notify(mailbox); // wake other instances
 * ```
 */
export function offerToLocalSockets(
  ctx: ServerContext,
  mailbox: MailboxId,
  offer: LocalOffer | undefined,
): boolean {
  const sockets = LOCAL_SOCKETS.get(ctx)?.get(mailbox);
  if (sockets === undefined || sockets.size === 0) return false;
  for (const connection of sockets) {
    if (offer === undefined) connection.wake();
    else connection.offer(offer);
  }
  return true;
}

function track(ctx: ServerContext, mailbox: MailboxId, connection: DeliveryConnection, add: boolean): void {
  let map = LOCAL_SOCKETS.get(ctx);
  if (map === undefined) {
    map = new Map();
    LOCAL_SOCKETS.set(ctx, map);
  }
  let set = map.get(mailbox);
  if (add) {
    if (set === undefined) {
      set = new Set();
      map.set(mailbox, set);
    }
    set.add(connection);
    return;
  }
  set?.delete(connection);
  if (set !== undefined && set.size === 0) map.delete(mailbox);
}

/**
 * Options of {@link createWsRoutes}.
 *
 * @example
 * ```ts
 * const options: WsRouteOptions = { maxInFlight: 32, maxInFlightBytes: 4 * 1024 * 1024, pingIntervalMs: 20_000 };
 * ```
 */
export interface WsRouteOptions {
  /** Most envelopes pushed and not yet acknowledged on one socket (default 64). */
  readonly maxInFlight?: number;
  /** Most envelope bytes pushed and not yet acknowledged on one socket (default 8 MiB). */
  readonly maxInFlightBytes?: number;
  /** Interval of keepalive pings; a socket that missed the previous pong is dropped (default 30 s). */
  readonly pingIntervalMs?: number;
  /**
   * How long a read of the device's and user's blocked flags stays trusted for pushes and
   * acknowledgements (default 1 s). A `recheck` on the bus (a block, wipe or removal) forces a
   * read at once, so this is only the backstop for a recheck the bus lost.
   */
  readonly recheckMs?: number;
  /**
   * Most envelope bytes all sockets of the instance keep in memory while their windows are full
   * (default {@link KEPT_BYTES_PER_INSTANCE}); past it a socket lists its mailbox later instead.
   */
  readonly maxKeptBytes?: number;
}

const OPEN = 1;

/**
 * Most envelope bytes one instance keeps in memory for sockets whose window is full (64 MiB). Past
 * it, a socket keeps nothing more and lists its mailbox once its window opens, so devices that
 * never acknowledge cannot make the server hold their envelopes in memory.
 *
 * @example
 * ```ts
 * console.log(KEPT_BYTES_PER_INSTANCE); // 67108864
 * ```
 */
export const KEPT_BYTES_PER_INSTANCE = 64 * 1024 * 1024;
/** Most envelope bytes one socket keeps for its full window (1 MiB, or its window's bytes if less). */
const KEPT_BYTES_PER_SOCKET = 1024 * 1024;
// Bytes kept by all sockets of one instance.
const KEPT_BYTES = new WeakMap<ServerContext, { bytes: number }>();

/**
 * How many envelope bytes the delivery sockets of the instance `ctx` belongs to keep in memory
 * now, waiting for their windows to open (for metrics and tests).
 *
 * @example
 * ```ts
 * ctx.log.info({ keptBytes: keptEnvelopeBytes(ctx) }, 'delivery sockets');
 * ```
 */
export function keptEnvelopeBytes(ctx: ServerContext): number {
  return KEPT_BYTES.get(ctx)?.bytes ?? 0;
}

/** An envelope pushed on a socket and not yet acknowledged. */
interface InFlight {
  readonly bytes: number;
  readonly cursor: string;
}

/** One delivery socket. */
class DeliveryConnection {
  private readonly inflight = new Map<string, InFlight>();
  private inflightBytes = 0;
  /** Envelopes handed over while the window was full, oldest first (bounded by {@link maxKept}). */
  private kept: LocalOffer[] = [];
  private keptBytes = 0;
  /**
   * The mailbox may hold envelopes this socket has not pushed and does not keep (at connect, after
   * more arrived than it keeps, after a bus wake-up): the next pass lists the mailbox from its head.
   */
  private behind = true;
  private chain: Promise<void> = Promise.resolve();
  private pumpQueued = false;
  private closing = false;
  private failed = false;
  private synced = false;
  private checkedAt = 0;
  /** Bumped by every `recheck`: a read that started before it is not trusted afterwards. */
  private generation = 0;

  constructor(
    private readonly ctx: ServerContext,
    private readonly socket: WebSocket,
    private readonly me: DeviceAuth,
    private readonly options: Required<WsRouteOptions>,
  ) {}

  /** Most envelopes kept for a full window before the socket falls back to listing: one window. */
  private get maxKept(): number {
    return this.options.maxInFlight;
  }

  /** The bytes all sockets of this instance keep. */
  private get instanceKept(): { bytes: number } {
    let kept = KEPT_BYTES.get(this.ctx);
    if (kept === undefined) {
      kept = { bytes: 0 };
      KEPT_BYTES.set(this.ctx, kept);
    }
    return kept;
  }

  /** Forgets every kept envelope (they are in the mailbox: a listing finds them). */
  private forgetKept(): void {
    this.instanceKept.bytes -= this.keptBytes;
    this.kept = [];
    this.keptBytes = 0;
  }

  /** Runs `fn` after every earlier pump and acknowledgement of this socket. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private fail(error: unknown): void {
    // Nothing more is pushed or acknowledged on this socket once it failed.
    this.closing = true;
    this.failed = true;
    if (error instanceof ForbiddenError) {
      this.socket.close(WS_CLOSE.policy, 'ERR_FORBIDDEN');
      return;
    }
    this.ctx.log.warn({ errorCode: (error as { code?: unknown })?.code }, 'delivery socket failed');
    this.socket.close(WS_CLOSE.internalError, 'ERR_INTERNAL');
  }

  /** The mailbox may hold something new this socket was not handed: list it (coalesced). */
  wake(): void {
    this.behind = true;
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.closing) return;
    this.pumpQueued = true;
    this.serial(async () => {
      this.pumpQueued = false;
      await this.pump();
    }).catch((e) => this.fail(e));
  }

  /**
   * A submission on this instance committed `offer` for this mailbox. Pushed now when the socket
   * is caught up, its last check of the device is current and the window has room; otherwise kept
   * (pushed after the next check or acknowledgement; at most one window's envelopes, 1 MiB per
   * socket and `maxKeptBytes` per instance), or, when the socket is still catching
   * up or would keep too much, found by listing the mailbox.
   */
  offer(offer: LocalOffer): void {
    if (this.closing) return;
    if (this.behind || !this.synced) {
      this.wake();
      return;
    }
    if (this.inflight.has(offer.messageId)) return;
    if (
      this.kept.length === 0 &&
      !this.windowFull() &&
      this.checkCurrent() &&
      this.socket.readyState === OPEN
    ) {
      this.push(offer);
      return;
    }
    const bytes = offer.envelope.length;
    if (
      this.kept.length >= this.maxKept ||
      this.keptBytes + bytes > Math.min(KEPT_BYTES_PER_SOCKET, this.options.maxInFlightBytes) ||
      this.instanceKept.bytes + bytes > this.options.maxKeptBytes
    ) {
      // Too much waiting: forget what is kept and list the mailbox once the window opens.
      this.forgetKept();
      this.wake();
      return;
    }
    this.kept.push(offer);
    this.keptBytes += bytes;
    this.instanceKept.bytes += bytes;
    // The device was not checked recently: check it, then push what is kept.
    if (!this.checkCurrent()) this.schedulePump();
  }

  private push(item: LocalOffer): void {
    this.socket.send(encodeEnvelopeFrame(item.messageId, item.envelope), { binary: true });
    this.inflight.set(item.messageId, { bytes: item.envelope.length, cursor: item.cursor });
    this.inflightBytes += item.envelope.length;
  }

  /** Pushes kept envelopes while the window has room. */
  private drainKept(): void {
    while (this.kept.length > 0 && !this.windowFull() && !this.closing && this.socket.readyState === OPEN) {
      const item = this.kept.shift() as LocalOffer;
      this.keptBytes -= item.envelope.length;
      this.instanceKept.bytes -= item.envelope.length;
      if (!this.inflight.has(item.messageId)) this.push(item);
    }
  }

  /**
   * The bus said the device or its user may have been blocked, removed or wiped: the last read
   * of the flags is no longer trusted, and the next step of this socket (queued right now, ahead
   * of any acknowledgement that arrives later) reads them and closes with 1008 if refused.
   */
  recheck(): void {
    this.generation++;
    this.checkedAt = 0;
    this.schedulePump();
  }

  /** Whether the last check of the device and user is recent enough to push without another. */
  private checkCurrent(): boolean {
    return this.checkedAt !== 0 && Date.now() - this.checkedAt < this.options.recheckMs;
  }

  private async checkAllowed(): Promise<void> {
    if (this.checkCurrent()) return;
    const now = Date.now();
    const generation = this.generation;
    const recipient = await recipientsOf(this.ctx).get(this.me.mailbox);
    if (recipient === undefined || recipient.blocked) throw new ForbiddenError('this device is blocked');
    if (generation === this.generation) this.checkedAt = now;
  }

  private windowFull(): boolean {
    return (
      this.inflight.size >= this.options.maxInFlight || this.inflightBytes >= this.options.maxInFlightBytes
    );
  }

  /**
   * Checks the device, pushes what is kept, and, when the socket may be behind, lists the mailbox
   * from its head (skipping what is in flight) until the window is full or the mailbox is pushed,
   * so that an envelope another instance queued with an earlier sort key is not passed over.
   */
  private async pump(): Promise<void> {
    if (this.closing || this.socket.readyState !== OPEN) return;
    await this.checkAllowed();
    this.drainKept();
    while (this.behind) {
      if (this.closing || this.socket.readyState !== OPEN || this.windowFull()) return;
      // Anything handed over from now on is also found by this listing or by the next pass.
      this.behind = false;
      this.forgetKept();
      const limit = Math.min(1000, this.options.maxInFlight + this.inflight.size);
      const page = await this.ctx.stores.mailboxes.list(this.me.mailbox, { limit });
      let stopped = false;
      for (const item of page.items) {
        if (this.inflight.has(item.messageId)) continue;
        if (this.windowFull() || this.socket.readyState !== OPEN) {
          stopped = true;
          break;
        }
        this.push(item);
      }
      if (stopped || page.next !== undefined) {
        // More is queued than the window holds: list again once acknowledgements open it.
        this.behind = true;
        if (stopped || this.windowFull()) return;
      }
    }
    if (!this.synced && this.socket.readyState === OPEN) {
      this.synced = true;
      this.socket.send(Uint8Array.of(FRAME_SYNCED), { binary: true });
    }
  }

  /** Handles one frame from the device. */
  receive(data: Buffer, isBinary: boolean): void {
    if (this.failed) return; // refused (or failed): an acknowledgement deletes nothing
    if (!isBinary) {
      this.socket.close(WS_CLOSE.unsupportedData, 'ERR_DECODE');
      return;
    }
    let ids: MessageId[];
    try {
      ids = decodeAckFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch {
      this.socket.close(WS_CLOSE.invalidFrame, 'ERR_DECODE');
      return;
    }
    this.serial(async () => {
      if (this.failed) return;
      // A blocked or removed device's acknowledgement deletes nothing: it is refused and the
      // socket closes with 1008 (the same check, and the same bound, as a push).
      await this.checkAllowed();
      // What this socket pushed is deleted by position in the instance's group commit; an id it
      // did not push (from an earlier connection) is looked up by id.
      const positions: QueuedPosition[] = [];
      const unknown: MessageId[] = [];
      for (const id of ids) {
        const entry = this.inflight.get(id);
        if (entry === undefined) unknown.push(id);
        else positions.push({ mailbox: this.me.mailbox, cursor: entry.cursor });
      }
      await mailboxWriterOf(this.ctx).ack(positions);
      if (unknown.length > 0) await this.ctx.stores.mailboxes.ack(this.me.mailbox, unknown);
      let freed = 0;
      let freedBytes = 0;
      for (const id of ids) {
        const entry = this.inflight.get(id);
        if (entry === undefined) continue;
        this.inflight.delete(id);
        this.inflightBytes -= entry.bytes;
        freed++;
        freedBytes += queuedRecordBytes(id, entry.bytes);
      }
      // The mailbox quota's figure follows (an id acknowledged twice or by another socket is set
      // right at the next read of the entry).
      recipientsOf(this.ctx).noteUsage(this.me.mailbox, -freed, -freedBytes);
      this.drainKept();
    }).then(
      () => {
        if (this.behind) this.schedulePump();
      },
      (e) => this.fail(e),
    );
  }

  /** Stops pushing, lets the pass in flight finish, then closes with 1001. */
  shutdown(): void {
    this.closing = true;
    void this.serial(async () => undefined).then(() => {
      if (this.socket.readyState === OPEN) this.socket.close(WS_CLOSE.goingAway, 'server shutting down');
    });
  }

  /**
   * After the socket closed: nothing more is pushed. Resolves whether envelopes were pushed and
   * not acknowledged or kept for later (then another socket of the mailbox should list it).
   */
  closed(): boolean {
    this.closing = true;
    const unfinished = this.inflight.size > 0 || this.kept.length > 0;
    this.forgetKept();
    return unfinished;
  }
}

const DEFAULTS: Required<WsRouteOptions> = {
  maxInFlight: 64,
  maxInFlightBytes: 8 * 1024 * 1024,
  pingIntervalMs: 30_000,
  recheckMs: 1_000,
  maxKeptBytes: KEPT_BYTES_PER_INSTANCE,
};

/**
 * Creates the delivery WebSocket route module (`GET /v1/ws`) with the given window and keepalive;
 * `ValidationError` for an option that is not a positive integer.
 *
 * @example
 * ```ts
 * const ws = createWsRoutes({ maxInFlight: 32, pingIntervalMs: 20_000 });
 * const server = await createServer({ routes: [enrolmentRoutes, keyRoutes, deliveryRoutes, ws] });
 * ```
 */
export function createWsRoutes(options: WsRouteOptions = {}): RouteModule {
  const o: Required<WsRouteOptions> = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(o)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ValidationError(`options.${name}`, 'a positive integer');
  }
  return (app, ctx) => {
    const callers = new WeakMap<FastifyRequest, DeviceAuth>();
    app.get(
      '/v1/ws',
      {
        websocket: true,
        preValidation: async (request) => {
          callers.set(request, await authenticate(ctx, credentialSource(request)));
        },
      },
      (socket, request) => {
        const me = callers.get(request);
        if (me === undefined || ctx.shutdown.aborted) {
          socket.close(WS_CLOSE.goingAway, 'server shutting down');
          return;
        }
        const connection = new DeliveryConnection(ctx, socket, me, o);
        track(ctx, me.mailbox, connection, true);
        // Statistics: an active device, and one more concurrent connection of its tenant.
        statisticsOf(ctx).active(me.tenant, me.user, me.device);
        statisticsOf(ctx).connections(me.tenant, 1);
        const unsubscribe = ctx.bus.subscribe(me.mailbox, (signal) =>
          signal === 'recheck' ? connection.recheck() : connection.wake(),
        );
        let alive = true;
        const ping = setInterval(() => {
          if (!alive) {
            socket.terminate();
            return;
          }
          alive = false;
          socket.ping();
        }, o.pingIntervalMs);
        ping.unref();
        const onAbort = () => {
          // Taken out of the plugin's client list so its pre-close hook does not close the socket
          // before the pushes in flight are finished; this socket closes itself with 1001.
          app.websocketServer?.clients?.delete(socket);
          connection.shutdown();
        };
        ctx.shutdown.addEventListener('abort', onAbort, { once: true });
        socket.on('pong', () => {
          alive = true;
        });
        socket.on('message', (data: Buffer, isBinary: boolean) => connection.receive(data, isBinary));
        socket.on('close', () => {
          const unfinished = connection.closed();
          clearInterval(ping);
          unsubscribe();
          track(ctx, me.mailbox, connection, false);
          statisticsOf(ctx).connections(me.tenant, -1);
          // Envelopes pushed here and not acknowledged: another socket of the mailbox (on this or
          // another instance) lists them again.
          if (unfinished) ctx.bus.notify(me.mailbox).catch(() => ctx.log.warn('wake-up bus notify failed'));
          ctx.shutdown.removeEventListener('abort', onAbort);
        });
        connection.wake();
      },
    );
  };
}

/**
 * The delivery WebSocket with the default window (64 envelopes, 8 MiB) and a 30 s keepalive.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, keyRoutes, deliveryRoutes, wsRoutes] });
 * ```
 */
export const wsRoutes: RouteModule = createWsRoutes();
