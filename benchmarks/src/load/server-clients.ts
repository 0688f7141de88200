/**
 * The client side of the server load benchmark, run as a child process of `server.ts` so that the
 * server process measures only itself (its memory per connected device, its CPU). It opens one
 * delivery WebSocket per simulated device, acknowledges every envelope on receipt, and runs a
 * closed loop of HTTPS POSTs (keep-alive) each delivering one envelope to a random device. Send and
 * receipt times are taken in this process, so end-to-end latency needs no clock agreement.
 *
 * Messages (IPC, JSON):
 *   parent → child  `setup` (a {@link ClientSetup}), then `run`, then `close`
 *   child → parent  `connected`, then `result` (a {@link ClientResult}), or `error`
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { encodeSealedDelivery } from '@cloister/protocol';
import { decodeServerFrame, encodeAckFrame, encodeEnvelopeFrame } from '@cloister/server';
import WebSocket from 'ws';
import { closedLoop, type LoadResult } from './closed-loop.js';

/** One simulated device as the child needs it. */
export interface ClientDevice {
  /** `Authorization` header value (Cloister), or absent (ceiling). */
  readonly authorization?: string;
  /** Path of the device's delivery socket. */
  readonly wsPath: string;
  /** Path that delivers to this device. */
  readonly postPath: string;
  /** A sealed envelope for this device (base64); every message to it reuses it under a fresh id. */
  readonly envelope: string;
}

/** What the parent asks the child to do. */
export interface ClientSetup {
  readonly type: 'setup';
  /** `cloister`: POST a `SealedDelivery`; `ceiling`: POST the push frame the relay forwards as is. */
  readonly mode: 'cloister' | 'ceiling';
  readonly url: string;
  readonly pin: string;
  readonly devices: readonly ClientDevice[];
  readonly senders: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Sockets opened at once while connecting. */
  readonly connectBatch: number;
}

/** Sent when the measured window starts and when it ends, so the parent can sample its own counters. */
export interface WindowEdge {
  readonly type: 'window';
  readonly edge: 'start' | 'end';
}

/** What the child measured. */
export interface ClientResult {
  readonly type: 'result';
  /** Envelopes received on the sockets during the measured window, per second. */
  readonly deliveredPerSecond: number;
  readonly delivered: number;
  /** End-to-end latency (POST sent → frame received) of the messages sent in the window. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly mean: number;
    readonly max: number;
  };
  readonly latencySamples: number;
  /** The POSTs (accepted answers) as the closed loop saw them. */
  readonly post: LoadResult;
  /** Messages sent whose frame never arrived within the drain time. */
  readonly undelivered: number;
  /** Frames for ids already received or never sent. */
  readonly unexpected: number;
  readonly connectSeconds: number;
  readonly envelopeBytes: number;
  readonly postBodyBytes: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function pinOf(socket: TLSSocket): string {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) throw new Error('no peer certificate');
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

/** Connects once and compares the server's key with the pin; the load connections then skip it. */
function checkPin(url: string, pin: string): Promise<void> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: target.hostname,
      port: Number(target.port),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      servername: 'localhost',
    });
    socket.once('secureConnect', () => {
      const ok = pinOf(socket) === pin;
      socket.end();
      if (ok) resolve();
      else reject(new Error('server key does not match the pin'));
    });
    socket.once('error', reject);
  });
}

const sockets: WebSocket[] = [];
let agent: Agent | undefined;

