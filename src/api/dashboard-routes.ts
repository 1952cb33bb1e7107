/**
 * The web dashboard: its built files at /ui/ (from dist/web, made by `npm run build`)
 * and its live event stream at /ui/events (a WebSocket; see dashboard-feed.ts). The
 * first frame on the stream says who this node is, who the members are, where the
 * supervisor of `keel cluster up` listens (if any), and which admin routes exist, so
 * the page can enable exactly the controls that work.
 */
import type { HelloFrame } from '../wire/index.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ObservedNode } from '../server/index.js';
import { DashboardFeed } from './dashboard-feed.js';
import { sendError } from './errors.js';

const webRoot = fileURLToPath(new URL('../web/', import.meta.url));

/** Routes the page uses only where this build of Keel has them; it asks by name. */
const optionalRoutes = {
  snapshot: { method: 'POST', url: '/admin/snapshot' },
  snapshotDownload: { method: 'GET', url: '/admin/snapshot' },
  addMember: { method: 'POST', url: '/members' },
  removeMember: { method: 'DELETE', url: '/members/:id' },
  keyHistory: { method: 'GET', url: '/history/*' },
} as const;

export function registerDashboardRoutes(app: FastifyInstance, node: ObservedNode): DashboardFeed {
  const feed = new DashboardFeed(node);
  app.addHook('onClose', async () => feed.close());
  // The WebSocket plugin is registered once for every route by http-server.ts.
  app.register(async (scoped) => {
    scoped.get('/ui/events', { websocket: true }, (socket) => {
      feed.add(socket, hello(app, node));
      socket.on('close', () => feed.remove(socket));
      socket.on('error', () => feed.remove(socket));
    });
  });
  if (existsSync(webRoot)) {
    app.register(fastifyStatic, { root: webRoot, prefix: '/ui/' });
    app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
  } else {
    app.get('/ui', async (_request, reply) => sendError(reply, 404, 'NOT_FOUND', `the dashboard is not built (no ${webRoot}); run npm run build`));
  }
  return feed;
}

function hello(app: FastifyInstance, node: ObservedNode): HelloFrame {
  const features: Record<string, boolean> = {};
  for (const [name, route] of Object.entries(optionalRoutes)) features[name] = app.hasRoute(route);
  return {
    type: 'hello',
    id: node.config.id,
    clusterId: node.config.clusterId,
    // The replicated member list, so a page follows members added after start-up; a
    // member that has not published its client URL yet is left out until it has.
    members: node
      .memberList()
      .members.filter((m) => m.clientUrls.length > 0)
      .map((m) => ({ id: m.id, clientUrl: m.clientUrls[0] as string })),
    supervisorUrl: node.config.supervisorUrl ?? null,
    faultInjection: node.faults !== undefined,
    features,
  };
}
