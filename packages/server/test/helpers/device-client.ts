/**
 * Test helpers for delivery across instances: a device set up directly in the shared stores, and
 * a small delivery client that behaves as a real one must — it pins the server key, receives
 * pushed envelopes, hands each message id to the application once (deduplicating the
 * redeliveries that at-least-once implies), acknowledges, and when its socket drops reconnects to
 * the next instance it knows, with exponential backoff.
 */
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { deviceId, type KeyPair, registrationId } from '@cloister/crypto';
import { type MailboxId, type TenantId, userId } from '@cloister/protocol';
import WebSocket from 'ws';
import { authorizationHeader, credentialHash } from '../../src/auth.js';
import type { ServerContext } from '../../src/context.js';
import { newMailboxId } from '../../src/delivery-token.js';
import { decodeServerFrame, encodeAckFrame, MAX_ACK_FRAME_IDS } from '../../src/routes/ws.js';
import { socketPin } from './server.js';

/** One server instance as a client knows it. */
export interface Endpoint {
  readonly url: string;
  readonly pin: string;
}

/** A device created for a test, with the secrets only the device holds. */
export interface TestDevice {
  readonly tenant: TenantId;
  readonly user: string;
  readonly device: number;
  readonly mailbox: MailboxId;
  readonly credential: Uint8Array;
  readonly dh: KeyPair;
}

/**
 * Creates a device (and its user when missing) in the stores of `ctx`, with a fresh mailbox, a
 * random credential and an X25519 key pair. The tenant must exist.
 */
export async function setUpDevice(
  ctx: ServerContext,
  tenant: TenantId,
  user: string,
  device: number,
): Promise<TestDevice> {
  if ((await ctx.stores.users.get(tenant, userId(user))) === undefined) {
    await ctx.stores.users.create(tenant, userId(user), { displayName: user });
  }
  const dh = await ctx.provider.x25519.generateKeyPair();
  const credential = new Uint8Array(randomBytes(32));
  const mailbox = await newMailboxId(ctx.provider);
  await ctx.stores.devices.add(tenant, userId(user), deviceId(device), {
    identity: {
      signingKey: new Uint8Array(randomBytes(32)),
      dhKey: dh.publicKey,
      dhKeySignature: new Uint8Array(64),
    },
    registrationId: registrationId(device),
    mailbox,
    credentialHash: await credentialHash(ctx, credential),
  });
  return { tenant, user, device, mailbox, credential, dh };
}

/** Options of {@link DeviceClient}. */
export interface DeviceClientOptions {
  readonly credential: Uint8Array;
  /** The instances, in the order the client tries them after `first`. */
  readonly endpoints: readonly Endpoint[];
  /** Index of the instance to connect to first (default 0). */
  readonly first?: number;
  /** First reconnect delay, ms (default 50); doubles per failed attempt up to `backoffMaxMs`. */
  readonly backoffMinMs?: number;
  /** Longest reconnect delay, ms (default 1000). */
  readonly backoffMaxMs?: number;
  /**
   * How long received ids wait before their acknowledgement frame is sent, ms (default 0: at the
   * next turn of the event loop). A longer delay widens the window in which a crash leaves pushed
   * envelopes unacknowledged, so that they are pushed again after the reconnect.
   */
  readonly ackDelayMs?: number;
}

const OPEN = 1;

/**
 * A delivery client. `delivered` is what the application saw: each message id once, in arrival
 * order; `receipts` counts every envelope frame per id, redeliveries included.
 */
export class DeviceClient {
  /** Application deliveries, deduplicated by message id (insertion order = delivery order). */
  readonly delivered = new Map<string, Uint8Array>();
  /** Envelope frames received per message id, before deduplication. */
  readonly receipts = new Map<string, number>();
  /** Envelope frames that repeated an id already handed to the application. */
  duplicates = 0;
  /** Successful connections (the first one included). */
  connections = 0;
  /** Connection attempts that failed or connections that dropped, then retried. */
  reconnects = 0;
  /** Indexes of the endpoints each successful connection went to, in order. */
  readonly connectedTo: number[] = [];
  /** Why the last attempt failed (for timeout messages; never holds secrets). */
  lastFailure: string | undefined;

