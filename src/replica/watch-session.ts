/**
 * One watch stream (etcd's serverWatchStream): many watchers on one connection, each
 * with an id, created, canceled and asked for progress by the client, whatever the
 * protocol carrying it (WebSocket, server-sent events, gRPC). Protocol adapters turn
 * requests into calls here and the StreamMessages this emits into their wire format.
 *
 * Flow control: messages are taken from the hub's watchers only while the output says
 * it can take more (`writable()`); when it drains, the adapter calls `pump()`. What is
 * not taken stays in the watcher's bounded queue (kv/watcher.ts), so a slow client
 * costs bounded memory.
 *
 * Watch ids follow etcd: 0 asks the server to choose (the lowest unused id counting up
 * from 0, as etcd does); a client-chosen id already in use is refused.
 */
import type { KvError, KvEvent, WatchHub, Watcher, WatchMessage, WatchSpec } from '../kv/index.js';

export interface WatchCreateRequest extends WatchSpec {
  /** 0: let the server choose. */
  readonly watchId: number;
  /** etcd's `fragment`: the client takes a large events message split in pieces (watch-fragments.ts). */
  readonly fragment?: boolean;
}

/** etcd's invalid watch id: the id of a create that failed and of a stream-wide progress answer. */
export const NO_WATCH_ID = -1;

export type StreamMessage =
  | { readonly type: 'created'; readonly watchId: number; readonly revision: number }
  | { readonly type: 'createFailed'; readonly code: string; readonly reason: string; readonly revision: number }
  | {
      readonly type: 'events';
      readonly watchId: number;
      readonly events: readonly KvEvent[];
      readonly revision: number;
      /** The watcher asked for `fragment`: a protocol may split this message. */
      readonly fragment?: boolean;
    }
  /** watchId NO_WATCH_ID: the answer to a progress request, for every watcher of the stream. */
  | { readonly type: 'progress'; readonly watchId: number; readonly revision: number }
  | {
      readonly type: 'canceled';
      readonly watchId: number;
      readonly code: 'CANCELED' | 'COMPACTED' | 'STOPPING';
      readonly reason: string;
      readonly compactRevision?: number;
      readonly revision: number;
    };

export interface StreamOutput {
  send(message: StreamMessage): void;
  /** Whether the transport can take more now; when it drains again the adapter calls pump(). */
  writable(): boolean;
}

export interface WatchSessionOptions {
  readonly hub: WatchHub;
  readonly output: StreamOutput;
  readonly watchersPerStreamMax: number;
  /** The node's applied revision (headers of answers that carry no events). */
  readonly currentRevision: () => number;
  /** Why the stream's caller may not watch this (auth: read on the range), if it may not. */
  readonly refusal?: (request: WatchCreateRequest) => KvError | undefined;
}

export class WatchSession {
  private readonly watchers = new Map<number, Watcher>();
  private readonly ids = new Map<Watcher, number>();
  private readonly ready = new Set<Watcher>();
  private readonly fragmenting = new Set<Watcher>();
  private nextAutoId = 0;
  private progressRequested = false;
  private closed = false;

  constructor(private readonly options: WatchSessionOptions) {}

  get size(): number {
    return this.watchers.size;
  }

  create(request: WatchCreateRequest): void {
    const { hub, output, currentRevision, watchersPerStreamMax } = this.options;
    const fail = (code: string, reason: string): void => output.send({ type: 'createFailed', code, reason, revision: currentRevision() });
    if (this.closed) return;
    const refused = this.options.refusal?.(request);
    if (refused) return fail(refused.code, refused.message);
    if (this.watchers.size >= watchersPerStreamMax) {
      return fail(
        'TOO_MANY_WATCHERS',
        `this stream has ${this.watchers.size} watchers (watchersPerStreamMax ${watchersPerStreamMax}); cancel one or open another stream`,
      );
    }
    if (!Number.isSafeInteger(request.watchId) || request.watchId < 0)
      return fail('INVALID_ARGUMENT', `watchId must be a non-negative integer, got ${request.watchId}`);
    if (request.watchId !== 0 && this.watchers.has(request.watchId))
      return fail('DUPLICATE_WATCH_ID', `watch id ${request.watchId} is already in use on this stream`);
    const id = request.watchId !== 0 ? request.watchId : this.autoId();
    const created = hub.create(request, { readable: () => this.readable(watcher) });
    if (!created.ok) return fail(created.error.code, created.error.message);
    const watcher: Watcher = created.value;
    this.watchers.set(id, watcher);
    this.ids.set(watcher, id);
    if (request.fragment === true) this.fragmenting.add(watcher);
    output.send({ type: 'created', watchId: id, revision: currentRevision() });
  }

  /** Cancels a watcher of this stream; false if there is none with that id. */
  cancel(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    if (!watcher) return false;
    this.forget(watcher);
    this.options.output.send({ type: 'canceled', watchId, code: 'CANCELED', reason: 'canceled by the client', revision: this.options.currentRevision() });
    return true;
  }

  /**
   * etcd's WatchProgressRequest: one answer with id NO_WATCH_ID and the current
   * revision, sent once every watcher of the stream has been sent everything up to it
   * (at once if they are all synced; else when the last one catches up).
   */
  requestProgress(): void {
    this.progressRequested = true;
    this.pump();
  }

  /** Sends what the watchers have queued, while the output can take it. */
  pump(): void {
    const { output, hub } = this.options;
    while (!this.closed && this.ready.size > 0 && output.writable()) {
      const watcher = this.ready.values().next().value as Watcher;
      this.ready.delete(watcher);
      const id = this.ids.get(watcher);
      if (id === undefined) continue;
      const fragment = this.fragmenting.has(watcher);
      for (const message of watcher.take()) output.send(toStreamMessage(id, message, fragment));
      if (watcher.canceled) this.forget(watcher);
      else hub.taken(watcher);
    }
    if (this.progressRequested && this.ready.size === 0 && output.writable() && this.allCaughtUp()) {
      this.progressRequested = false;
      output.send({ type: 'progress', watchId: NO_WATCH_ID, revision: this.options.currentRevision() });
    }
  }

  /** The stream ended: cancel every watcher. */
  close(): void {
    this.closed = true;
    for (const watcher of [...this.ids.keys()]) this.forget(watcher);
  }

  private readable(watcher: Watcher): void {
    if (!this.ids.has(watcher)) return;
    this.ready.add(watcher);
    this.pump();
  }

  private allCaughtUp(): boolean {
    for (const watcher of this.ids.keys()) if (!this.options.hub.isSynced(watcher) || watcher.queuedMessages > 0) return false;
    return true;
  }

  private forget(watcher: Watcher): void {
    const id = this.ids.get(watcher);
    if (id !== undefined) this.watchers.delete(id);
    this.ids.delete(watcher);
    this.ready.delete(watcher);
    this.fragmenting.delete(watcher);
    this.options.hub.cancel(watcher);
  }

  private autoId(): number {
    while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
    return this.nextAutoId++;
  }
}

function toStreamMessage(watchId: number, message: WatchMessage, fragment: boolean): StreamMessage {
  switch (message.kind) {
    case 'events':
      return { type: 'events', watchId, events: message.events, revision: message.revision, ...(fragment ? { fragment } : {}) };
    case 'progress':
      return { type: 'progress', watchId, revision: message.revision };
    case 'canceled':
      return {
        type: 'canceled',
        watchId,
        code: message.code,
        reason: message.reason,
        ...(message.compactRevision !== undefined ? { compactRevision: message.compactRevision } : {}),
        revision: message.revision,
      };
  }
}
