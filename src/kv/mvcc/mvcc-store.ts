/**
 * The replicated state machine: an MVCC key-value store with etcd's data model, on the
 * storage seam of kv-env.ts: LMDB on a node (lmdb-env.ts), memory in the simulator
 * (memory-env.ts).
 *
 * The runtime applies committed log entries in order with applyEntries() (or apply() /
 * applyBatch() with decoded commands). Each call is one LMDB write transaction that
 * writes the changes of every entry AND the new applied index, so after a crash the
 * store is exactly as it was after some call, and an entry at or below appliedIndex()
 * is skipped: apply is idempotent across restarts, and the runtime replays the log from
 * appliedIndex() + 1 (see lmdb-env.ts for durability and the sync modes).
 *
 * Determinism: every replica must reach the same state from the same entries. Apply
 * reads no clock, no randomness and no configuration that may differ between nodes,
 * except the session policy and the compaction step, which are cluster settings (the
 * compaction step changes only when invisible records are removed, never a result).
 *
 * Revisions (etcd): the store starts at revision 1; each put, each deleteRange that
 * deletes something and each txn that changes something moves it up by one, the changes
 * inside taking sub-revisions 0, 1, 2...; compact and reads leave it.
 *
 * Leases (lease-table.ts, lease-executor.ts) are replicated like keys: grant, keep-alive
 * and revoke are log entries, a put checks its lease exists, and a revoke deletes the
 * lease's keys at one revision. Expiry is not decided here (no clock): the leader's
 * lessor proposes the revoke.
 *
 * Watches: every applied command returns its events (puts and deletes with kv and
 * prevKv) in order, which the watch hub (watch-hub.ts) fans out; changes() reads past
 * ones in revision order for watchers that start at an old revision.
 */
import type { Entry, LogIndex } from '../../raft/index.js';
import { ByteReader, assert, inBatches } from '../../lib/index.js';
import { decodeCommand } from '../codec/command.js';
import { latestIndexProblem, noteHistoryKey, rebuildLatestIndex } from './latest-index.js';
import { compactStep, IDLE, startCompaction, type CompactionProgress } from './compaction.js';
import { kvError, type KvError, type KvResult } from '../errors.js';
import { LATER_TABLES, tablesOf, type CompactedCopy, type EnvSizes, type KvEnv, type SnapshotStream, type Table } from '../env/kv-env.js';
import { openLmdbEnv, type LmdbEnvOptions } from '../env/lmdb-env.js';
import { applyMemberChange, decodeMemberList, encodeMemberList, type MemberList } from '../members.js';
import { LATEST, MvccReader } from './mvcc-reader.js';
import { catchUpCopy } from './copy-catch-up.js';
import { readChanges, type ChangeBatch, type ChangeQuery } from '../watch/change-reader.js';
import { defaultSessionPolicy, SessionTable, type SessionPolicy } from './sessions.js';
import { SnapshotReader, encodeSnapshot, snapshotStartProblem } from '../codec/snapshot-format.js';
import { META, metaKey, readUint, uintBytes } from './store-meta.js';
import { streamSnapshotOfView } from './view-snapshot.js';
import type { SnapshotBytes, SnapshotEntry } from '../codec/snapshot-format.js';

/** Bytes of a snapshot restored per transaction (MvccStore.restore). */
const restoreBatchBytes = 8 * 1024 * 1024;

import type { AlarmMember, Command, CommandResult, HistoryRequest, HistoryResponse, KvEvent, Lease, LeaseInfo, RangeRequest, ReadResponse } from '../types.js';
import { addsData, alarmFromMetaKey, alarmMetaKey, alarmMetaPrefix, alarmsAfter, hasNoSpaceAlarm, noSpaceError, sortAlarms } from '../alarms.js';
import { hashKv, type KvHash } from './hash-kv.js';
import { HARD_LIMITS, validateCommand, validateHistoryRequest, validateRangeRequest } from '../validate.js';
import { readKeyHistory } from './key-history.js';
import { executeWrite, type WriteContext } from './write-executor.js';
import { executeLease } from '../lease/lease-executor.js';
import { LeaseTable } from '../lease/lease-table.js';
import { AuthTable } from '../auth/auth-table.js';
import type { AuthState } from '../auth/auth-types.js';
import { authRefusal } from '../auth/auth-check.js';

/**
 * Records one compaction step visits by default (compaction.ts); a step is taken at a
 * compact entry and at each no-op, which the leader proposes a tick while a compaction
 * is under way (takesCompactionStep). A visit costs about 20 us (values of 256 B to
 * 64 KiB; two or three times that on a loaded 2-core machine), so a step about 20 ms,
 * and about 10,000 records a second are freed with the default 100 ms tick. A
 * compaction visits only the records written since the previous one, so one every
 * 64 MiB written (about 5,500 such records) is about 110-150 ms of work in all,
 * whatever the store's size.
 */
export const compactionStepRecordsDefault = 1_000;