  private ws: WebSocket | undefined;
  private current: number;
  private attempt = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private syncedNow = false;
  private pendingAcks: string[] = [];
  private flushQueued = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: DeviceClientOptions) {
    if (options.endpoints.length === 0) throw new Error('no endpoints');
    this.current = (options.first ?? 0) % options.endpoints.length;
  }

  /** Connects (and keeps reconnecting until {@link stop}). */
  start(): void {
    this.connect();
  }

  /** Whether the current connection has received the end-of-backlog frame. */
  get synced(): boolean {
    return this.syncedNow && this.ws?.readyState === OPEN;
  }

  /** The endpoint index of the live connection, if any. */
  get connectedIndex(): number | undefined {
    return this.ws?.readyState === OPEN ? this.current : undefined;
  }

  /** Resolves once `predicate` holds (checked on every frame and every 100 ms), or rejects after `ms`. */
  async until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what} (last failure: ${this.lastFailure ?? 'none'})`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 100);
        this.waiters.add(done);
      });
    }
  }

  /** Closes the socket and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const ws = this.ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000).unref();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private connect(): void {
    if (this.stopped) return;
    const endpoint = this.options.endpoints[this.current] as Endpoint;
    this.syncedNow = false;
    this.pendingAcks = [];
    const ws = new WebSocket(`${endpoint.url.replace(/^https:/, 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      headers: { authorization: authorizationHeader(this.options.credential) },
      handshakeTimeout: 5_000,
    });
    this.ws = ws;
    // The certificate is self-signed: trust comes from the pin, checked before any frame is read.
    ws.on('upgrade', (res) => {
      if (socketPin(res.socket as TLSSocket) !== endpoint.pin) {
        this.lastFailure = 'server key does not match the pin';
        ws.terminate();
      }
    });
    ws.on('open', () => {
      this.attempt = 0;
      this.connections++;
      this.connectedTo.push(this.current);
      this.notify();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws || !isBinary) return;
      this.receive(ws, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      this.lastFailure = error.code ?? error.message;
    });
    ws.on('close', (code) => {
      if (ws !== this.ws) return;
      this.syncedNow = false;
      if (code !== 1000) this.lastFailure ??= `closed ${code}`;
      this.notify();
      if (this.stopped) return;
      this.reconnects++;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const min = this.options.backoffMinMs ?? 50;
    const max = this.options.backoffMaxMs ?? 1_000;
    const base = Math.min(max, min * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    // Move on to the next instance: the one that dropped us may be gone for good.
    this.current = (this.current + 1) % this.options.endpoints.length;
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
  }

  private receive(ws: WebSocket, bytes: Uint8Array): void {
    const frame = decodeServerFrame(bytes);
    if (frame.type === 'synced') {
      this.syncedNow = true;
      this.notify();
      return;
    }
    const id = frame.messageId;
    this.receipts.set(id, (this.receipts.get(id) ?? 0) + 1);
    if (this.delivered.has(id)) this.duplicates++;
    else this.delivered.set(id, frame.envelope);
    // Acknowledge even a duplicate: the server pushed it again because no ack of it took effect.
    this.pendingAcks.push(id);
    if (!this.flushQueued) {
      this.flushQueued = true;
      const flush = () => {
        this.flushQueued = false;
        this.flushAcks(ws);
      };
      const delay = this.options.ackDelayMs ?? 0;
      if (delay > 0) setTimeout(flush, delay);
      else setImmediate(flush);
    }
    this.notify();
  }

  private flushAcks(ws: WebSocket): void {
    const ids = this.pendingAcks.splice(0);
    if (ws !== this.ws || ws.readyState !== OPEN) return; // redelivered after the reconnect
    for (let i = 0; i < ids.length; i += MAX_ACK_FRAME_IDS) {
      ws.send(encodeAckFrame(ids.slice(i, i + MAX_ACK_FRAME_IDS)));
    }
  }
}
