/**
 * One watcher of the watch hub: what it watches, how far it has got, and the messages
 * waiting for its consumer (a WebSocket, an SSE response, a gRPC stream).
 *
 * `nextRevision` is the first revision whose events this watcher has not yet queued.
 * A watcher is either
 *   - synced: it takes the live events of each apply (those at or above nextRevision:
 *     a watcher created for a future revision skips the ones before it), or
 *   - catching up: the hub reads its events from the store's history, a bounded batch
 *     at a time, until nextRevision passes the current revision; live events are not
 *     offered to it meanwhile, since the store read will include them.
 * Both happen on the one JavaScript thread that also applies entries, so no apply can
 * slip between the last history read and the switch to synced: nothing is missed or
 * sent twice at the hand-over.
 *
 * The queue is bounded in bytes. A consumer that does not keep up does not make it
 * grow: the hub drops what is queued and puts the watcher back to catching up from the
 * first revision its consumer has not taken (etcd's "victim" watchers), so memory stays
 * bounded and no event is lost; the watcher is canceled only if that revision has been
 * compacted meanwhile.
 */
import { inRange } from '../mvcc/key-range.js';
import type { KvEvent } from '../types.js';

export interface WatchSpec {
  readonly key: Uint8Array;
  /** As in RangeRequest: absent or empty for the single key, [0] for every key from `key`. */
  readonly rangeEnd?: Uint8Array;
  /** The first revision to send; 0: the next revision to be applied. */
  readonly startRevision: number;
  /** Send each event with the key as it was before (etcd's prev_kv). */
  readonly prevKv: boolean;
  /** etcd's NOPUT and NODELETE filters. */
  readonly noPut: boolean;
  readonly noDelete: boolean;
  /** Send an empty message with the current revision when idle (etcd's progress_notify). */
  readonly progressNotify: boolean;
}

export type CancelCode = 'COMPACTED' | 'STOPPING';

/**
 * What a consumer takes from a watcher, in order. `revision` is always the store's
 * revision through which this watcher has been sent every event of its range: a client
 * that resumes must start at `revision + 1`.
 */
export type WatchMessage =
  | { readonly kind: 'events'; readonly events: readonly KvEvent[]; readonly revision: number }
  | { readonly kind: 'progress'; readonly revision: number }
  | {
      readonly kind: 'canceled';
      readonly code: CancelCode;
      readonly reason: string;
      /** For COMPACTED: the oldest revision a new watch may start at. */
      readonly compactRevision?: number;
      readonly revision: number;
    };

/** Told (asynchronously, never inside an apply) that the watcher has messages, or became synced. */
export interface WatchSink {
  readable(): void;
}

/** Bytes a queued event is counted as: its keys and values plus a fixed overhead. */
export function eventBytes(event: KvEvent): number {
  const kvBytes = event.kv.key.length + event.kv.value.length + 48;
  return event.prevKv ? kvBytes + event.prevKv.key.length + event.prevKv.value.length + 48 : kvBytes;
}

export class Watcher {
  nextRevision: number;
  synced: boolean;
  /** The last revision of a message the consumer has taken. */
  takenRevision: number;
  canceled = false;
  /** A message was queued since the last progress tick. */
  active = false;
  private queue: WatchMessage[] = [];
  private bytes = 0;

  constructor(
    readonly id: number,
    readonly spec: WatchSpec,
    readonly sink: WatchSink,
    nextRevision: number,
    synced: boolean,
  ) {
    this.nextRevision = nextRevision;
    this.synced = synced;
    this.takenRevision = nextRevision - 1;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  /** Whether an event of any kind at this key is one this watcher wants. */
  wants(event: KvEvent): boolean {
    if (event.type === 'put' ? this.spec.noPut : this.spec.noDelete) return false;
    return inRange(event.kv.key, this.spec.key, this.spec.rangeEnd);
  }

  /**
   * Queues the events of revisions nextRevision..`throughRevision` that this watcher
   * wants (the caller passes them in revision order), then moves nextRevision past
   * `throughRevision`. Returns whether a message was queued.
   */
  offer(events: readonly KvEvent[], throughRevision: number): boolean {
    const chosen: KvEvent[] = [];
    for (const event of events) {
      if (event.kv.modRevision < this.nextRevision || !this.wants(event)) continue;
      chosen.push(this.spec.prevKv || event.prevKv === undefined ? event : { type: event.type, kv: event.kv });
    }
    this.nextRevision = Math.max(this.nextRevision, throughRevision + 1);
    if (chosen.length === 0) return false;
    this.push(
      { kind: 'events', events: chosen, revision: throughRevision },
      chosen.reduce((sum, e) => sum + eventBytes(e), 0),
    );
    return true;
  }

  push(message: WatchMessage, bytes = 64): void {
    this.queue.push(message);
    this.bytes += bytes;
    this.active = true;
  }

  /** Everything queued, oldest first; the consumer must deliver it in this order. */
  take(): WatchMessage[] {
    const taken = this.queue;
    this.queue = [];
    this.bytes = 0;
    const last = taken[taken.length - 1];
    if (last) this.takenRevision = Math.max(this.takenRevision, last.revision);
    return taken;
  }

  /** Drops what is queued and goes back to catching up from the first revision not taken. */
  fallBehind(): void {
    this.queue = [];
    this.bytes = 0;
    this.nextRevision = this.takenRevision + 1;
    this.synced = false;
  }
}
