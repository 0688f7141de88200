/**
 * `GET /health` (the process answers) and `GET /ready` (the database answers and the server is
 * not shutting down). Neither needs authentication; neither says anything about tenants or users.
 *
 * @module
 */
import type { RouteModule } from '../context.js';

/** Registers the health and readiness endpoints. */
export const healthRoutes: RouteModule = (app, ctx) => {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    if (ctx.shutdown.aborted) return reply.code(503).send({ status: 'shutting-down' });
    try {
      await ctx.adapter.transaction(async (tx) => tx.count('s_tenants', new Uint8Array(0)), {
        readOnly: true,
      });
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database-unavailable' });
    }
  });
};
