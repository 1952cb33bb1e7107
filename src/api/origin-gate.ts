/**
 * Browsers are a separate, hostile origin by default. A web page from anywhere can
 * make its visitor's browser send requests to a node it can reach (127.0.0.1 above
 * all): a POST with a `text/plain` body or a form needs no CORS preflight, and a
 * WebSocket has no CORS at all, so CORS response headers alone protect nothing that
 * such a request does on arrival (a write, an alarm, a defragmentation, a watch that
 * streams the key space back over the socket).
 *
 * So every request that says it comes from a page (an `Origin` header, which browsers
 * send on every cross-origin request, every non-GET request and every WebSocket
 * handshake) is served only if that page is one of:
 *   - a member's dashboard (a member's client URL, as cors.ts computes them);
 *   - an origin the operator allowed (`--cors`, etcd's flag for the same list);
 *   - this node itself under another name it answers to (the page's origin is the
 *     request's own scheme and Host, and the Host names a loopback address, a member
 *     or an allowed origin: not any name, or a DNS-rebinding page would pass).
 * Anything else gets 403 before a body is parsed or a route runs. Requests without an
 * Origin (curl, etcdctl, the client library, other programs) are not browsers' and pass;
 * a non-GET one that a browser marks cross-site (`Sec-Fetch-Site`) without an Origin
 * is refused too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MembershipNode } from '../server/index.js';
import { isMemberOrigin } from './cors.js';
import { sendError } from './errors.js';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface OriginPolicy {
  /** A member's client URL (the cluster's own dashboards). */
  readonly isMemberOrigin: (origin: string) => boolean;
  /** Origins the operator allowed (`--cors`). */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Host names of the members (their client URLs' hosts). */
  readonly memberHosts: () => ReadonlySet<string>;
}

/** Why a request must be refused, or undefined when it may be served. */
export function originRefusal(
  request: {
    readonly method: string;
    readonly origin: string | undefined;
    readonly host: string | undefined;
    readonly secure: boolean;
    readonly fetchSite: string | undefined;
  },
  policy: OriginPolicy,
): string | undefined {
  const { origin } = request;
  if (origin === undefined) {
    if (request.fetchSite === 'cross-site' && request.method !== 'GET' && request.method !== 'HEAD') return 'a cross-site request from a browser page';
    return undefined;
  }
  if (policy.isMemberOrigin(origin) || policy.allowedOrigins.has(origin)) return undefined;
  if (request.host !== undefined && origin === `${request.secure ? 'https' : 'http'}://${request.host}`) {
    const hostname = hostnameOf(request.host);
    const allowedHosts = new Set([...loopbackHosts, ...policy.memberHosts(), ...[...policy.allowedOrigins].map((o) => hostnameOf(safeUrlHost(o)))]);
    if (allowedHosts.has(hostname)) return undefined;
  }
  return `pages from ${origin} may not call this node`;
}

export function registerOriginGate(app: FastifyInstance, node: MembershipNode): void {
  const policy: OriginPolicy = {
    isMemberOrigin: (origin) => isMemberOrigin(node, origin),
    allowedOrigins: new Set(node.config.corsAllowedOrigins),
    memberHosts: () =>
      new Set([...node.config.members.map((m) => m.host), ...node.memberList().members.flatMap((m) => m.clientUrls.map((u) => hostnameOf(safeUrlHost(u))))]),
  };
  app.addHook('onRequest', async (request, reply) => {
    const refusal = originRefusal(requestFacts(request), policy);
    if (refusal === undefined) return;
    // The connection goes with the refusal. A refused WebSocket upgrade above all: the
    // WebSocket plugin, whose hooks never ran, would leave its socket open for good.
    reply.header('connection', 'close');
    return sendError(
      reply,
      403,
      'FORBIDDEN_ORIGIN',
      `${refusal}: only the cluster's own dashboards and the origins allowed with --cors may (refused before anything was read or changed)`,
    );
  });
}

function requestFacts(request: FastifyRequest): Parameters<typeof originRefusal>[0] {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { method: request.method, origin: header('origin'), host: header('host'), secure: request.protocol === 'https', fetchSite: header('sec-fetch-site') };
}

/** `host[:port]` without the port; IPv6 literals keep their brackets. */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function safeUrlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
