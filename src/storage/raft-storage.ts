/**
 * What the node runtime uses: the WAL (`<dir>/wal`) and the snapshot store
 * (`<dir>/snap`) behind the Ready contract of types.ts.
 *
 * Order of writes, so that a crash between any two leaves something recovery can
 * explain (recovery-plan.ts):
 *   - a Ready: snapshot file first (durable), then, in one WAL group commit, the
 *     restore record, the entries and the hard state;
 *   - a local snapshot: snapshot file first, then the WAL's compaction record, then
 *     deletion of WAL segments no longer needed.
 * WAL segments are deleted only up to the *previous* snapshot, so that if the
 * newest snapshot file is ever found damaged, the previous one plus the WAL can
 * rebuild the state. The cost: the WAL holds about two snapshot intervals.
 *
 * Any failed write makes the whole storage refuse further writes: the process must
 * stop and recover from disk.
 */
import { posix } from 'node:path';
import type { LogIndex, LogReader, PersistedState, Ready, SnapshotMeta } from '../raft/index.js';
import { assert } from '../lib/index.js';
import type { FileSystem } from './file-system.js';
import { StorageUnusableError } from './errors.js';
import { planRecovery } from './recovery-plan.js';
import { SerialQueue } from './serial-queue.js';
import type { FileSnapshotData, SnapshotSource } from './snapshot-file.js';
import { SnapshotStore, type SnapshotBeingReceived } from './snapshot-store.js';
import { Wal } from './wal.js';

export interface RaftStorageOptions {
  fs: FileSystem;
  dir: string;
  log?: (msg: string) => void;
  segmentBytesMax?: number;
  /** Bytes of entries a start holds in memory; older committed ones stay on disk (PersistedState.onDisk). */
  memoryBytesMax?: number;
  /** The state machine's applied index: a snapshot it holds is checked whole after the start (SnapshotStoreOptions.heldThrough). */
  stateHeldThrough?: LogIndex;
}

export class RaftStorage {
  private readonly queue = new SerialQueue();
  private failure: string | undefined;

  private constructor(
    private readonly wal: Wal,
    private readonly store: SnapshotStore,
    /** The newest durable snapshot's index (0 if none). */
    private snapshotIndex: LogIndex,
  ) {}

