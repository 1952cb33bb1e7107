/**
 * The replicated state machine: an MVCC key-value store with etcd's data model, on LMDB.
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
 * Not here yet: leases beyond storing their id on keys, and watches. Every applied
 * command returns its events (puts and deletes with kv and prevKv) in order, which a
 * watch hub can fan out.
 */
import type { Entry, LogIndex } from '../raft/types.js';
import { ByteReader, ByteWriter } from './byte-codec.js';
import { decodeCommand } from './command.js';
import { compactStep, IDLE, type CompactionProgress } from './compaction.js';
import { kvError, type KvError, type KvResult } from './errors.js';
import { openKvEnv, syncEnv, tablesOf, type KvEnv, type SyncMode, type Table } from './lmdb-env.js';
import { MvccReader } from './mvcc-reader.js';
import { defaultSessionPolicy, SessionTable, type SessionPolicy } from './sessions.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-format.js';
import type { Command, CommandResult, HistoryRequest, HistoryResponse, KvEvent, RangeRequest, ReadResponse } from './types.js';
import { HARD_LIMITS, validateCommand, validateHistoryRequest, validateRangeRequest } from './validate.js';
import { readKeyHistory } from './key-history.js';
import { executeWrite } from './write-executor.js';
import { assert } from '../lib/assert.js';

export interface MvccStoreOptions {
  /** Directory of the LMDB environment; created if missing. */
  readonly path: string;
  /** Default 'relaxed' (see lmdb-env.ts). */
  readonly sync?: SyncMode;
  /** Cluster setting: must be the same on every replica. */
  readonly sessions?: Partial<SessionPolicy>;
  /** Records of old history examined per applied entry while a compaction runs. */
  readonly compactionStepRecordsMax?: number;
}

export interface ApplyItem {
  readonly index: LogIndex;
  readonly command: Command;
}

/**
 * What applying one entry did:
 *   - applied: the command ran; `result` may be an error (bad input, compacted revision...)
 *     in which case nothing changed;
 *   - duplicate: the session table answered (the saved result of the same seq, or
 *     SESSION_EXPIRED); nothing changed;
 *   - skipped: the entry was applied before (index <= appliedIndex(), after a restart).
 */
export type ApplyOutcome =
  | { readonly index: LogIndex; readonly status: 'applied'; readonly result: CommandResult; readonly events: readonly KvEvent[] }
  | { readonly index: LogIndex; readonly status: 'duplicate'; readonly result: CommandResult; readonly events: readonly KvEvent[] }
  | { readonly index: LogIndex; readonly status: 'skipped' };

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
}

const STORE_FORMAT = 1;
const META = {
  format: 'format',
  applied: 'applied',
  revision: 'revision',
  compacted: 'compacted',
  clock: 'clock-ms',
  compactTarget: 'compact-target',
  compactCursor: 'compact-cursor',
} as const;
const metaKey = (name: string): Buffer => Buffer.from(name, 'latin1');
const NOOP: Command = { body: { type: 'noop' } };

export class MvccStore {
  private readonly env: KvEnv;
  private readonly reader: MvccReader;
  private readonly sessions: SessionTable;
  private readonly compactionStepRecordsMax: number;
  private state: State;
  private closed = false;

  private constructor(env: KvEnv, options: MvccStoreOptions) {
    this.env = env;
    this.reader = new MvccReader(env.history);
    this.sessions = new SessionTable(env.sessions, env.sessionLru, { ...defaultSessionPolicy, ...options.sessions });
    this.compactionStepRecordsMax = options.compactionStepRecordsMax ?? 10_000;
    assert(Number.isSafeInteger(this.compactionStepRecordsMax) && this.compactionStepRecordsMax >= 1, 'compactionStepRecordsMax must be >= 1');
    this.state = readState(env.meta);
  }

