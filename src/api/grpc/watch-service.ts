/**
 * etcd's Watch service: one bidirectional stream per call, many watchers on it
 * (replica/watch-session.ts does the work; this maps messages both ways).
 *
 * As etcd answers:
 *   - a create: {watch_id, created: true} (the server chooses the id when watch_id is
 *     0), or, refused, {watch_id: -1, created: true, canceled: true, cancel_reason};
 *   - a cancel: {watch_id, canceled: true}; an unknown id is ignored, as etcd does;
 *   - a start revision that was compacted: {watch_id, canceled: true, compact_revision},
 *     which clients report as "required revision has been compacted";
 *   - a progress request: {watch_id: -1} with the current revision once every watcher of
 *     the stream has been sent everything up to it; progress_notify: {watch_id} alone.
 * Every header carries the revision through which the watcher has been sent all of its
 * events, so a client resumes at header.revision + 1. With `fragment`, an events
 * message over the request limit is split as etcd splits it (watch-fragments.ts).
 */
import { type KeyValueNode, NEEDS_NOTHING } from '../../server/index.js';
import { type StreamMessage, type WatchCreateRequest, type WatchSession, NO_WATCH_ID } from '../../replica/index.js';
import { eventMessage, type Message } from './convert.js';
import { kvErrorToGrpc, toGrpcError } from './errors.js';
import { kvError, type KvEvent } from '../../kv/index.js';
import { responseHeader } from './header.js';
import { revisionOrZero } from './int64.js';
import type { EtcdService } from './service.js';
import type { ServerCall } from './server-call.js';
import { fragmentsOf } from './watch-fragments.js';

export function watchService(node: KeyValueNode): EtcdService {
  return {
    name: 'Watch',
    unary: {},
    streaming: { Watch: (call) => serveWatchStream(node, call) },
  };
}

function serveWatchStream(node: KeyValueNode, call: ServerCall): void {
  // The caller is resolved once, when the stream opens (an invalid token ends it); each
  // create is then checked against the auth state of its moment.
  const caller = node.auth.authorize(call.credentials(), NEEDS_NOTHING);
  let session: WatchSession | undefined;
  const opened = caller.then((who) => {
    session = node.openWatchSession(
      {
        send: (message) => {
          for (const out of watchResponses(node, message)) call.write(out);
        },
        writable: () => !call.needsDrain,
      },
      node.auth.watchRefusal(who),
    );
    return session;
  });
  const close = (): void =>
    void opened.then(
      (open) => open.close(),
      () => {},
    );
  opened.catch((error: unknown) => call.fail(toGrpcError(error)));
  call.on('data', (request: Message) => {
    // Requests keep their order: each waits for the same opening.
    void opened.then(
      (open) => {
        try {
          handleRequest(open, request);
        } catch (error) {
          open.close();
          call.fail(toGrpcError(error));
        }
      },
      () => {},
    );
  });
  call.on('drain', () => session?.pump());
  call.on('end', () => {
    close();
    call.end();
  });
  call.on('cancelled', close);
}

export function handleRequest(session: WatchSession, request: Message): void {
  switch (request.request_union) {
    case 'create_request':
      session.create(createRequest((request.create_request ?? {}) as Message));
      return;
    case 'cancel_request': {
      const id = Number((request.cancel_request as Message | undefined)?.watch_id ?? 0);
      if (Number.isSafeInteger(id)) session.cancel(id);
      return;
    }
    case 'progress_request':
      session.requestProgress();
      return;
    default:
      // etcd ignores a request with no known field (a newer client's request kind).
      return;
  }
}

const leastKey = new Uint8Array([0]);

function createRequest(message: Message): WatchCreateRequest {
  const filters = Array.isArray(message.filters) ? (message.filters as unknown[]).map(String) : [];
  const rangeEnd = message.range_end instanceof Uint8Array && message.range_end.length > 0 ? message.range_end : undefined;
  const watchId = Number(message.watch_id ?? 0);
  const key = message.key instanceof Uint8Array ? message.key : new Uint8Array(0);
  return {
    // etcd takes the empty key as a range's start (`etcdctl watch --prefix ""`: every
    // key). No key is empty, so [0x00], the least key there is, watches the same keys.
    // The empty key alone stays refused: no write can ever produce an event for it.
    key: key.length === 0 && rangeEnd ? leastKey : key,
    ...(rangeEnd ? { rangeEnd } : {}),
    startRevision: revisionOrZero(message.start_revision ?? 0, 'start_revision'),
    // A negative or out-of-range id is refused by the session with a message naming it.
    watchId: Number.isSafeInteger(watchId) ? watchId : -1,
    prevKv: message.prev_kv === true,
    noPut: filters.includes('NOPUT'),
    noDelete: filters.includes('NODELETE'),
    progressNotify: message.progress_notify === true,
    fragment: message.fragment === true,
  };
}

/** Auth refusals with etcd's own words ("etcdserver: permission denied"); others with ours. */
function createFailedReason(code: string, reason: string): string {
  if (code === 'PERMISSION_DENIED' || code === 'USER_EMPTY' || code === 'AUTH_OLD_REVISION') return kvErrorToGrpc(kvError(code, reason)).message;
  return `etcdserver: ${reason}`;
}

/**
 * One message object per event, however many watchers it goes to: the event's encoding
 * is kept with it (response-encoding.ts), so a put seen by 1,000 watchers is encoded once.
 */
const eventMessages = new WeakMap<KvEvent, Message>();

function eventMessageOnce(event: KvEvent): Message {
  let message = eventMessages.get(event);
  if (!message) {
    message = eventMessage(event, true);
    eventMessages.set(event, message);
  }
  return message;
}

/** The WatchResponses for one stream message: one, or its fragments (watch-fragments.ts). */
export function watchResponses(node: KeyValueNode, message: StreamMessage): Message[] {
  return fragmentsOf(message, node.config.requestBytesMax).map(({ message: piece, more }) => ({
    ...responseMessage(node, piece),
    ...(more ? { fragment: true } : {}),
  }));
}

function responseMessage(node: KeyValueNode, message: StreamMessage): Message {
  const header = { ...responseHeader(node, message.revision) };
  switch (message.type) {
    case 'created':
      return { header, watch_id: message.watchId, created: true };
    case 'createFailed':
      return { header, watch_id: NO_WATCH_ID, created: true, canceled: true, cancel_reason: createFailedReason(message.code, message.reason) };
    case 'events':
      return { header, watch_id: message.watchId, events: message.events.map(eventMessageOnce) };
    case 'progress':
      return { header, watch_id: message.watchId };
    case 'canceled':
      return {
        // etcd's cancel for a compacted start revision carries no header revision.
        header: message.compactRevision !== undefined ? { ...header, revision: 0 } : header,
        watch_id: message.watchId,
        canceled: true,
        ...(message.compactRevision !== undefined ? { compact_revision: message.compactRevision } : {}),
        // etcd gives no reason for a compaction (compact_revision says it) or a cancel asked for.
        ...(message.code === 'CANCELED' || message.compactRevision !== undefined ? {} : { cancel_reason: message.reason }),
      };
  }
}