async function main(setup: ClientSetup): Promise<void> {
  await checkPin(setup.url, setup.pin);
  const wsBase = setup.url.replace('https:', 'wss:');
  const sent = new Map<string, number>();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let delivered = 0;
  let unexpected = 0;
  const latencies: number[] = [];
  let drained: (() => void) | undefined;

  const onFrame = (ws: WebSocket, data: Buffer, synced: () => void) => {
    const t1 = performance.now();
    const frame = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (frame.type === 'synced') {
      synced();
      return;
    }
    ws.send(encodeAckFrame([frame.messageId]));
    const t0 = sent.get(frame.messageId);
    if (t0 === undefined) {
      unexpected++;
      return;
    }
    sent.delete(frame.messageId);
    if (t1 >= windowStart && t1 <= windowEnd) delivered++;
    if (t0 >= windowStart && t0 <= windowEnd) latencies.push(t1 - t0);
    if (sent.size === 0) drained?.();
  };

  const open = (device: ClientDevice): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}${device.wsPath}`, {
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
        perMessageDeflate: false,
        headers: device.authorization === undefined ? {} : { authorization: device.authorization },
      });
      sockets.push(ws);
      // The Cloister server sends FRAME_SYNCED once the (empty) backlog is pushed: the socket is
      // then fully set up and idle. The ceiling has no backlog; open is enough.
      let isOpen = false;
      let isSynced = setup.mode === 'ceiling';
      const done = () => {
        if (isOpen && isSynced) resolve();
      };
      ws.on('message', (data: Buffer) =>
        onFrame(ws, data, () => {
          isSynced = true;
          done();
        }),
      );
      ws.once('open', () => {
        isOpen = true;
        done();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`socket refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.on('close', (code) => {
        if (!isOpen) reject(new Error(`socket closed: ${code}`));
      });
    });

  const t0 = performance.now();
  for (let i = 0; i < setup.devices.length; i += setup.connectBatch) {
    await Promise.all(setup.devices.slice(i, i + setup.connectBatch).map(open));
  }
  const connectSeconds = (performance.now() - t0) / 1000;
  process.send?.({ type: 'connected', connectSeconds });
  await new Promise<void>((resolve) => {
    process.once('message', (m: { type?: string }) => {
      if (m.type === 'run') resolve();
    });
  });

  const envelopes = setup.devices.map((d) => new Uint8Array(Buffer.from(d.envelope, 'base64')));
  agent = new Agent({
    keepAlive: true,
    maxSockets: setup.senders,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  const target = new URL(setup.url);
  // 8 random bytes per run and an 8-byte counter: ids are distinct across the run.
  const prefix = randomBytes(8);
  let counter = 0n;
  let postBodyBytes = 0;
  const post = (d: number): Promise<void> => {
    const device = setup.devices[d] as ClientDevice;
    const envelope = envelopes[d] as Uint8Array;
    const idBytes = new Uint8Array(16);
    idBytes.set(prefix, 0);
    new DataView(idBytes.buffer).setBigUint64(8, counter++);
    const id = `m_${Buffer.from(idBytes).toString('base64url')}`;
    const body =
      setup.mode === 'cloister'
        ? encodeSealedDelivery({ messageId: idBytes, envelope })
        : encodeEnvelopeFrame(id as Parameters<typeof encodeEnvelopeFrame>[0], envelope);
    postBodyBytes = body.length;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: target.hostname,
          port: target.port,
          path: device.postPath,
          method: 'POST',
          agent,
          headers: {
            'content-type': setup.mode === 'cloister' ? 'application/x-protobuf' : 'application/octet-stream',
            'content-length': String(body.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200 || !text.includes('"accepted"')) {
              sent.delete(id);
              reject(new Error(`delivery not accepted: ${res.statusCode} ${text.slice(0, 200)}`));
            } else resolve();
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      sent.set(id, performance.now());
      req.end(body);
    });
  };

  const warmupMs = setup.warmupSeconds * 1000;
  const durationMs = setup.seconds * 1000;
  windowStart = performance.now() + warmupMs;
  windowEnd = windowStart + durationMs;
  setTimeout(() => process.send?.({ type: 'window', edge: 'start' } satisfies WindowEdge), warmupMs);
  setTimeout(
    () => process.send?.({ type: 'window', edge: 'end' } satisfies WindowEdge),
    warmupMs + durationMs,
  );
  const postResult = await closedLoop({
    concurrency: setup.senders,
    durationMs,
    warmupMs,
    op: () => post(Math.floor(Math.random() * setup.devices.length)),
  });
  // Drain: every message sent must arrive; wait up to 15 s for the stragglers.
  if (sent.size > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 15_000);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const result: ClientResult = {
    type: 'result',
    deliveredPerSecond: delivered / setup.seconds,
    delivered,
    latencyMs: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length),
      max: sorted.at(-1) ?? Number.NaN,
    },
    latencySamples: sorted.length,
    post: postResult,
    undelivered: sent.size,
    unexpected,
    connectSeconds,
    envelopeBytes: envelopes[0]?.length ?? 0,
    postBodyBytes,
  };
  process.send?.(result);
}

async function closeAll(): Promise<void> {
  agent?.destroy();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2_000);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1000);
        }),
    ),
  );
}

process.once('message', (m: ClientSetup) => {
  main(m).catch((e: unknown) => {
    process.send?.({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  });
});
process.on('message', (m: { type?: string }) => {
  if (m.type === 'close') {
    void closeAll().then(() => {
      process.disconnect?.();
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));
