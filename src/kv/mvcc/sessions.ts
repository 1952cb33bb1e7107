/**
 * The client session table, for exactly-once commands (Raft thesis §6.3). A client
 * numbers its commands 1, 2, 3... within a session it names with a unique clientId, and
 * has at most one outstanding. A retried command may be committed twice in the log; the
 * state machine keeps, per client, the last sequence number applied and its result:
 *   - seq > last: new, apply it and save its result;
 *   - seq = last: a duplicate, answer with the saved result and change nothing;
 *   - seq < last: older than the saved result: SESSION_EXPIRED;
 *   - no session and seq > 1: the session expired or was evicted (its history is gone,
 *     so the command may already have been applied): SESSION_EXPIRED. A new session
 *     starts at seq 1.
 *
 * Sessions start implicitly with seq 1 (the thesis registers them with a command of
 * their own). The price: a retry of seq 1 that arrives after its session was evicted is
 * applied again. Clients should therefore pick a fresh clientId per session and not
 * retry past the session TTL.
 *
 * The table is bounded: beyond sessionsMax the least recently used session is evicted;
 * and sessions expire after sessionTtlEntries applied entries or sessionTtlMs of the
 * clock carried in the commands (the leader's time at proposal, never this replica's
 * own clock). Every replica applies the same entries in the same order, so every
 * replica evicts the same sessions at the same index. The policy must therefore be the
 * same on every replica (it is cluster configuration, like etcd's limits).
 *
 * Tables: sessions (clientId -> lastSeq lastIndex lastTimeMs result) and sessionLru
 * (lastIndex, 8 bytes big-endian -> clientId). Each applied entry has its own index, so
 * lastIndex is unique and orders sessions by last use; the clock never goes back, so
 * that is also the order of lastTimeMs.
 */
import { ByteReader, ByteWriter, assert } from '../../lib/index.js';
import { decodeResult, encodeResult } from '../codec/result-codec.js';
import { readRevision, revisionBytes } from '../codec/key-encoding.js';
import type { Table } from '../env/kv-env.js';
import type { CommandResult } from '../types.js';
import { kvError } from '../errors.js';

export interface SessionPolicy {
  /** Sessions kept at most; the least recently used is evicted beyond. */
  readonly sessionsMax: number;
  /** A session unused for more than this many applied entries expires; 0: never. */
  readonly sessionTtlEntries: number;
  /** A session unused for more than this long (command clock) expires; 0: never. */
  readonly sessionTtlMs: number;
}

export const defaultSessionPolicy: SessionPolicy = {
  sessionsMax: 10_000,
  sessionTtlEntries: 0,
  sessionTtlMs: 60 * 60 * 1000,
};

export interface SessionRecord {
  readonly lastSeq: number;
  readonly lastIndex: number;
  readonly lastTimeMs: number;
  readonly result: Uint8Array;
}

export type SessionCheck =
  | { readonly kind: 'new'; readonly previous: SessionRecord | undefined }
  | { readonly kind: 'duplicate'; readonly result: CommandResult };

const utf8 = new TextEncoder();

type Oldest = { readonly clientId: string; readonly record: SessionRecord };

export class SessionTable {
  private count: number;
  /**
   * A lower bound on the last use of the least recently used session: sessions only get
   * newer or go, so once read it stays a bound, and expire() reads the table only when
   * the bound itself would be idle (rarely, with TTLs far longer than an entry).
   */
  private oldestBound: SessionRecord | undefined;

  constructor(
    private readonly sessions: Table,
    private readonly lru: Table,
    private readonly policy: SessionPolicy,
  ) {
    assert(Number.isSafeInteger(policy.sessionsMax) && policy.sessionsMax >= 1, 'sessionsMax must be >= 1');
    assert(policy.sessionTtlEntries >= 0 && policy.sessionTtlMs >= 0, 'session TTLs must be >= 0');
    this.count = sessions.getCount();
  }

  /** Re-reads what is cached (after a restore or an aborted transaction). */
  reload(): void {
    this.count = this.sessions.getCount();
    this.oldestBound = undefined;
  }

