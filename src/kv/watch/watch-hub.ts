/**
 * The watch hub: every watcher of one node, fed from that node's own applied state.
 *
 * The runtime calls publish() with the events of each applied batch right after the
 * store commits it, and restored() after it installs a snapshot; consumers create,
 * take from and cancel watchers. Events are therefore exactly the node's applied log
 * in revision order, whichever node leads: a node keeps applying across leader changes,
 * so its watchers lose and repeat nothing, and a client whose node dies resumes
 * elsewhere from the last revision it saw + 1.
 *
 * Watchers that start at an old revision, or fell behind, catch up from the store in
 * bounded steps (readChanges) run through `schedule`, never inside an apply; the hub
 * itself has no timers, so tests drive it step by step. A snapshot install makes every
 * synced watcher catch up again from its next revision: the snapshot's history holds
 * the changes the node skipped, so none is lost; a watcher whose next revision the
 * snapshot has compacted away is canceled with COMPACTED and the revision to restart at.
 *
 * Matching a live event costs one map lookup for single-key watchers plus one range
 * test per range watcher.
 */
import type { KvError, KvResult } from '../errors.js';
import { isSingleKey } from '../mvcc/key-range.js';
import type { ChangeBatch, ChangeQuery } from './change-reader.js';
import type { KvEvent } from '../types.js';
import { Watcher, type CancelCode, type WatchSink, type WatchSpec } from './watcher.js';
import { validateWatchSpec } from './watch-validate.js';

/** What the hub needs of the store (MvccStore). */
export interface WatchSource {
  currentRevision(): number;
  compactedRevision(): number;
  changes(query: Omit<ChangeQuery, 'toRevision'>): KvResult<ChangeBatch>;
}

/** Why a watcher could not be created: a bad request, or the node's watcher limit. */
export interface WatchCreateError {
  readonly code: KvError['code'] | 'TOO_MANY_WATCHERS';
  readonly message: string;
}

export type WatchCreateResult = { readonly ok: true; readonly value: Watcher } | { readonly ok: false; readonly error: WatchCreateError };

export interface WatchLimits {
  /** Watchers on this node at once; more are refused (etcd has no such limit; we bound memory). */
  readonly watchersMax: number;
  /** Queued bytes per watcher; past it the watcher falls back to catching up from the store. */
  readonly watcherQueueBytesMax: number;
  /** Records of history examined per watcher per catch-up step (bounds one step's time). */
  readonly catchUpRecordsPerStep: number;
}

export const defaultWatchLimits: WatchLimits = {
  watchersMax: 10_000,
  watcherQueueBytesMax: 4 * 1024 * 1024,
  catchUpRecordsPerStep: 1_000,
};

export interface WatchHubOptions {
  readonly source: WatchSource;
  readonly limits?: Partial<WatchLimits>;
  /** Runs a task soon, after the current one (setImmediate in the node; manual in tests). */
  readonly schedule: (task: () => void) => void;
}

export class WatchHub {
  readonly limits: WatchLimits;
  private readonly source: WatchSource;
  private readonly schedule: (task: () => void) => void;
  private nextId = 1;
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  private readonly catchingUp = new Set<Watcher>();
  private readonly toNotify = new Set<Watcher>();
  private catchUpScheduled = false;
  private notifyScheduled = false;
  /** Watchers not canceled that asked for each event's previous key-value. */
  private prevKvWatchers = 0;

  constructor(options: WatchHubOptions) {
    this.source = options.source;
    this.schedule = options.schedule;
    this.limits = { ...defaultWatchLimits, ...options.limits };
  }

  get size(): number {
    return this.ranges.size + [...this.byKey.values()].reduce((sum, set) => sum + set.size, 0);
  }

  /**
   * A new watcher. A start revision at or below the compacted revision gives a watcher
   * that is canceled at once with COMPACTED (etcd answers the create, then the cancel).
   */
  create(spec: WatchSpec, sink: WatchSink): WatchCreateResult {
    const problem = validateWatchSpec(spec);
    if (problem) return { ok: false, error: problem };
    if (this.size >= this.limits.watchersMax) {
      return {
        ok: false,
        error: {
          code: 'TOO_MANY_WATCHERS',
          message: `this node has ${this.size} watchers (watchersMax ${this.limits.watchersMax}); cancel some or use another node`,
        },
      };
    }
    const current = this.source.currentRevision();
    const start = spec.startRevision === 0 ? current + 1 : spec.startRevision;
    const watcher = new Watcher(this.nextId++, spec, sink, start, start > current);
    this.index(watcher).add(watcher);
    if (spec.prevKv) this.prevKvWatchers++;
    if (!watcher.synced) this.catchUp(watcher);
    return { ok: true, value: watcher };
  }

  /** Removes the watcher; it gets nothing more. Idempotent. */
  cancel(watcher: Watcher): void {
    if (watcher.spec.prevKv && !watcher.canceled) this.prevKvWatchers--;
    watcher.canceled = true;
    this.index(watcher).delete(watcher);
    if (isSingleKey(watcher.spec.rangeEnd) && this.byKey.get(mapKey(watcher.spec.key))?.size === 0) this.byKey.delete(mapKey(watcher.spec.key));
    this.catchingUp.delete(watcher);
    this.toNotify.delete(watcher);
  }

