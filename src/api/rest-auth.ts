/**
 * Authentication on the REST API, once auth is enabled (server/auth). Two steps:
 *   1. a hook on every route resolves the caller from the Authorization header (Bearer
 *      token, bare token, or Basic user:password; a `token` query parameter for
 *      WebSocket and EventSource) and checks what the route class needs:
 *        - open: health, version, status, counters and metrics (as etcd's /health,
 *          /version, /metrics and Status: no keys in them), the dashboard's files;
 *        - self: etcd's gateway (/v3/..., /v3beta/..., /v3alpha/...), whose methods declare their own needs;
 *        - keys: key-value, record, history, lease and watch routes; the caller is kept
 *          on the request and each handler checks the keys it touches (requireKeys);
 *        - root: everything else: /admin/*, member changes, the dashboard feed, and any
 *          route not listed here (closed unless opened on purpose);
 *   2. the key routes call requireKeys() with the request they are about to make.
 * Refusals are KvRequestErrors, answered by http-server.ts's error handler with their
 * status (401 no or bad credentials, 403 permission denied).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AuthNode, type Caller, NEEDS_NOTHING, NEEDS_ROOT, type Need } from '../server/index.js';
import type { RangeRequest, RequestOp } from '../kv/index.js';
import { httpCredentials } from './http-credentials.js';
import { gatewayVersionPattern } from './grpc/gateway-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, when auth is enabled and credentials came (rest-auth.ts). */
    caller?: Caller;
  }
}

type RouteClass = 'open' | 'self' | 'keys' | 'root';

const OPEN_ROUTES: ReadonlySet<string> = new Set(['/status', '/health', '/version', '/cluster/info', '/metrics', '/stats', '/ui', '/ui/*']);
const KEY_ROUTES: ReadonlySet<string> = new Set([
  '/kv',
  '/kv/*',
  '/batch',
  '/history/*',
  '/records/*',
  '/leases',
  '/leases/:id',
  '/leases/:id/keepalive',
  '/watch/ws',
  '/watch/*',
]);

/** The class of a route, by its method and URL pattern (fastify's routeOptions.url). */
export function routeClass(method: string, url: string | undefined): RouteClass {
  // No route matched: the not-found handler answers, with nothing to protect.
  if (url === undefined) return 'open';
  if (gatewayVersionPattern.test(url)) return 'self';
  if (OPEN_ROUTES.has(url)) return 'open';
  // etcd's MemberList needs nothing; changing members needs root.
  if (url === '/members' && method === 'GET') return 'open';
  if (KEY_ROUTES.has(url)) return 'keys';
  return 'root';
}

export function registerRestAuth(app: FastifyInstance, node: AuthNode): void {
  app.addHook('preHandler', async (request) => {
    if (!node.auth.enabled()) return;
    const kind = routeClass(request.method, request.routeOptions.url);
    if (kind === 'open' || kind === 'self') return;
    const caller = await node.auth.authorize(httpCredentials(request), kind === 'root' ? NEEDS_ROOT : NEEDS_NOTHING);
    if (caller) request.caller = caller;
  });
}

/** Refuses (throws) unless the request's caller may make `body` (no-op with auth off). */
export function requireKeys(node: AuthNode, request: FastifyRequest, body: RangeRequest | RequestOp): void {
  requireNeed(node, request, node.auth.needsFor(body));
}

export function requireNeed(node: AuthNode, request: FastifyRequest, need: Need): void {
  node.auth.check(node.auth.state(), request.caller, need);
}
