/**
 * The store's environment in memory (kv-env.ts), for the deterministic simulator: the
 * same MVCC code runs on it as on LMDB, with no I/O, no timers and no native code, so the
 * same calls always give the same results.
 *
 * Model. A MemoryDisk stands for the store's directory: it outlives the environments
 * opened on it, and holds what is durable. An environment's tables are sorted arrays of
 * entries; a write transaction keeps an undo log and rolls back if its action throws
 * (JavaScript runs one thing at a time, so no reader can see a transaction half done).
 * sync() copies the committed tables to the disk, as mdb_env_sync makes them durable.
 * crash() throws the open environment away; what the next open finds depends on the
 * kind of crash (CrashKind). A clean close() syncs first, as a clean shutdown leaves
 * everything in the file. Defragmentation writes a durable compact copy on LMDB, so
 * here it syncs too.
 *
 * Sizes. LMDB's file never shrinks (defragment.ts); the model keeps that: the bytes in
 * use are the keys' and values' bytes, the file's size is the most ever in use since
 * the last defragmentation, which brings it down to what is in use.
 */
import { assert } from '../../lib/index.js';
import { STORED_TABLES, TABLES, type CompactedCopy, type EnvSizes, type KvEnv, type ReadView, type Table, type TableField, type TableRange } from './kv-env.js';

interface Entry {
  readonly key: Buffer;
  readonly value: Buffer;
}

type Tables = ReadonlyMap<string, readonly Entry[]>;

/**
 * What the next open finds after a crash of an open environment:
 *   - 'power': the machine lost power: what was last synced; the commits since are lost
 *     (LMDB's 'relaxed' mode may lose a suffix of commits, never part of one);
 *   - 'process': only the process died: every commit (the page cache keeps them);
 *   - 'torn': the machine lost power under LMDB's 'deferred' sync, whose file may then
 *     be torn: nothing, and the environment says discardedOnOpen (unsynced-marker.ts),
 *     so the runtime rebuilds the store from its snapshot and log.
 */
export type CrashKind = 'power' | 'process' | 'torn';

/** What survives a crash, and the environment open on it, if any. */
export class MemoryDisk {
  private durable: Tables = new Map();
  private discarded = false;
  private fileBytes = 0;
  private current: MemoryEnv | undefined;

  /** Opens the environment on what is durable; one at a time, as LMDB allows one per process. */
  open(): KvEnv {
    assert(this.current === undefined, 'a memory environment is already open on this disk');
    this.current = new MemoryEnv(this, this.durable, this.discarded);
    this.discarded = false;
    return this.current;
  }

  /**
   * The machine or the process stops (CrashKind says which): the open environment, if
   * any, is gone, and every later call on it throws. Open again to recover.
   */
  crash(kind: CrashKind = 'power'): void {
    const env = this.current;
    if (env === undefined) return;
    if (kind === 'process') this.durable = env.committed();
    if (kind === 'torn') {
      this.durable = new Map();
      this.discarded = true;
    }
    env.lose();
    this.current = undefined;
  }

  /** @internal The environment's sync: its committed tables become what survives. */
  persist(tables: Tables): void {
    this.durable = tables;
  }

  /** @internal What survives a crash now (a defragmentation's copy, when it is swapped in). */
  durableTables(): Tables {
    return this.durable;
  }

  /** @internal The environment's close. */
  release(env: MemoryEnv): void {
    if (this.current === env) this.current = undefined;
  }

  /** @internal The file's size: the high-water mark of the bytes in use. */
  grow(inUseBytes: number): number {
    this.fileBytes = Math.max(this.fileBytes, inUseBytes);
    return this.fileBytes;
  }

  /** @internal Defragmentation: the file shrinks to what is in use. */
  shrink(inUseBytes: number): void {
    this.fileBytes = inUseBytes;
  }
}

/** A fresh environment on a fresh disk (or on `disk`, as reopening a directory). */
export function openMemoryEnv(disk = new MemoryDisk()): KvEnv {
  return disk.open();
}

type Undo = () => void;