  /**
   * Whether an apply's events must carry the previous key-values with their values: only
   * if some watcher asked for them (etcd's prev_kv). Events are published in the same
   * turn as the apply, so no watcher can ask in between; one that starts behind reads
   * them from the store's history (change-reader.ts).
   */
  wantsPrevValues(): boolean {
    return this.prevKvWatchers > 0;
  }

  /** The events of one applied batch (in order) and the store's revision after it. */
  publish(events: readonly KvEvent[], revision: number): void {
    // With no watcher at all (most puts), not even each event's key as a string for the map.
    if (events.length === 0 || (this.ranges.size === 0 && this.byKey.size === 0)) return;
    const candidates = new Set<Watcher>(this.ranges);
    if (this.byKey.size > 0) {
      for (const event of events) {
        const set = this.byKey.get(mapKey(event.kv.key));
        if (set) for (const watcher of set) candidates.add(watcher);
      }
    }
    for (const watcher of candidates) {
      if (!watcher.synced) continue;
      if (watcher.offer(events, revision)) this.afterQueued(watcher);
    }
  }

  /** The store was replaced by a snapshot: every synced watcher re-reads from its next revision. */
  restored(): void {
    for (const watcher of this.all()) {
      if (!watcher.synced) continue;
      watcher.synced = false;
      this.catchUp(watcher);
    }
  }

  /** etcd's progress_notify: an empty message with the current revision to each idle synced watcher that asked. */
  progressTick(): void {
    const revision = this.source.currentRevision();
    for (const watcher of this.all()) {
      if (watcher.spec.progressNotify && watcher.synced && !watcher.active && watcher.queuedMessages === 0) {
        watcher.push({ kind: 'progress', revision });
        this.notify(watcher);
      }
      watcher.active = false;
    }
  }

  /** Whether every event up to the current revision is queued or taken (etcd: the watcher is synced). */
  isSynced(watcher: Watcher): boolean {
    return watcher.synced;
  }

  /**
   * The consumer took everything queued (Watcher.take); a watcher that was waiting for
   * room to catch up continues.
   */
  taken(watcher: Watcher): void {
    if (!watcher.synced && !watcher.canceled) this.catchUp(watcher);
  }

  /** Cancels every watcher with a final message (node shutdown). */
  closeAll(code: CancelCode, reason: string): void {
    const revision = this.source.currentRevision();
    for (const watcher of this.all()) {
      watcher.push({ kind: 'canceled', code, reason, revision });
      this.cancel(watcher);
      watcher.sink.readable();
    }
  }

  // -------------------------------------------------------------------------

  private all(): Watcher[] {
    return [...this.ranges, ...[...this.byKey.values()].flatMap((set) => [...set])];
  }

  private index(watcher: Watcher): Set<Watcher> {
    if (!isSingleKey(watcher.spec.rangeEnd)) return this.ranges;
    const key = mapKey(watcher.spec.key);
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    return set;
  }

  private afterQueued(watcher: Watcher): void {
    if (watcher.queuedBytes > this.limits.watcherQueueBytesMax) {
      watcher.fallBehind();
      this.catchUp(watcher);
    }
    this.notify(watcher);
  }

  private catchUp(watcher: Watcher): void {
    this.catchingUp.add(watcher);
    if (this.catchUpScheduled) return;
    this.catchUpScheduled = true;
    this.schedule(() => this.catchUpStep());
  }

  /**
   * One bounded read for each watcher catching up whose queue is empty (one whose
   * consumer has not taken the last batch waits: replay follows the consumer's pace).
   */
  private catchUpStep(): void {
    this.catchUpScheduled = false;
    let more = false;
    for (const watcher of [...this.catchingUp]) {
      if (watcher.queuedMessages > 0) continue;
      this.readHistory(watcher);
      if (watcher.synced || watcher.canceled) this.catchingUp.delete(watcher);
      else if (watcher.queuedMessages === 0) more = true;
    }
    if (more && !this.catchUpScheduled) {
      this.catchUpScheduled = true;
      this.schedule(() => this.catchUpStep());
    }
  }

  private readHistory(watcher: Watcher): void {
    const { spec } = watcher;
    const read = this.source.changes({
      key: spec.key,
      ...(spec.rangeEnd ? { rangeEnd: spec.rangeEnd } : {}),
      fromRevision: watcher.nextRevision,
      prevKv: spec.prevKv,
      recordsMax: this.limits.catchUpRecordsPerStep,
      // A step queues about one queue's worth at most (plus the rest of its last revision).
      bytesMax: this.limits.watcherQueueBytesMax,
    });
    if (!read.ok) {
      const compacted = this.source.compactedRevision();
      watcher.push({
        kind: 'canceled',
        code: 'COMPACTED',
        reason: read.error.message,
        compactRevision: compacted + 1,
        revision: this.source.currentRevision(),
      });
      this.cancel(watcher);
      watcher.sink.readable();
      return;
    }
    const { events, throughRevision } = read.value;
    const queued = watcher.offer(events, throughRevision);
    if (throughRevision >= this.source.currentRevision()) watcher.synced = true;
    if (queued || watcher.synced) this.notify(watcher);
  }

  /** Tells the watcher's consumer soon; several changes in one turn give one call. */
  private notify(watcher: Watcher): void {
    this.toNotify.add(watcher);
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    this.schedule(() => {
      this.notifyScheduled = false;
      const watchers = [...this.toNotify];
      this.toNotify.clear();
      for (const w of watchers) w.sink.readable();
    });
  }
}

function mapKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}