  /** `timings`: how long loading (and checking) the snapshot and replaying the WAL took, for the start-up log. */
  static async open(options: RaftStorageOptions): Promise<{
    storage: RaftStorage;
    persisted: PersistedState;
    /** The snapshot's data in `persisted`, read from its file: the caller closes it. */
    snapshotFile: FileSnapshotData | undefined;
    /** Its data was checksummed at open; if not, snapshotDataProblem() is for after the start. */
    snapshotDataChecked: boolean;
    /** A transfer from the leader a restart cut short, for the core to go on with (RaftNode's snapshotReceiving). */
    receiving: SnapshotBeingReceived | undefined;
    /** About how many bytes of entries the log holds after its snapshot. */
    logBytesAfterSnapshot: number;
    timings: { snapshotLoadMs: number; walReplayMs: number };
  }> {
    const { fs, dir } = options;
    const log = options.log ?? ((msg: string) => console.warn(msg));
    const startMs = performance.now();
    const { store, snapshot, damaged, transfer } = await SnapshotStore.open({
      fs,
      dir: posix.join(dir, 'snap'),
      log,
      ...(options.stateHeldThrough !== undefined ? { heldThrough: options.stateHeldThrough } : {}),
    });
    const snapshotLoadMs = performance.now() - startMs;
    const { wal, state } = await Wal.open({
      fs,
      dir: posix.join(dir, 'wal'),
      log,
      ...(options.segmentBytesMax ? { segmentBytesMax: options.segmentBytesMax } : {}),
      ...(options.memoryBytesMax !== undefined ? { memoryBytesMax: options.memoryBytesMax } : {}),
      // With the newest snapshot intact, no older one stands in for it: the WAL need not
      // read the segments before it.
      ...(snapshot && damaged.length === 0 ? { skipEntriesThrough: snapshot.meta.index } : {}),
    });
    try {
      const plan = planRecovery({ snapshot, damaged, wal: state });
      for (const warning of plan.warnings) log(warning);
      const fix = plan.walFix;
      if (fix?.kind === 'compact') {
        log(`storage ${dir}: recording the compaction to snapshot ${fix.index} that a crash interrupted`);
        await wal.compact(fix, { keepEntriesAfter: state.snapshotIndex });
      } else if (fix?.kind === 'restore') {
        log(`storage ${dir}: recording the installation of snapshot ${fix.index} that a crash interrupted; the log before it is void`);
        await wal.save({ snapshot: fix, entries: [] });
        await wal.compact(fix);
      }
      await store.quarantine(plan.quarantine);
      assertContiguous(plan.persisted);
      // A transfer of what this node holds already is over (Figure 13: it would be
      // answered as done); only a newer snapshot's goes on.
      // Decided before the file is read through to resume it.
      const held = Math.max(plan.persisted.hardState.commit, plan.persisted.snapshot?.meta.index ?? 0);
      const receiving = transfer && transfer.index > held ? await store.resumeTransfer() : undefined;
      if (transfer && !receiving) await store.abandonTransfer();
      if (receiving) log(`storage ${dir}: the transfer of snapshot ${receiving.meta.index} a restart cut short goes on from byte ${receiving.size}`);
      const walReplayMs = performance.now() - startMs - snapshotLoadMs;
      return {
        storage: new RaftStorage(wal, store, snapshot?.meta.index ?? 0),
        persisted: plan.persisted,
        snapshotFile: snapshot?.data,
        snapshotDataChecked: snapshot?.dataChecked ?? true,
        receiving,
        logBytesAfterSnapshot: state.bytesAfterSnapshot,
        timings: { snapshotLoadMs, walReplayMs },
      };
    } catch (error) {
      await wal.close().catch(() => undefined);
      await snapshot?.data.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Persist one Ready durably, before the caller sends its messages: the snapshot to
   * install first (one received whole is moved into place), then the chunks of one
   * being received, then entries and hard state.
   */
  saveReady(ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'> & { readonly snapshotChunks?: Ready['snapshotChunks'] }): Promise<void> {
    return this.queue.run(() =>
      this.guard(async () => {
        const { snapshot, hardState, entries } = ready;
        if (snapshot) {
          assert(
            snapshot.meta.index > this.snapshotIndex,
            () => `installing snapshot ${snapshot.meta.index} over the newer or equal snapshot ${this.snapshotIndex}`,
          );
          await this.store.install(snapshot);
        }
        for (const chunk of ready.snapshotChunks ?? []) await this.store.receive(chunk);
        const meta = snapshot ? { index: snapshot.meta.index, term: snapshot.meta.term } : undefined;
        await this.wal.save({ entries, ...(meta ? { snapshot: meta } : {}), ...(hardState ? { hardState } : {}) });
        if (meta) {
          this.snapshotIndex = meta.index;
          // Every segment before the restore is void now.
          await this.wal.compact(meta);
        }
      }),
    );
  }

  /**
   * A locally taken snapshot (streamed, usually): store it durably, then
   * compact the WAL; answers the stored data (the caller closes it). The file is
   * written beside the WAL's queue, not in it: a file of hundreds of MB takes seconds
   * to write and sync, and the Readys persisted meanwhile (the leader's heartbeats
   * come out of them) must not wait for it. Only the compaction record, which must
   * follow the file and take its place among the WAL's writes, is queued.
   */
  async saveSnapshot(snapshot: SnapshotSource): Promise<FileSnapshotData> {
    const { index, term } = snapshot.meta;
    let stored: FileSnapshotData | undefined;
    await this.guard(async () => {
      stored = await this.store.save(snapshot);
    });
    await this.queue
      .run(() =>
        this.guard(async () => {
          // A newer snapshot from the leader may have been installed while the file was written.
          if (index <= this.snapshotIndex) return;
          const previous = this.snapshotIndex;
          this.snapshotIndex = index;
          await this.wal.compact({ index, term }, { keepEntriesAfter: previous });
        }),
      )
      .catch(async (error: unknown) => {
        await stored?.close();
        throw error;
      });
    return stored as FileSnapshotData;
  }

  /** Reads entries back from the WAL for the Raft core (RaftNodeOptions.logReader). */
  get logReader(): LogReader {
    return this.wal.entryReader;
  }

  /**
   * The Raft log starts at `index` now (at start, and after each compaction): the WAL
   * keeps every segment holding entries from there on, which the log may read back.
   */
  keepEntriesFrom(index: LogIndex): void {
    this.wal.keepEntriesFrom(index);
  }

  /** A snapshot from the leader whose last chunk a saved Ready held, opened for reading; the caller closes it. */
  receivedSnapshot(meta: SnapshotMeta): Promise<FileSnapshotData> {
    return this.store.received(meta);
  }

  /** What is wrong with the stored snapshot `meta`'s file, or undefined (SnapshotStore.dataProblem). */
  snapshotDataProblem(meta: SnapshotMeta, between?: () => Promise<void>): Promise<string | undefined> {
    return this.store.dataProblem(meta, between);
  }

  /**
   * Moves the damaged file of the stored snapshot `meta` aside (`.corrupt`); false if it
   * is gone already. Only for one the state machine holds: what it covers is then in the
   * store and in the next snapshot, and the WAL keeps the entries after the snapshot
   * before it, so a start before that next snapshot falls back to that one.
   */
  quarantineSnapshot(meta: SnapshotMeta): Promise<boolean> {
    return this.store.quarantineSaved(meta);
  }

  /** A snapshot saved here, opened for reading; the caller closes it. */
  readSnapshot(meta: SnapshotMeta): Promise<FileSnapshotData> {
    return this.store.read(meta);
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.failure === undefined) this.failure = 'the storage was closed';
      await this.wal.close();
    });
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    if (this.failure !== undefined) throw new StorageUnusableError(`Storage refuses writes: ${this.failure}; restart the process to recover from disk`);
    try {
      await work();
    } catch (error) {
      this.failure = `an earlier write failed: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    }
  }
}

/** PersistedState's promise to RaftNode: entries contiguous from the snapshot index + 1, or after those on disk. */
function assertContiguous(persisted: PersistedState): void {
  const base = persisted.onDisk?.terms.last() ?? persisted.snapshot?.meta.index ?? 0;
  persisted.entries.forEach((e, i) => assert(e.index === base + 1 + i, () => `recovered log is not contiguous at ${e.index} (expected ${base + 1 + i})`));
}