class MemoryEnv implements KvEnv {
  readonly meta: Table;
  readonly history: Table;
  readonly byRevision: Table;
  readonly sessions: Table;
  readonly sessionLru: Table;
  readonly leases: Table;
  readonly leaseKeys: Table;
  readonly auth: Table;
  readonly latest: Table;
  private readonly tables: Map<string, MemoryTable>;
  private state: 'open' | 'closed' | 'lost' = 'open';
  /** The undo log of the running transaction, newest last; undefined outside one. */
  private undo: Undo[] | undefined;

  constructor(
    private readonly disk: MemoryDisk,
    durable: Tables,
    readonly discardedOnOpen: boolean,
  ) {
    this.tables = new Map(STORED_TABLES.map(([name]) => [name, new MemoryTable(this, [...(durable.get(name) ?? [])])]));
    const byField = new Map(STORED_TABLES.map(([name, field]) => [field, this.tables.get(name) as Table]));
    const table = (field: TableField): Table => byField.get(field) as Table;
    this.meta = table('meta');
    this.history = table('history');
    this.byRevision = table('byRevision');
    this.sessions = table('sessions');
    this.sessionLru = table('sessionLru');
    this.leases = table('leases');
    this.leaseKeys = table('leaseKeys');
    this.auth = table('auth');
    this.latest = table('latest');
  }

  transactionSync(action: () => void): void {
    this.assertOpen();
    assert(this.undo === undefined, 'memory environment: nested transactions are not supported');
    const undo: Undo[] = [];
    this.undo = undo;
    try {
      action();
    } catch (error) {
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as Undo)();
      throw error;
    } finally {
      this.undo = undefined;
    }
  }

  /** @internal Called by a table after each write, with how to take the write back. */
  wrote(undo: Undo): void {
    this.undo?.push(undo);
    this.disk.grow(this.inUseBytes());
  }

  /** @internal */
  assertOpen(): void {
    assert(this.state === 'open', () => `memory environment: used after it was ${this.state === 'lost' ? 'lost in a crash' : 'closed'}`);
  }

  sync(): Promise<void> {
    this.assertOpen();
    this.disk.persist(this.committed());
    return Promise.resolve();
  }

  /** @internal A copy of the tables (between transactions: what is committed). */
  committed(): Tables {
    assert(this.undo === undefined, 'memory environment: a transaction is running');
    return new Map([...this.tables].map(([name, table]) => [name, table.entries.slice()]));
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    await this.sync();
    this.state = 'closed';
    this.disk.release(this);
  }

  /** @internal The disk crashed under this environment. */
  lose(): void {
    this.state = 'lost';
  }

  sizes(): EnvSizes {
    this.assertOpen();
    const inUse = this.inUseBytes();
    return { dbSize: this.disk.grow(inUse), dbSizeInUse: inUse };
  }

  fileSize(): number {
    return this.sizes().dbSize;
  }

  async copyCompacted(): Promise<CompactedCopy> {
    this.assertOpen();
    // The copy is a disk of its own, as LMDB's is a file of its own beside this one.
    const copyDisk = new MemoryDisk();
    copyDisk.persist(this.committed());
    return {
      open: () => copyDisk.open(),
      // As LMDB's: the copy replaces the file, commits made since it was taken are not in it.
      swapIn: async () => {
        this.assertOpen();
        this.state = 'closed';
        const copy = copyDisk.durableTables();
        let bytes = 0;
        for (const entries of copy.values()) for (const entry of entries) bytes += size(entry);
        this.disk.persist(copy);
        this.disk.shrink(bytes);
        this.disk.release(this);
        return this.disk.open();
      },
      discard: () => Promise.resolve(),
    };
  }

  readView(): ReadView {
    this.assertOpen();
    // Entries are never changed in place, so copies of the arrays are the view.
    const committed = this.committed();
    return { tables: TABLES.map(([name]) => [name, committed.get(name) ?? []] as const), done: () => undefined };
  }

  private inUseBytes(): number {
    let bytes = 0;
    for (const table of this.tables.values()) bytes += table.bytes;
    return bytes;
  }
}

/** One table: entries sorted by key (byte order), binary-searched. */
class MemoryTable implements Table {
  /** Bytes of the keys and values held. */
  bytes: number;

  constructor(
    private readonly env: MemoryEnv,
    /** @internal Sorted by key; entries are never changed in place, so a copy of the array is a snapshot. */
    readonly entries: Entry[],
  ) {
    this.bytes = entries.reduce((sum, entry) => sum + size(entry), 0);
  }