  /** Opens (or creates) the store at `options.path`. */
  static open(options: MvccStoreOptions): MvccStore {
    const env = openKvEnv(options.path, options.sync ?? 'relaxed');
    try {
      const format = readUint(env.meta, META.format);
      if (format === undefined) {
        env.root.transactionSync(() => env.meta.putSync(metaKey(META.format), uintBytes(STORE_FORMAT)));
      } else if (format !== STORE_FORMAT) {
        throw new Error(`Cannot open key-value store ${options.path}: format ${format}, this version reads format ${STORE_FORMAT}`);
      }
      return new MvccStore(env, options);
    } catch (error) {
      void env.root.close();
      throw error;
    }
  }

  /**
   * Waits until every committed transaction is on disk, meta page included (an fsync of
   * the environment, mdb_env_sync), for a runtime about to truncate its log.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    await syncEnv(this.env);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.root.close();
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

  /** Applies one command at log index `index` (one LMDB transaction). */
  apply(index: LogIndex, command: Command): ApplyOutcome {
    return this.applyDecoded([{ index, command: { ok: true, value: command } }])[0] as ApplyOutcome;
  }

  /** Applies commands at consecutive log indexes in one LMDB transaction. */
  applyBatch(items: readonly ApplyItem[]): ApplyOutcome[] {
    return this.applyDecoded(items.map((item) => ({ index: item.index, command: { ok: true, value: item.command } })));
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

  /** A read at the current revision or at `request.revision`. */
  range(request: RangeRequest): KvResult<ReadResponse> {
    this.assertOpen();
    const problem = validateRangeRequest(request, HARD_LIMITS);
    if (problem) return { ok: false, error: problem };
    const { revision } = this.state;
    const at = request.revision || revision;
    const unreadable = this.unreadable('range', at);
    if (unreadable) return { ok: false, error: unreadable };
    return { ok: true, value: { ...this.reader.range(request, at), revision } };
  }

  /** A key's versions still in the history, up to the current revision or `request.revision`. */
  history(request: HistoryRequest): KvResult<HistoryResponse> {
    this.assertOpen();
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

  /** A consistent copy of the whole store at appliedIndex(), for a Raft snapshot. */
  snapshot(): { index: LogIndex; data: Uint8Array } {
    this.assertOpen();
    const index = this.state.applied;
    const tables = tablesOf(this.env).map(([name, table]) => ({ name, entries: table.getRange({}) }));
    return { index, data: encodeSnapshot(index, tables) };
  }

  /**
   * Replaces the whole store with a snapshot taken at log index `index`, atomically (one
   * LMDB transaction). Throws, changing nothing, if the data is not a valid snapshot at
   * that index.
   */
  restore(index: LogIndex, data: Uint8Array): void {
    this.assertOpen();
    const snapshot = decodeSnapshot(data);
    if (snapshot.index !== index) {
      throw new Error(`Cannot restore key-value snapshot: it was taken at index ${snapshot.index}, not ${index}`);
    }
    const tables = tablesOf(this.env);
    const names = tables.map(([name]) => name);
    if (snapshot.tables.size !== names.length || names.some((name) => !snapshot.tables.has(name))) {
      throw new Error(`Cannot restore key-value snapshot: it holds tables ${[...snapshot.tables.keys()].join(', ')}, expected ${names.join(', ')}`);
    }
    const metaEntries = snapshot.tables.get('meta') ?? [];
    const applied = metaEntries.find(([key]) => Buffer.from(key).toString('latin1') === META.applied);
    const appliedInData = applied ? new ByteReader(applied[1]).uint() : 0;
    if (appliedInData !== index) {
      throw new Error(`Cannot restore key-value snapshot: its applied index is ${appliedInData}, its header says ${index}`);
    }
    this.inTransaction(() => {
      for (const [name, table] of tables) {
        table.clearSync();
        for (const [key, value] of snapshot.tables.get(name) ?? []) table.putSync(key, value);
      }
    });
    this.reload();
  }

  /** Sizes of the tables, for tests and diagnostics (counts every record: not for hot paths). */
  stats(): StoreStats {
    this.assertOpen();
    return {
      historyRecords: this.env.history.getCount(),
      byRevisionRecords: this.env.byRevision.getCount(),
      sessions: this.sessions.size(),
      compactionPending: this.state.compaction.target !== 0,
    };
  }

  // -------------------------------------------------------------------------------

  private applyDecoded(items: readonly { index: LogIndex; command: KvResult<Command> }[]): ApplyOutcome[] {
    this.assertOpen();
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
        outcomes.push(this.applyOne(item.index, item.command, state));
      }
      writeState(this.env.meta, state);
    });
    this.state = state;
    return outcomes;
  }

  /** One entry, inside the batch's write transaction; updates `state`. */
  private applyOne(index: LogIndex, decoded: KvResult<Command>, state: State): ApplyOutcome {
    const command = decoded.ok ? decoded.value : undefined;
    if (command && Number.isSafeInteger(command.timeMs) && (command.timeMs as number) > state.clockMs) {
      state.clockMs = command.timeMs as number;
    }
    this.sessions.expire(index, state.clockMs);
    const outcome = this.run(index, decoded, state);
    state.compaction = compactStep(this.env, this.reader, state.compaction, this.compactionStepRecordsMax);
    state.applied = index;
    return outcome;
  }

  private run(index: LogIndex, decoded: KvResult<Command>, state: State): ApplyOutcome {
    if (!decoded.ok) return { index, status: 'applied', result: { ok: false, error: decoded.error }, events: [] };
    const command = decoded.value;
    const problem = validateCommand(command, HARD_LIMITS);
    if (problem) return { index, status: 'applied', result: { ok: false, error: problem }, events: [] };
    const session = command.session;
    if (!session) return { index, status: 'applied', ...this.execute(command, state) };
    const check = this.sessions.check(session.clientId, session.seq);
    if (check.kind === 'duplicate') return { index, status: 'duplicate', result: check.result, events: [] };
    const { result, events } = this.execute(command, state);
    this.sessions.save(session.clientId, session.seq, index, state.clockMs, result, check.previous);
    return { index, status: 'applied', result, events };
  }

  private execute(command: Command, state: State): { result: CommandResult; events: readonly KvEvent[] } {
    const body = command.body;
    switch (body.type) {
      case 'put':
      case 'deleteRange':
      case 'txn': {
        const outcome = executeWrite(
          { history: this.env.history, byRevision: this.env.byRevision, reader: this.reader, revision: state.revision, compactedRevision: state.compacted },
          body,
        );
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
        state.compacted = body.revision;
        state.compaction = { target: body.revision, cursor: undefined };
        return { result: { ok: true, revision: state.revision, response: { type: 'compact' } }, events: [] };
      }
      case 'noop':
        return { result: { ok: true, revision: state.revision, response: { type: 'noop' } }, events: [] };
    }
  }

  /** Runs `action` in one write transaction; on any failure, re-reads cached state and rethrows. */
  private inTransaction(action: () => void): void {
    try {
      this.env.root.transactionSync(action);
    } catch (error) {
      this.reload();
      throw error;
    }
  }

  /** Re-reads what is cached from LMDB. */
  private reload(): void {
    this.state = readState(this.env.meta);
    this.sessions.reload();
  }

  private assertOpen(): void {
    assert(!this.closed, 'the key-value store is closed');
  }
}

function fail(error: KvError): { result: CommandResult; events: readonly KvEvent[] } {
  return { result: { ok: false, error }, events: [] };
}

function uintBytes(value: number): Uint8Array {
  return new ByteWriter(10).uint(value).finish();
}

function readUint(meta: Table, name: string): number | undefined {
  const data = meta.get(metaKey(name));
  if (data === undefined) return undefined;
  const r = new ByteReader(data);
  const value = r.uint();
  r.end();
  return value;
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
  };
}

function writeState(meta: Table, state: State): void {
  meta.putSync(metaKey(META.applied), uintBytes(state.applied));
  meta.putSync(metaKey(META.revision), uintBytes(state.revision));
  meta.putSync(metaKey(META.compacted), uintBytes(state.compacted));
  meta.putSync(metaKey(META.clock), uintBytes(state.clockMs));
  meta.putSync(metaKey(META.compactTarget), uintBytes(state.compaction.target));
  if (state.compaction.cursor) meta.putSync(metaKey(META.compactCursor), state.compaction.cursor);
  else meta.removeSync(metaKey(META.compactCursor));
}
