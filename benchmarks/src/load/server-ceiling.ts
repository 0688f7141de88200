/**
 * The ceiling of the server load benchmark: a bare Fastify HTTPS server with `@fastify/websocket`
 * and the same TLS settings as the Cloister server, that relays each POSTed body unchanged to the
 * WebSocket of the device named in the path. No authentication, no decoding, no storage, no
 * wake-up bus: what is left is the cost of TLS, HTTP, WebSocket framing and the event loop, which
 * no relay on this stack can beat.
 *
 *   GET  /ws/:device       the device's socket (frames it sends are read and dropped)
 *   POST /relay/:device    application/octet-stream; the body is sent to that socket as one binary frame
 */
import websocket, { type WebSocket } from '@fastify/websocket';
import Fastify from 'fastify';

/** A running ceiling server. */
export interface CeilingServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the relay on a random loopback port with the given TLS material. */
export async function startCeiling(tls: {
  readonly key: string;
  readonly cert: string;
}): Promise<CeilingServer> {
  const app = Fastify({
    https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' },
    logger: false,
    bodyLimit: 1024 * 1024,
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  const sockets = new Map<string, WebSocket>();
  app.get<{ Params: { device: string } }>('/ws/:device', { websocket: true }, (socket, request) => {
    const device = request.params.device;
    sockets.set(device, socket);
    socket.on('message', () => undefined);
    socket.on('close', () => {
      if (sockets.get(device) === socket) sockets.delete(device);
    });
  });
  app.post<{ Params: { device: string } }>('/relay/:device', async (request, reply) => {
    const socket = sockets.get(request.params.device);
    if (socket === undefined || !(request.body instanceof Buffer)) {
      return reply.code(404).send({ status: 'refused' });
    }
    socket.send(request.body, { binary: true });
    return { status: 'accepted' };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}