  size(): number {
    return this.count;
  }

  /** Evicts the sessions expired at entry `index` with the command clock at `clockMs`. */
  expire(index: number, clockMs: number): void {
    const { sessionTtlEntries, sessionTtlMs } = this.policy;
    // No session, no bound to keep: without this, every entry applied by a cluster whose
    // clients use no sessions (etcd's API) would read the LRU table to find it empty.
    if ((sessionTtlEntries === 0 && sessionTtlMs === 0) || this.count === 0) return;
    const idle = (record: SessionRecord): boolean =>
      (sessionTtlEntries > 0 && index - record.lastIndex > sessionTtlEntries) || (sessionTtlMs > 0 && clockMs - record.lastTimeMs > sessionTtlMs);
    if (this.oldestBound && !idle(this.oldestBound)) return;
    for (;;) {
      const oldest = this.oldest();
      this.oldestBound = oldest?.record;
      if (!oldest || !idle(oldest.record)) return;
      this.remove(oldest.clientId, oldest.record);
    }
  }

  /** What to do with command `seq` of `clientId`. */
  check(clientId: string, seq: number): SessionCheck {
    const record = this.read(clientId);
    if (!record) {
      if (seq === 1) return { kind: 'new', previous: undefined };
      return expired(
        `no session for client ${JSON.stringify(clientId)} (expired, evicted or never started); a new session starts at seq 1, this command has seq ${seq}`,
      );
    }
    if (seq > record.lastSeq) return { kind: 'new', previous: record };
    if (seq === record.lastSeq) return { kind: 'duplicate', result: decodeResult(record.result) };
    return expired(`the result of seq ${seq} of client ${JSON.stringify(clientId)} is no longer kept (the session is at seq ${record.lastSeq})`);
  }

  /**
   * Saves the result of command `seq` applied at `index`, and evicts beyond sessionsMax.
   * `previous` is the session as check() found it.
   */
  save(clientId: string, seq: number, index: number, clockMs: number, result: CommandResult, previous: SessionRecord | undefined): void {
    if (previous) this.lru.removeSync(revisionBytes(previous.lastIndex));
    else this.count++;
    const record: SessionRecord = { lastSeq: seq, lastIndex: index, lastTimeMs: clockMs, result: encodeResult(result) };
    this.sessions.putSync(utf8.encode(clientId), encodeSession(record));
    this.lru.putSync(revisionBytes(index), Buffer.from(clientId, 'utf8'));
    while (this.count > this.policy.sessionsMax) {
      const oldest = this.oldest();
      assert(oldest !== undefined, 'session count without sessions');
      this.remove(oldest.clientId, oldest.record);
    }
  }

  private read(clientId: string): SessionRecord | undefined {
    const data = this.sessions.get(utf8.encode(clientId));
    return data ? decodeSession(data) : undefined;
  }

  private oldest(): Oldest | undefined {
    for (const { key, value } of this.lru.getRange({ limit: 1 })) {
      const clientId = value.toString('utf8');
      const record = this.read(clientId);
      assert(record !== undefined && record.lastIndex === readRevision(key, 0), () => `session LRU entry for ${clientId} is stale`);
      return { clientId, record };
    }
    return undefined;
  }

  private remove(clientId: string, record: SessionRecord): void {
    this.sessions.removeSync(utf8.encode(clientId));
    this.lru.removeSync(revisionBytes(record.lastIndex));
    this.count--;
  }
}

function expired(message: string): SessionCheck {
  return { kind: 'duplicate', result: { ok: false, error: kvError('SESSION_EXPIRED', message) } };
}

function encodeSession(record: SessionRecord): Uint8Array {
  return new ByteWriter(32 + record.result.length).varint(record.lastSeq).varint(record.lastIndex).varint(record.lastTimeMs).raw(record.result).finish();
}

function decodeSession(data: Uint8Array): SessionRecord {
  const r = new ByteReader(data);
  const lastSeq = r.varint();
  const lastIndex = r.varint();
  const lastTimeMs = r.varint();
  return { lastSeq, lastIndex, lastTimeMs, result: r.raw(r.remaining) };
}