  get(key: Uint8Array): Buffer | undefined {
    const value = this.getBinaryFast(key);
    return value === undefined ? undefined : Buffer.from(value);
  }

  getBinaryFast(key: Uint8Array): Buffer | undefined {
    this.env.assertOpen();
    assertKey(key);
    const entry = this.entries[this.lowerBound(key)];
    return entry?.key.equals(key) ? entry.value : undefined;
  }

  putSync(key: Uint8Array, value: Uint8Array): void {
    this.env.assertOpen();
    assertKey(key);
    const entry: Entry = { key: Buffer.from(key), value: Buffer.from(value) };
    const at = this.lowerBound(key);
    const previous = this.entries[at];
    if (previous?.key.equals(key)) {
      this.set(at, entry, 1);
      this.env.wrote(() => this.set(at, previous, 1));
    } else {
      this.set(at, entry, 0);
      this.env.wrote(() => this.set(at, undefined, 1));
    }
  }

  removeSync(key: Uint8Array): boolean {
    this.env.assertOpen();
    assertKey(key);
    const at = this.lowerBound(key);
    const entry = this.entries[at];
    if (entry === undefined || !entry.key.equals(key)) return false;
    this.set(at, undefined, 1);
    this.env.wrote(() => this.set(at, entry, 0));
    return true;
  }

  clearSync(): void {
    this.env.assertOpen();
    const removed = this.entries.splice(0);
    const bytes = this.bytes;
    this.bytes = 0;
    this.env.wrote(() => {
      this.entries.push(...removed);
      this.bytes = bytes;
    });
  }

  getCount(): number {
    this.env.assertOpen();
    return this.entries.length;
  }

  /**
   * Lazy, like an LMDB cursor; each step finds the next key by search from the last one
   * returned, so writes to the table between steps do not derail it.
   */
  *getRange(options: TableRange = {}): Iterable<{ key: Buffer; value: Buffer }> {
    for (const entry of this.inRange(options)) yield { key: Buffer.from(entry.key), value: Buffer.from(entry.value) };
  }

  *getKeys(options: TableRange = {}): Iterable<Buffer> {
    for (const entry of this.inRange(options)) yield Buffer.from(entry.key);
  }

  /** The entries of a range, in its order, as stored: callers copy what they hand out. */
  private *inRange(options: TableRange): Iterable<Entry> {
    this.env.assertOpen();
    const { start, end, reverse = false, exclusiveStart = false, limit = Infinity } = options;
    let at: number;
    if (reverse) at = start === undefined ? this.entries.length - 1 : exclusiveStart ? this.lowerBound(start) - 1 : this.upperBound(start) - 1;
    else at = start === undefined ? 0 : exclusiveStart ? this.upperBound(start) : this.lowerBound(start);
    for (let count = 0; count < limit; count++) {
      const entry = this.entries[at];
      if (entry === undefined) return;
      if (end !== undefined && (reverse ? Buffer.compare(entry.key, end) <= 0 : Buffer.compare(entry.key, end) >= 0)) return;
      yield entry;
      this.env.assertOpen();
      at = reverse ? this.lowerBound(entry.key) - 1 : this.upperBound(entry.key);
    }
  }

  /**
   * Puts `entry` at `at` (or nothing, if undefined) in place of `replaced` entries there:
   * 0 inserts, 1 replaces or removes. The one primitive of writes and of their undoing.
   */
  private set(at: number, entry: Entry | undefined, replaced: 0 | 1): void {
    const [old] = entry === undefined ? this.entries.splice(at, replaced) : this.entries.splice(at, replaced, entry);
    this.bytes += size(entry) - size(old);
  }

  /** The first position whose key is >= `key`. */
  private lowerBound(key: Uint8Array): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (Buffer.compare((this.entries[middle] as Entry).key, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first position whose key is > `key`. */
  private upperBound(key: Uint8Array): number {
    const at = this.lowerBound(key);
    const entry = this.entries[at];
    return entry?.key.equals(key) ? at + 1 : at;
  }
}

const size = (entry: Entry | undefined): number => (entry === undefined ? 0 : entry.key.length + entry.value.length);

function assertKey(key: Uint8Array): void {
  assert(key.length > 0, 'memory environment: zero-length keys are not allowed (as in LMDB)');
}