/** Settings of the store, whatever its environment. */
export interface StoreSettings {
  /** Cluster setting: must be the same on every replica. */
  readonly sessions?: Partial<SessionPolicy>;
  /** Records of old history a compaction step visits (at a compact or a no-op entry)
   * (default compactionStepRecordsDefault). */
  readonly compactionStepRecordsMax?: number;
}

/** A store on LMDB: the environment's directory and sync mode (lmdb-env.ts), and the settings. */
export interface MvccStoreOptions extends StoreSettings, LmdbEnvOptions {}

export interface ApplyItem {
  readonly index: LogIndex;
  readonly command: Command;
}

/** How a batch is applied, beyond its entries (applyBatch). */
export interface ApplyOptions {
  /**
   * Called between entries and between the keys a delete visits and removes: an apply
   * deleting a hundred thousand keys holds the event loop for seconds, and the runtime
   * may have to act meanwhile (a leader's heartbeats). It must not touch the store.
   */
  readonly pulse?: () => void;
  /**
   * Whether the events carry the previous key-values with their values (default true).
   * Without, a put or delete reads only the previous record's header, not its value:
   * a delete of many large values spent a third of its time copying them out.
   */
  readonly prevValues?: boolean;
}

/**
 * What applying one entry did:
 *   - applied: the command ran; `result` may be an error (bad input, compacted revision...)
 *     in which case nothing changed;
 *   - duplicate: the session table answered (the saved result of the same seq, or
 *     SESSION_EXPIRED); nothing changed;
 *   - skipped: the entry was applied before (index <= appliedIndex(), after a restart).
 */
/** Runs a defragmentation's swap with every other call to the store kept away (MvccStore.defragment). */
export type Hold = <T>(swap: () => Promise<T>) => Promise<T>;

/**
 * The entries applied after `afterIndex` through `throughIndex`, in order, as they were
 * applied (the caller's log holds them: a defragmentation applies them again to its
 * copy); undefined if it no longer holds them all.
 */
export type RedoSource = (afterIndex: LogIndex, throughIndex: LogIndex) => Iterable<ApplyItem> | undefined;

export interface DefragmentOptions {
  /** Runs the swap with every other call to the store kept away (default: at once). */
  readonly hold?: Hold;
  /** As for applyBatch, during the entries applied again inside the hold. */
  readonly pulse?: () => void;
  /** Where the entries applied during the copy are read again; without it, any such entry means a second copy inside the hold. */
  readonly redo?: RedoSource;
  /** Waits for the next turn of the event loop, between slices of the copy's catch-up (default: setImmediate). */
  readonly between?: () => Promise<void>;
}

export interface DefragmentResult {
  readonly beforeBytes: number;
  readonly afterBytes: number;
  /** Entries applied to the copy before the swap, while the store went on (copy-catch-up.ts). */
  readonly caughtUpEntries: number;
  /** Entries applied to the copy inside the swap's hold. */
  readonly heldEntries: number;
}

/** Entries applied again per write transaction after a defragmentation's swap. */
const redoBatchEntries = 1024;
/** Work done between two turns of the event loop while the copy catches up. */
const catchUpSliceMs = 5;
const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface DecodedItem {
  readonly index: LogIndex;
  readonly command: KvResult<Command>;
}

export type ApplyOutcome =
  | { readonly index: LogIndex; readonly status: 'applied'; readonly result: CommandResult; readonly events: readonly KvEvent[] }
  | { readonly index: LogIndex; readonly status: 'duplicate'; readonly result: CommandResult; readonly events: readonly KvEvent[] }
  | { readonly index: LogIndex; readonly status: 'skipped' };

export type { KvHash } from './hash-kv.js';
export type { EnvSizes } from '../env/kv-env.js';

export interface StoreStats {
  readonly historyRecords: number;
  readonly byRevisionRecords: number;
  readonly sessions: number;
  readonly compactionPending: boolean;
}

interface State {
  applied: LogIndex;
  revision: number;
  compacted: number;
  /** The largest timeMs of any applied command. */
  clockMs: number;
  compaction: CompactionProgress;
  /** Active alarms, sorted (alarms.ts). */
  alarms: readonly AlarmMember[];
}

const STORE_FORMAT = 1;
const NOOP: Command = { body: { type: 'noop' } };

const noPulse = (): void => {};
const applyDefaults: Required<ApplyOptions> = { pulse: noPulse, prevValues: true };

export class MvccStore {
  // Replaced together when defragment() reopens the environment.
  private env: KvEnv;
  private reader: MvccReader;
  private sessions: SessionTable;
  private leaseTable: LeaseTable;
  private authTable: AuthTable;
  private readonly sessionPolicy: SessionPolicy;
  private readonly compactionStepRecordsMax: number;
  /** What the store was opened with: a defragmentation's copy is opened with the same. */
  private readonly settings: StoreSettings;
  private state: State;
  private closed = false;
  private defragmenting = false;
  /** A defragmentation is under way (one at a time). */
  private defragmentRunning = false;

  /**
   * The environment opened empty because what it held could not be trusted (LMDB's
   * deferred sync after a machine restart, unsynced-marker.ts): the runtime must
   * rebuild the store from its snapshot and log.
   */
  readonly discardedOnOpen: boolean;

