/**
 * The node's HTTP API (fastify): key-value routes, lease routes, cluster routes, metrics. Every
 * error leaves as `{"error": {"code", "message"}}` with the right status.
 */
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ApiNode } from '../server/index.js';
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
import { registerObserveGateway } from './grpc/observe-gateway.js';
import { etcdServices } from './grpc/grpc-server.js';
import { registerRestAuth } from './rest-auth.js';
import { KvRequestError } from '../kv/index.js';
import { sendError, sendKvError, sendThrown } from './errors.js';
import { KeelError } from '../replica/index.js';
import { randomBytes } from 'node:crypto';
import { jsonDepthMax, nestsDeeperThan } from './json-depth.js';
import { discardRestOfBody } from './refused-body.js';
import { createServer as createHttpServer } from 'node:http';
import type { ConnectionBudget } from './connection-budget.js';
import type { RequestListener, Server as HttpServer } from 'node:http';

export interface HttpApiOptions {
  readonly node: ApiNode;
  /** Largest request body accepted; larger gets 413. */
  readonly requestBytesMax: number;
  /** The client connections' write budgets, shared with the gRPC server (connection-budget.ts). */
  readonly writeBudget: ConnectionBudget;
  /** Where internal errors are logged, with the request id their answer carries. */
  readonly log?: { error(fields: object, message: string): void };
  /** Read for /metrics: the gRPC calls waiting for their requests to arrive, if gRPC is served. */
  readonly grpcCallsWaiting?: () => number;
}

/** Stable codes for the client errors fastify itself answers (unknown media type, a refused path...). */
const clientErrorCodes: Readonly<Record<number, string>> = { 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 415: 'UNSUPPORTED_MEDIA_TYPE' };

/**
 * The HTTP/1.1 app on a server that never listens: the client port (client-port.ts)
 * hands it its HTTP/1.1 connections, plain or with TLS already terminated, so the routes
 * see the same request objects either way (request.protocol says which).
 */
export function buildHttpApp(options: HttpApiOptions): FastifyInstance {
  // Each request gets an id that an internal error's answer and its log line both carry.
  const app = Fastify({
    bodyLimit: options.requestBytesMax,
    logger: false,
    genReqId: () => randomBytes(6).toString('base64url'),
    serverFactory: (handler) => unlistenedHttpServer(handler),
  });
  // JSON bodies: refused by name when nested deeper than any request needs (json-depth.ts).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, jsonDepthMax))
      return done(Object.assign(new Error(`the JSON body nests deeper than ${jsonDepthMax} levels`), { statusCode: 400 }), undefined);
    parseJson(request, body as string, done);
  });
  // Any body that is not JSON is the raw value.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const metrics = createMetrics(options.node, options.grpcCallsWaiting);
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
  app.setErrorHandler(async (error: FastifyError | KvRequestError, request, reply) => {
    // Refusals by the auth checks (rest-auth.ts), and any other stable-coded request error.
    if (error instanceof KvRequestError) return sendKvError(reply, { code: error.code, message: error.message });
    if (error instanceof KeelError) return sendThrown(reply, error);
    if (error.statusCode === 413) {
      // The body's refusal closes the connection; once the body is read to its end it need not.
      if (await discardRestOfBody(request.raw)) reply.removeHeader('connection');
      return sendError(reply, 413, 'REQUEST_TOO_LARGE', `request body exceeds ${options.requestBytesMax} bytes (requestBytesMax)`);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, clientErrorCodes[error.statusCode] ?? 'BAD_REQUEST', error.message);
    }
    options.log?.error({ err: error, requestId: request.id, method: request.method, url: request.url }, 'internal error answering a request');
    return reply
      .code(500)
      .send({ error: { code: 'INTERNAL', message: `internal error; see the node log for request id ${request.id}`, requestId: request.id } });
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url}`));
  registerKvRoutes(app, options.node, options.writeBudget);
  registerLeaseRoutes(app, options.node);
  void app.register(async (scoped) => registerWatchRoutes(scoped, options.node));
  registerHistoryRoutes(app, options.node);
  registerRecordRoutes(app, options.node, options.writeBudget);
  registerClusterRoutes(app, options.node, metrics.registry);
  registerMemberRoutes(app, options.node);
  registerMaintenanceRoutes(app, options.node);
  registerGatewayRoutes(app, options.node.auth, etcdServices(options.node), options.requestBytesMax, options.writeBudget);
  registerWatchGateway(app, options.node);
  registerObserveGateway(app, options.node);
  return app;
}

/** How long an idle keep-alive connection stays open (fastify's own default). */
const keepAliveTimeoutMs = 72_000;

function unlistenedHttpServer(handler: RequestListener): HttpServer {
  const server = createHttpServer(handler);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  // Node tracks a server's connections, and enforces headersTimeout and requestTimeout
  // on them, from its 'listening' event on: this server gets connections without
  // listening, so it starts that tracking now.
  server.emit('listening');
  return server;
}
