/**
 * The node's HTTP API (fastify): key-value routes, lease routes, cluster routes, metrics. Every
 * error leaves as `{"error": {"code", "message"}}` with the right status.
 */
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { KeelNode } from '../server/keel-node.js';
import { registerKvRoutes } from './kv-routes.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { registerLeaseRoutes } from './lease-routes.js';
import { registerWatchRoutes } from './watch-routes.js';
import websocket from '@fastify/websocket';
import { registerMemberRoutes } from './member-routes.js';
import { registerMaintenanceRoutes } from './maintenance-routes.js';
import { registerHistoryRoutes } from './history-routes.js';
import { registerRecordRoutes } from './record-routes.js';
import { createMetrics } from './metrics.js';
import { registerMemberCors } from './cors.js';
import { registerOriginGate } from './origin-gate.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { registerGatewayRoutes } from './grpc/gateway-routes.js';
import { registerWatchGateway } from './grpc/watch-gateway.js';
import { etcdServices } from './grpc/grpc-server.js';
import { registerRestAuth } from './rest-auth.js';
import { KvRequestError } from '../kv/errors.js';
import { sendError, sendKvError, sendThrown } from './errors.js';
import { KeelError } from '../server/errors.js';

export interface HttpApiOptions {
  readonly node: KeelNode;
  readonly host: string;
  readonly port: number;
  /** Largest request body accepted; larger gets 413. */
  readonly requestBytesMax: number;
}

export interface HttpApi {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const app = buildHttpApp(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, url: `http://${options.host}:${port}`, close: () => app.close() };
}

export function buildHttpApp(options: HttpApiOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.requestBytesMax, logger: false });
  // Any body that is not JSON is the raw value.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const metrics = createMetrics(options.node);
  // First of all hooks: a page of a foreign origin is refused before anything runs.
  registerOriginGate(app, options.node);
  registerMemberCors(app, options.node);
  registerRestAuth(app, options.node);
  // One WebSocket plugin for the watch and dashboard streams (registered before both).
  void app.register(websocket, { options: { maxPayload: options.requestBytesMax } });
  const dashboard = registerDashboardRoutes(app, options.node);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requestSeconds.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (route.startsWith('/kv') || route === '/batch') dashboard.latency.record(reply.elapsedTime);
  });
  app.setErrorHandler((error: FastifyError | KvRequestError, _request, reply) => {
    // Refusals by the auth checks (rest-auth.ts), and any other stable-coded request error.
    if (error instanceof KvRequestError) return sendKvError(reply, { code: error.code, message: error.message });
    if (error instanceof KeelError) return sendThrown(reply, error);
    if (error.statusCode === 413) return sendError(reply, 413, 'REQUEST_TOO_LARGE', `request body exceeds ${options.requestBytesMax} bytes (requestBytesMax)`);
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'BAD_REQUEST', error.message);
    }
    reply.log.error(error);
    return sendError(reply, 500, 'INTERNAL', 'internal error; see the node log');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url}`));
  registerKvRoutes(app, options.node);
  registerLeaseRoutes(app, options.node);
  void app.register(async (scoped) => registerWatchRoutes(scoped, options.node));
  registerHistoryRoutes(app, options.node);
  registerRecordRoutes(app, options.node);
  registerClusterRoutes(app, options.node, metrics.registry);
  registerMemberRoutes(app, options.node);
  registerMaintenanceRoutes(app, options.node);
  registerGatewayRoutes(app, options.node.auth, etcdServices(options.node));
  registerWatchGateway(app, options.node);
  return app;
}