  private constructor(env: KvEnv, settings: StoreSettings) {
    this.env = env;
    this.discardedOnOpen = env.discardedOnOpen;
    this.settings = settings;
    this.sessionPolicy = { ...defaultSessionPolicy, ...settings.sessions };
    this.reader = new MvccReader(env.history, env.latest);
    this.sessions = new SessionTable(env.sessions, env.sessionLru, this.sessionPolicy);
    this.leaseTable = new LeaseTable(env.leases, env.leaseKeys);
    this.authTable = new AuthTable(env.auth);
    this.compactionStepRecordsMax = settings.compactionStepRecordsMax ?? compactionStepRecordsDefault;
    assert(Number.isSafeInteger(this.compactionStepRecordsMax) && this.compactionStepRecordsMax >= 1, 'compactionStepRecordsMax must be >= 1');
    this.state = readState(env.meta);
  }

  /** Opens (or creates) the store on LMDB at `options.path`. */
  static open(options: MvccStoreOptions): MvccStore {
    return MvccStore.openOn(openLmdbEnv(options), options, options.path);
  }

  /**
   * Opens (or creates) the store on an open environment (kv-env.ts: LMDB, or memory in
   * the simulator), which it then owns: close() closes it. `name` says where, in errors.
   */
  static openOn(env: KvEnv, settings: StoreSettings = {}, name = 'in memory'): MvccStore {
    try {
      const format = readUint(env.meta, META.format);
      if (format === undefined) {
        env.transactionSync(() => env.meta.putSync(metaKey(META.format), uintBytes(STORE_FORMAT)));
      } else if (format !== STORE_FORMAT) {
        throw new Error(`Cannot open key-value store ${name}: format ${format}, this version reads format ${STORE_FORMAT}`);
      }
      const applied = readUint(env.meta, META.applied) ?? 0;
      if (readUint(env.meta, META.latestApplied) !== applied) {
        // Written before the latest index was kept, or by a build that did not keep it.
        env.transactionSync(() => {
          rebuildLatestIndex(env.history, env.latest);
          env.meta.putSync(metaKey(META.latestApplied), uintBytes(applied));
        });
      }
      return new MvccStore(env, settings);
    } catch (error) {
      // The open's own error is the one to report, not a failure to close after it.
      env.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Waits until every committed transaction is durable (on LMDB an fsync of the
   * environment, mdb_env_sync), for a runtime about to truncate its log.
   */
  async flush(): Promise<void> {
    this.assertUsable();
    await this.env.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }

  /** The index of the last log entry applied; 0 for a new store. */
  appliedIndex(): LogIndex {
    return this.state.applied;
  }

  /** The store's revision (1 for a new store). */
  currentRevision(): number {
    return this.state.revision;
  }

  /** Reads below this revision fail with COMPACTED (0: never compacted). */
  compactedRevision(): number {
    return this.state.compacted;
  }

  /** Active alarms, by member then type (alarms.ts). */
  alarms(): readonly AlarmMember[] {
    this.assertOpen();
    return this.state.alarms;
  }

  /**
   * The hash of the key space's history up to `revision` (0: the current revision),
   * equal on every replica at that revision (hash-kv.ts says what it covers).
   */
  hashKv(revision: number): KvResult<KvHash> {
    this.assertUsable();
    const { revision: current, compacted } = this.state;
    const at = revision || current;
    if (at > current) return { ok: false, error: kvError('FUTURE_REV', `hashKv: revision ${at} is in the future; the current revision is ${current}`) };
    if (at < compacted)
      return { ok: false, error: kvError('COMPACTED', `hashKv: revision ${at} has been compacted; the oldest hashable revision is ${compacted}`) };
    return { ok: true, value: hashKv(this.env.history, at, compacted) };
  }

  /** The file's size and the part of it in use (defragment.ts); about 0.2 ms on LMDB. */
  sizes(): EnvSizes {
    this.assertUsable();
    return this.env.sizes();
  }

  /** The file's size alone (what the storage quota counts); cheaper than sizes(). */
  fileSize(): number {
    this.assertUsable();
    return this.env.fileSize();
  }

  /**
   * Rewrites the LMDB file without its free pages, which LMDB reuses but never gives
   * back to the file system (defragment.ts), in three steps:
   *   1. the compacted copy is written while the store goes on: reads and applies
   *      continue;
   *   2. the copy is opened as a store of its own and caught up: the entries the store
   *      applied since the copy was taken are applied to it again, read from `redo`
   *      (the store is a deterministic state machine: the same entries on the same
   *      state give the same state; their results and events were given the first
   *      time), in rounds, while the store goes on, until it is a few entries behind
   *      (copy-catch-up.ts);
   *   3. `hold` runs the swap: the caller keeps every other call away while the copy
   *      takes the file's place and the last entries are applied to it again.
   * The entries are read from the caller's log a batch at a time, never kept in memory,
   * so however long the copy takes and however much is written meanwhile, the hold
   * lasts as long as applying the last few. Only if `redo` cannot give them all is the
   * copy dropped and a second one written inside the hold: the old, blocking way.
   */
  async defragment(options: DefragmentOptions = {}): Promise<DefragmentResult> {
    this.assertUsable();
    assert(!this.defragmentRunning, 'one defragmentation at a time');
    const hold = options.hold ?? ((swap) => swap());
    const beforeBytes = this.env.fileSize();
    this.defragmentRunning = true;
    try {
      let copy = await this.env.copyCompacted();
      const { copyApplied, caughtUpEntries } = await this.catchUp(copy, options);
      return await hold(async () => {
        const through = this.state.applied;
        const redo = through === copyApplied ? [] : options.redo?.(copyApplied, through);
        if (redo === undefined) {
          await copy.discard();
          copy = await this.env.copyCompacted();
        }
        this.defragmenting = true;
        try {
          // Until reopened, a call that touches the tables is a bug of the caller: assertUsable() says so.
          this.env = await copy.swapIn();
          this.reader = new MvccReader(this.env.history, this.env.latest);
          this.sessions = new SessionTable(this.env.sessions, this.env.sessionLru, this.sessionPolicy);
          this.leaseTable = new LeaseTable(this.env.leases, this.env.leaseKeys);
          this.authTable = new AuthTable(this.env.auth);
          this.reload();
        } finally {
          this.defragmenting = false;
        }
        // Entries at or below the copy's applied index are skipped (applyDecoded). Their
        // events were published the first time: the values before them are not needed.
        const heldFrom = this.state.applied;
        if (redo) this.applyAgain(redo, options.pulse ?? noPulse);
        assert(this.state.applied === through, () => `a defragmentation's swap left the store at ${this.state.applied}, not ${through}`);
        return { beforeBytes, afterBytes: this.env.fileSize(), caughtUpEntries, heldEntries: through - heldFrom };
      });
    } finally {
      this.defragmentRunning = false;
    }
  }

  /**
   * Opens `copy` as a store and brings it close to this one (copy-catch-up.ts) if
   * `redo` is given, then makes it durable and closes it for the swap.
   */
  private async catchUp(copy: CompactedCopy, options: DefragmentOptions): Promise<{ copyApplied: LogIndex; caughtUpEntries: number }> {
    const copyStore = MvccStore.openOn(copy.open(), this.settings, 'the defragmentation copy');
    try {
      const redo = options.redo;
      const caughtUpEntries = redo
        ? await catchUpCopy(copyStore, { target: () => this.state.applied, redo, sliceMs: catchUpSliceMs, between: options.between ?? nextImmediate })
        : 0;
      // Durable before it takes the file's place, and outside the hold.
      await copyStore.flush();
      return { copyApplied: copyStore.appliedIndex(), caughtUpEntries };
    } finally {
      await copyStore.close();
    }
  }

  /** `items`, applied in write transactions of redoBatchEntries (applyBatch), their results dropped. */
  private applyAgain(items: Iterable<ApplyItem>, pulse: () => void): void {
    for (const batch of inBatches(items, redoBatchEntries)) this.applyBatch(batch, { pulse, prevValues: false });
  }

  /** Applies one command at log index `index` (one LMDB transaction). */
  apply(index: LogIndex, command: Command): ApplyOutcome {
    return this.applyDecoded([{ index, command: { ok: true, value: command } }])[0] as ApplyOutcome;
  }

  /** Applies commands at consecutive log indexes in one LMDB transaction. */
  applyBatch(items: readonly ApplyItem[], options: ApplyOptions = {}): ApplyOutcome[] {
    return this.applyDecoded(
      items.map((item) => ({ index: item.index, command: { ok: true, value: item.command } })),
      { ...applyDefaults, ...options },
    );
  }

  /**
   * Applies committed Raft entries in one LMDB transaction. Config entries and empty
   * entries (a new leader's no-op) apply as no-ops; an entry that does not decode
   * applies as a BAD_COMMAND error: both still advance the applied index.
   */
  applyEntries(entries: readonly Entry[]): ApplyOutcome[] {
    return this.applyDecoded(
      entries.map((entry) => ({
        index: entry.index,
        command: entry.kind === 'config' || entry.data.length === 0 ? { ok: true, value: NOOP } : decodeCommand(entry.data),
      })),
    );
  }

  /** The cluster's member metadata as applied; undefined before the first membership change. */
  members(): MemberList | undefined {
    this.assertOpen();
    const data = this.env.meta.get(metaKey(META.members));
    return data === undefined ? undefined : decodeMemberList(data);
  }

  /** A read at the current revision or at `request.revision`. */
  range(request: RangeRequest): KvResult<ReadResponse> {
    this.assertUsable();
    const problem = validateRangeRequest(request, HARD_LIMITS);
    if (problem) return { ok: false, error: problem };
    const { revision } = this.state;
    const at = request.revision || revision;
    const unreadable = this.unreadable('range', at);
    if (unreadable) return { ok: false, error: unreadable };
    // At the current revision the newest records are the answer (MvccReader.range).
    return { ok: true, value: { ...this.reader.range(request, at === revision ? LATEST : at), revision } };
  }

  /** A key's versions still in the history, up to the current revision or `request.revision`. */
  history(request: HistoryRequest): KvResult<HistoryResponse> {
    this.assertUsable();
    const problem = validateHistoryRequest(request, HARD_LIMITS);
    if (problem) return { ok: false, error: problem };
    const { revision, compacted } = this.state;
    const at = request.revision || revision;
    const unreadable = this.unreadable('history', at);
    if (unreadable) return { ok: false, error: unreadable };
    const page = readKeyHistory(this.env.history, this.reader, request, at, compacted);
    return { ok: true, value: { ...page, revision, compactRevision: compacted } };
  }

  /** Why a read at revision `at` cannot be served (etcd's ErrFutureRev, ErrCompacted), if it cannot. */
  private unreadable(what: string, at: number): KvError | undefined {
    const { revision, compacted } = this.state;
    if (at > revision) return kvError('FUTURE_REV', `${what}: revision ${at} is in the future; the current revision is ${revision}`);
    if (at < compacted) return kvError('COMPACTED', `${what}: revision ${at} has been compacted; the oldest readable revision is ${compacted}`);
    return undefined;
  }

  /** Every lease, by id ascending (etcd's LeaseLeases; the runtime's lessor loads them). */
  leases(): Lease[] {
    this.assertOpen();
    return this.leaseTable.list();
  }

  /** A lease and its keys (etcd's LeaseTimeToLive), or undefined if it does not exist. */
  leaseInfo(id: number): LeaseInfo | undefined {
    this.assertOpen();
    return this.leaseTable.info(id);
  }

  /** The auth state as applied (users, roles, enabled flag), cached in memory. */
  authState(): AuthState {
    this.assertOpen();
    return this.authTable.state();
  }

  leaseCount(): number {
    this.assertOpen();
    return this.leaseTable.count();
  }

  /**
   * The changes of a key or range from `fromRevision` on, in revision order, for a
   * watcher catching up (change-reader.ts). COMPACTED when `fromRevision` is at or below
   * the compacted revision: compaction may have removed changes there (tombstones at
   * the compacted revision included), so history is complete only above it.
   */
  changes(query: Omit<ChangeQuery, 'toRevision'>): KvResult<ChangeBatch> {
    this.assertOpen();
    const { revision, compacted } = this.state;
    if (query.fromRevision <= compacted) {
      return {
        ok: false,
        error: kvError('COMPACTED', `watch: revision ${query.fromRevision} has been compacted; changes are kept from revision ${compacted + 1} on`),
      };
    }
    return { ok: true, value: readChanges(this.env, this.reader, { ...query, toRevision: revision }) };
  }

  /** A consistent copy of the whole store at appliedIndex(), for a Raft snapshot. */
  snapshot(): { index: LogIndex; data: Uint8Array } {
    this.assertUsable();
    const index = this.state.applied;
    const tables = tablesOf(this.env).map(([name, table]) => ({ name, entries: table.getRange({}) }));
    return { index, data: encodeSnapshot(index, tables) };
  }

  /**
   * snapshot(), as a stream of chunks of about 1 MiB for a Raft snapshot written to a
   * file: the tables are read in one read view, so applies may go on while the chunks
   * are taken without changing what the snapshot holds, and the snapshot is never in
   * memory whole. Where the environment can (KvEnv.streamSnapshotApart: LMDB, from
   * 16 MiB) the view is opened and read in a worker thread, at the index applied when
   * it opens, which the stream names; otherwise it is opened now, at the applied index,
   * and after about `sliceMs` of work the stream awaits `between()` (the caller's way
   * to let the event loop serve timers, messages and requests) before going on. The
   * view is released when the chunks end or close() is called, whichever comes first.
   */
  async openSnapshotStream(sliceMs: number, between: () => Promise<void>): Promise<SnapshotStream> {
    this.assertUsable();
    const apart = this.env.streamSnapshotApart?.();
    if (apart) return apart;
    // Opened in one synchronous step: applies commit synchronously, so the view holds
    // exactly the state at the applied index its meta table holds.
    return streamSnapshotOfView(this.env.readView(), { sliceMs, between });
  }

  /**
   * Replaces the whole store with a snapshot taken at log index `index`, reading it about
   * 1 MiB at a time (the snapshot may be a file read on demand, never in memory whole).
   * Throws, changing nothing, if the data is not a valid snapshot at that index: it is
   * read through once to check it before anything is written. Then it is written in
   * transactions of about restoreBatchBytes: in one, LMDB would hold the whole snapshot
   * in its dirty pages, in memory. The meta table (the applied index) goes in the last,
   * so a store whose restore was cut short by a crash reads as empty (applied index 0)
   * and its runtime restores it again from the same snapshot. All in one synchronous
   * call: no read sees the store half restored.
   *
   * `checked`: the caller has just run snapshotProblem() on these very bytes and it found
   * nothing, so the check pass is skipped and the snapshot is read once, not twice (a
   * snapshot received from the leader is large and the node's loop waits for this).
   * The writing pass checks as it reads all the same: bytes damaged since then still
   * throw, part-way, leaving a store that reads as empty, to be restored again.
   */
  restore(index: LogIndex, data: SnapshotBytes, checked = false): void {
    for (const _ of this.restoreSteps(index, data, checked)) {
      // Every write transaction at once.
    }
  }

  /**
   * restore() a transaction at a time, awaiting `between()` after about every `sliceMs`
   * of work, so that a snapshot of gigabytes does not hold the event loop. The store
   * is half restored meanwhile: the caller keeps every read of it and every apply
   * waiting until this resolves (the replica holds them as for a defragmentation).
   */
  async restoreInSlices(index: LogIndex, data: SnapshotBytes, checked: boolean, sliceMs: number, between: () => Promise<void>): Promise<void> {
    let sliceStart = performance.now();
    for (const _ of this.restoreSteps(index, data, checked)) {
      if (performance.now() - sliceStart < sliceMs) continue;
      await between();
      sliceStart = performance.now();
    }
  }

  /** The work of restore(), yielding after each write transaction (and each slice of the check pass). */
  private *restoreSteps(index: LogIndex, data: SnapshotBytes, checked: boolean): Generator<void> {
    this.assertUsable();
    if (!checked) {
      let read = 0;
      for (const _ of this.restorableEntries(index, data)) {
        // Read through: the checks are in the reading.
        if (++read % 1024 === 0) yield;
      }
    }
    const tables = new Map(tablesOf(this.env));
    const latest = this.env.latest;
    const meta: SnapshotEntry[] = [];
    let batch: SnapshotEntry[] = [];
    let batchBytes = 0;
    const write = (entries: readonly SnapshotEntry[]): void =>
      this.inTransaction(() => {
        for (const { table, key, value } of entries) {
          (tables.get(table) as Table).putSync(key, value);
          // A snapshot lists history keys in order: the latest index is built as they arrive.
          if (table === 'history') noteHistoryKey(latest, key);
        }
      });
    try {
      this.inTransaction(() => {
        for (const table of tables.values()) table.clearSync();
        latest.clearSync();
      });
      for (const entry of this.restorableEntries(index, data)) {
        if (entry.table === 'meta') {
          meta.push(entry);
          continue;
        }
        batch.push(entry);
        batchBytes += entry.key.length + entry.value.length;
        if (batchBytes < restoreBatchBytes) continue;
        write(batch);
        batch = [];
        batchBytes = 0;
        yield;
      }
      write([...batch, ...meta, { table: 'meta', key: metaKey(META.latestApplied), value: uintBytes(index) }]);
    } finally {
      // What is in memory follows what is on disk, restored or (cut short) read as empty.
      this.reload();
    }
  }

  /**
   * Why restore(index, data) would refuse `data`, or undefined: for snapshots from peers,
   * checked before they are accepted. Reads the whole snapshot, awaiting `between()`
   * after about every `sliceMs` of work so that a large one does not hold the event loop.
   */
  async snapshotProblem(index: LogIndex, data: SnapshotBytes, sliceMs: number, between: () => Promise<void>): Promise<string | undefined> {
    try {
      let sliceStart = performance.now();
      for (const _ of this.restorableEntries(index, data)) {
        if (performance.now() - sliceStart < sliceMs) continue;
        await between();
        sliceStart = performance.now();
      }
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** What is wrong with the first bytes of a snapshot said to be taken at `index` (snapshotStartProblem), or undefined. */
  snapshotStartProblem(index: LogIndex, firstBytes: Uint8Array): string | undefined {
    const problem = snapshotStartProblem(index, firstBytes);
    return problem === undefined ? undefined : `Cannot restore key-value snapshot: ${problem}`;
  }

  /** A snapshot's entries as it is read, each checked to belong in this store; throws on a snapshot restore() must refuse. */
  private *restorableEntries(index: LogIndex, data: SnapshotBytes): Generator<SnapshotEntry> {
    const reader = new SnapshotReader(data);
    if (reader.index !== index) {
      throw new Error(`Cannot restore key-value snapshot: it was taken at index ${reader.index}, not ${index}`);
    }
    const names = tablesOf(this.env).map(([name]) => name);
    const wrongTables = (): Error =>
      new Error(`Cannot restore key-value snapshot: it holds tables ${reader.tableNames.join(', ')}, expected ${names.join(', ')}`);
    let appliedInData = 0;
    try {
      for (const entry of reader.entries()) {
        if (!names.includes(entry.table)) throw wrongTables();
        if (entry.table === 'meta' && Buffer.from(entry.key).toString('latin1') === META.applied) appliedInData = new ByteReader(entry.value).varint();
        yield entry;
      }
    } catch (error) {
      throw reader.explain(error);
    }
    const missing = names.filter((name) => !reader.tableNames.includes(name) && !LATER_TABLES.has(name));
    if (missing.length > 0 || reader.tableNames.some((name) => !names.includes(name))) throw wrongTables();
    if (appliedInData !== index) {
      throw new Error(`Cannot restore key-value snapshot: its applied index is ${appliedInData}, its header says ${index}`);
    }
  }

  /** Whether a compaction's physical removal is still under way (it advances a step per no-op entry). */
  compactionPending(): boolean {
    return this.state.compaction.target !== 0;
  }

  /** What the latest index gets wrong, or undefined (latest-index.ts; reads the history whole: for tests and diagnostics). */
  latestIndexProblem(): string | undefined {
    this.assertUsable();
    return latestIndexProblem(this.env.history, this.env.latest);
  }

  /** Sizes of the tables, for tests and diagnostics (counts every record: not for hot paths). */
  stats(): StoreStats {
    this.assertUsable();
    return {
      historyRecords: this.env.history.getCount(),
      byRevisionRecords: this.env.byRevision.getCount(),
      sessions: this.sessions.size(),
      compactionPending: this.compactionPending(),
    };
  }

  // -------------------------------------------------------------------------------

  private applyDecoded(items: readonly DecodedItem[], how: Required<ApplyOptions> = applyDefaults): ApplyOutcome[] {
    this.assertUsable();
    const state: State = { ...this.state };
    const outcomes: ApplyOutcome[] = [];
    const work = items.filter((item) => item.index > state.applied);
    if (work.length === 0) return items.map((item) => ({ index: item.index, status: 'skipped' }));
    this.inTransaction(() => {
      for (const item of items) {
        if (item.index <= state.applied) {
          outcomes.push({ index: item.index, status: 'skipped' });
          continue;
        }
        assert(item.index === state.applied + 1, () => `apply: entry ${item.index} after ${state.applied}; entries must be applied in order without gaps`);
        how.pulse();
        outcomes.push(this.applyOne(item.index, item.command, state, how));
      }
      writeState(this.env.meta, state);
    });
    this.state = state;
    return outcomes;
  }

  /** One entry, inside the batch's write transaction; updates `state`. */
  private applyOne(index: LogIndex, decoded: KvResult<Command>, state: State, how: Required<ApplyOptions>): ApplyOutcome {
    const command = decoded.ok ? decoded.value : undefined;
    if (command && Number.isSafeInteger(command.timeMs) && (command.timeMs as number) > state.clockMs) {
      state.clockMs = command.timeMs as number;
    }
    this.sessions.expire(index, state.clockMs);
    const outcome = this.run(index, decoded, state, how);
    if (command && takesCompactionStep(command)) state.compaction = compactStep(this.env, state.compaction, this.compactionStepRecordsMax);
    state.applied = index;
    return outcome;
  }

  private run(index: LogIndex, decoded: KvResult<Command>, state: State, how: Required<ApplyOptions>): ApplyOutcome {
    if (!decoded.ok) return { index, status: 'applied', result: { ok: false, error: decoded.error }, events: [] };
    const command = decoded.value;
    const problem = validateCommand(command, HARD_LIMITS);
    if (problem) return { index, status: 'applied', result: { ok: false, error: problem }, events: [] };
    const session = command.session;
    if (!session) return { index, status: 'applied', ...this.execute(index, command, state, how) };
    const check = this.sessions.check(session.clientId, session.seq);
    if (check.kind === 'duplicate') return { index, status: 'duplicate', result: check.result, events: [] };
    const { result, events } = this.execute(index, command, state, how);
    this.sessions.save(session.clientId, session.seq, index, state.clockMs, result, check.previous);
    return { index, status: 'applied', result, events };
  }

  private execute(index: LogIndex, command: Command, state: State, how: Required<ApplyOptions>): { result: CommandResult; events: readonly KvEvent[] } {
    const body = command.body;
    const context = (): WriteContext => ({
      pulse: how.pulse,
      prevValues: how.prevValues,
      history: this.env.history,
      byRevision: this.env.byRevision,
      latest: this.env.latest,
      leases: this.leaseTable,
      reader: this.reader,
      revision: state.revision,
      compactedRevision: state.compacted,
    });
    switch (body.type) {
      case 'put':
      case 'deleteRange':
      case 'txn': {
        const refused = authRefusal(this.authTable.state(), command.auth, body, (id) => this.leaseTable.info(id)?.keys ?? []);
        if (refused) return fail(refused);
        if (hasNoSpaceAlarm(state.alarms) && addsData(body)) return fail(noSpaceError());
        const outcome = executeWrite(context(), body);
        state.revision = outcome.revision;
        return outcome;
      }
      case 'leaseGrant':
      case 'leaseRevoke':
      case 'leaseKeepAlive': {
        const refused = authRefusal(this.authTable.state(), command.auth, body, (id) => this.leaseTable.info(id)?.keys ?? []);
        if (refused) return fail(refused);
        if (hasNoSpaceAlarm(state.alarms) && addsData(body)) return fail(noSpaceError());
        const outcome = executeLease(context(), body, index);
        state.revision = outcome.revision;
        return outcome;
      }
      case 'compact': {
        if (body.revision <= state.compacted) {
          return fail(kvError('COMPACTED', `compact: revision ${body.revision} has been compacted already; the store is compacted up to ${state.compacted}`));
        }
        if (body.revision > state.revision) {
          return fail(kvError('FUTURE_REV', `compact: revision ${body.revision} is in the future; the current revision is ${state.revision}`));
        }
        state.compaction = startCompaction(state.compaction, state.compacted, body.revision);
        state.compacted = body.revision;
        return { result: { ok: true, revision: state.revision, response: { type: 'compact' } }, events: [] };
      }
      case 'noop':
        return { result: { ok: true, revision: state.revision, response: { type: 'noop' } }, events: [] };
      case 'member': {
        // Every replica holds the same list at this index, so all accept or refuse alike.
        const changed = applyMemberChange(this.members(), body.change);
        if (!changed.ok) return fail(kvError('INVALID_ARGUMENT', changed.message));
        this.env.meta.putSync(metaKey(META.members), encodeMemberList(changed.list));
        return { result: { ok: true, revision: state.revision, response: { type: 'member' } }, events: [] };
      }
      case 'auth': {
        const problem = this.authTable.apply(body.change);
        if (problem) return fail(problem);
        return { result: { ok: true, revision: state.revision, response: { type: 'auth' } }, events: [] };
      }
      case 'alarm': {
        const { alarms, changed } = alarmsAfter(state.alarms, body);
        const target = { memberId: body.memberId, alarm: body.alarm };
        if (body.action === 'activate') this.env.meta.putSync(alarmMetaKey(target), uintBytes(1));
        else this.env.meta.removeSync(alarmMetaKey(target));
        state.alarms = alarms;
        return { result: { ok: true, revision: state.revision, response: { type: 'alarm', alarms: changed } }, events: [] };
      }
    }
  }

  /** Runs `action` in one write transaction; on any failure, re-reads cached state and rethrows. */
  private inTransaction(action: () => void): void {
    try {
      this.env.transactionSync(action);
    } catch (error) {
      this.reload();
      throw error;
    }
  }

  /** Re-reads what is cached from the tables. */
  private reload(): void {
    this.state = readState(this.env.meta);
    this.sessions.reload();
    this.authTable.reload();
  }

  private assertOpen(): void {
    assert(!this.closed, 'the key-value store is closed');
  }

  /** For what reads or writes the tables; what is cached in memory stays readable meanwhile. */
  private assertUsable(): void {
    this.assertOpen();
    assert(!this.defragmenting, 'the key-value store is being defragmented');
  }
}

/**
 * Only a compact and a no-op take a compaction step, not every entry: one write
 * transaction applies a whole Ready of entries (up to 4 MiB), and at a step per entry a
 * batch of 20-50 puts did a whole compaction at once, 0.5-0.9 s of the event loop at
 * 1 GiB. While one is under way the leader proposes a no-op a tick, one at a time
 * (Replica.driveCompaction), so a batch holds a step or two whatever the load.
 */
function takesCompactionStep(command: Command): boolean {
  return command.body.type === 'noop' || command.body.type === 'compact';
}

function fail(error: KvError): { result: CommandResult; events: readonly KvEvent[] } {
  return { result: { ok: false, error }, events: [] };
}

function readState(meta: Table): State {
  const target = readUint(meta, META.compactTarget) ?? 0;
  const cursor = meta.get(metaKey(META.compactCursor));
  return {
    applied: readUint(meta, META.applied) ?? 0,
    revision: readUint(meta, META.revision) ?? 1,
    compacted: readUint(meta, META.compacted) ?? 0,
    clockMs: readUint(meta, META.clock) ?? 0,
    compaction: target === 0 ? IDLE : { target, cursor: cursor && cursor.length > 0 ? cursor : undefined },
    alarms: readAlarms(meta),
  };
}

function readAlarms(meta: Table): AlarmMember[] {
  const alarms: AlarmMember[] = [];
  const prefix = alarmMetaPrefix();
  for (const { key } of meta.getRange({ start: prefix })) {
    if (!key.subarray(0, prefix.length).equals(prefix)) break;
    const alarm = alarmFromMetaKey(key);
    assert(alarm !== undefined, () => `meta key ${key.toString('latin1')} is not an alarm`);
    alarms.push(alarm);
  }
  return sortAlarms(alarms);
}

function writeState(meta: Table, state: State): void {
  const applied = uintBytes(state.applied);
  meta.putSync(metaKey(META.applied), applied);
  // In the same transaction as every write to the latest index: it is up to date with the store.
  meta.putSync(metaKey(META.latestApplied), applied);
  meta.putSync(metaKey(META.revision), uintBytes(state.revision));
  meta.putSync(metaKey(META.compacted), uintBytes(state.compacted));
  meta.putSync(metaKey(META.clock), uintBytes(state.clockMs));
  meta.putSync(metaKey(META.compactTarget), uintBytes(state.compaction.target));
  if (state.compaction.cursor) meta.putSync(metaKey(META.compactCursor), state.compaction.cursor);
  else meta.removeSync(metaKey(META.compactCursor));
}
