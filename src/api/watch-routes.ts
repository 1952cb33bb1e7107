/**
 * Watches over HTTP, both served from this node's own applied state:
 *
 *   GET /watch/{key}?prefix=true&rev=N&prevKv=true&noPut=true&noDelete=true&progressNotify=true
 *     server-sent events, one watcher per request. Each message is an SSE event named
 *     after its type (created, events, progress, canceled) with the JSON of
 *     watch-json.ts as data; events and progress carry `id: <revision>`, so a browser's
 *     EventSource that reconnects sends Last-Event-ID and resumes at revision + 1.
 *   GET /watch/ws (WebSocket): many watchers on one socket; the client sends
 *     {"create": {...}}, {"cancel": {"watchId": N}} or {"progress": {}} and receives
 *     the same JSON messages, one per WebSocket text message.
 *
 * Flow control: messages are taken from the watchers only while the socket's buffer is
 * below `socketBufferBytesMax` (see replica/watch-session.ts).
 */
import { requireKeys } from './rest-auth.js';
import type { Caller, KeyValueNode } from '../server/index.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type StreamMessage, type WatchSession, KeelError } from '../replica/index.js';
import { parseCreateRequest, streamMessageJson } from './watch-json.js';
import { parseFlag } from './request-parsing.js';
import type { Query } from './request-parsing.js';
import { sendError, sendThrown } from './errors.js';

/** Bytes buffered on a socket before the watchers' queues are left to hold the rest. */
const socketBufferBytesMax = 1024 * 1024;

/** The part of a `ws` WebSocket used here. */
interface Socket {
  readonly bufferedAmount: number;
  send(data: string, callback: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | string) => void): void;
  on(event: 'close' | 'error', listener: () => void): void;
}

export function registerWatchRoutes(app: FastifyInstance, node: KeyValueNode): void {
  app.route({
    method: 'GET',
    url: '/watch/ws',
    // A plain GET of /watch/ws (no upgrade) is an event stream of the key "ws".
    handler: async (request, reply) => serveEventStream(request, reply, node, 'ws'),
    // The caller was resolved by rest-auth.ts's hook before the upgrade; each watch created
    // on the socket is checked against it.
    wsHandler: (socket: Socket, request) => serveWebSocket(socket, node, request.caller),
  });
  app.get('/watch/*', async (request, reply) => serveEventStream(request, reply, node, (request.params as { '*': string })['*'] ?? ''));
}

function serveWebSocket(socket: Socket, node: KeyValueNode, caller: Caller | undefined): void {
  let session: WatchSession;
  const send = (message: Record<string, unknown>): void =>
    socket.send(JSON.stringify(message), () => {
      if (socket.bufferedAmount < socketBufferBytesMax) session?.pump();
    });
  try {
    session = node.openWatchSession(
      {
        send: (message) => send(streamMessageJson(message)),
        writable: () => socket.bufferedAmount < socketBufferBytesMax,
      },
      node.auth.watchRefusal(caller),
    );
  } catch (error) {
    socket.close(1013, error instanceof KeelError ? error.message : 'the node cannot serve watches now');
    return;
  }
  socket.on('message', (data) => {
    const problem = handleClientMessage(session, data.toString());
    if (problem) send({ type: 'error', code: 'BAD_REQUEST', message: problem });
  });
  const end = (): void => session.close();
  socket.on('close', end);
  socket.on('error', end);
}

/** Runs one client message; returns what is wrong with it, if anything. */
function handleClientMessage(session: WatchSession, text: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return 'a message must be JSON: {"create": {...}}, {"cancel": {"watchId": N}} or {"progress": {}}';
  }
  if (typeof message !== 'object' || message === null || Object.keys(message).length !== 1) {
    return 'a message must be an object with exactly one of create, cancel, progress';
  }
  const { create, cancel, progress } = message as Record<string, unknown>;
  if (create !== undefined) {
    if (typeof create !== 'object' || create === null) return 'create must be an object';
    const request = parseCreateRequest(create as Record<string, unknown>);
    if (typeof request === 'string') return `create: ${request}`;
    session.create(request);
    return undefined;
  }
  if (cancel !== undefined) {
    const watchId = (cancel as { watchId?: unknown } | null)?.watchId;
    if (typeof watchId !== 'number' || !Number.isSafeInteger(watchId)) return 'cancel needs {"watchId": N}';
    return session.cancel(watchId) ? undefined : `cancel: no watcher ${watchId} on this stream`;
  }
  if (progress !== undefined) {
    session.requestProgress();
    return undefined;
  }
  return 'a message must be an object with exactly one of create, cancel, progress';
}

async function serveEventStream(request: FastifyRequest, reply: FastifyReply, node: KeyValueNode, key: string): Promise<FastifyReply | void> {
  const query = request.query as Query;
  const lastEventId = request.headers['last-event-id'];
  const fields: Record<string, unknown> = { key };
  for (const flag of ['prefix', 'prevKv', 'noPut', 'noDelete', 'progressNotify', 'fromKey']) {
    if (query[flag] === undefined) continue;
    const value = parseFlag(query, flag);
    if (typeof value === 'string') return sendError(reply, 400, 'BAD_REQUEST', value);
    fields[flag] = value;
  }
  const resumeAt = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined;
  const revisionText = resumeAt ?? query.rev;
  if (revisionText !== undefined) {
    if (!/^\d+$/.test(revisionText) || !Number.isSafeInteger(Number(revisionText))) {
      return sendError(reply, 400, 'BAD_REQUEST', `${resumeAt ? 'Last-Event-ID' : 'rev'} must be a non-negative integer, got ${JSON.stringify(revisionText)}`);
    }
    // Last-Event-ID is the last revision received: resume after it.
    fields.startRevision = Number(revisionText) + (resumeAt ? 1 : 0);
  }
  const spec = parseCreateRequest(fields);
  if (typeof spec === 'string') return sendError(reply, 400, 'BAD_REQUEST', spec);
  requireKeys(node, request, { type: 'range', key: spec.key, ...(spec.rangeEnd ? { rangeEnd: spec.rangeEnd } : {}) });

  const raw = reply.raw;
  let started = false;
  let failure: Extract<StreamMessage, { type: 'createFailed' }> | undefined;
  let session: WatchSession;
  try {
    session = node.openWatchSession({
      send: (message) => {
        if (message.type === 'createFailed') {
          failure = message;
          return;
        }
        if (!started) {
          started = true;
          reply.hijack();
          raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        }
        const id = message.type === 'events' || message.type === 'progress' ? `id: ${message.revision}\n` : '';
        raw.write(`event: ${message.type}\n${id}data: ${JSON.stringify(streamMessageJson(message))}\n\n`);
        if (message.type === 'canceled') {
          session.close();
          raw.end();
        }
      },
      writable: () => !raw.writableNeedDrain,
    });
  } catch (error) {
    return sendThrown(reply, error);
  }
  session.create({ ...spec, watchId: 0 });
  if (failure) {
    const status = failure.code === 'TOO_MANY_WATCHERS' ? 503 : failure.code === 'KEY_TOO_LARGE' ? 413 : 400;
    return sendError(reply, status, failure.code, failure.reason);
  }
  raw.on('drain', () => session.pump());
  raw.on('close', () => session.close());
}
