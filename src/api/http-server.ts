/**
 * The node's HTTP API (fastify): key-value routes, cluster routes, metrics. Every
 * error leaves as `{"error": {"code", "message"}}` with the right status.
 */
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { KeelNode } from '../server/keel-node.js';
import { registerKvRoutes } from './kv-routes.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { createMetrics } from './metrics.js';
import { sendError } from './errors.js';
import { registerGatewayRoutes } from './grpc/gateway-routes.js';
import { etcdServices } from './grpc/grpc-server.js';

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
  app.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.statusCode === 413) return sendError(reply, 413, 'REQUEST_TOO_LARGE', `request body exceeds ${options.requestBytesMax} bytes (requestBytesMax)`);
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'BAD_REQUEST', error.message);
    }
    reply.log.error(error);
    return sendError(reply, 500, 'INTERNAL', 'internal error; see the node log');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url}`));
  registerKvRoutes(app, options.node);
  registerClusterRoutes(app, options.node, metrics.registry);
  registerGatewayRoutes(app, etcdServices(options.node));
  return app;
}
