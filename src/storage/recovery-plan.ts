/**
 * At start, the snapshot store and the WAL are read separately; this decides what
 * they say together. Pure, so every case is testable without files.
 *
 * The two can legitimately disagree only in the ways a crash between their writes
 * leaves them (raft-storage.ts writes the snapshot first, then the WAL):
 *   - snapshot newer than the WAL's marker, and the WAL holds the snapshot's last
 *     entry with the same term: a local snapshot whose compaction record was not
 *     written yet. Keep the entries after it; record the compaction.
 *   - snapshot newer than the WAL's marker otherwise: a snapshot from the leader
 *     whose restore record was not written yet. The WAL's entries belong to a log
 *     the snapshot replaces (§7, Figure 13 step 7): drop them; record the restore.
 *   - the WAL's marker newer than the newest usable snapshot: that snapshot file is
 *     damaged or gone. An older snapshot can stand in only if the WAL still holds
 *     every entry between the two (compaction keeps them for this); otherwise
 *     refuse to start, naming the file.
 */
import type { Entry, HardState, LogIndex, PersistedState, Snapshot, Term } from '../raft/index.js';
import { lostAcknowledgedEntriesAdvice, SnapshotCorruptionError, StorageMismatchError } from './errors.js';
import type { DamagedSnapshot } from './snapshot-store.js';
import type { WalState } from './wal.js';

export type WalFix = { readonly kind: 'compact' | 'restore'; readonly index: LogIndex; readonly term: Term };

export interface RecoveryPlan {
  readonly persisted: PersistedState;
  /** A record the WAL lacks because of a crash between the snapshot and the WAL write. */
  readonly walFix: WalFix | undefined;
  /** Damaged snapshot files to move aside (only when recovery can go on without them). */
  readonly quarantine: readonly string[];
  /** Things an operator must hear about. */
  readonly warnings: readonly string[];
}

export function planRecovery(input: { snapshot: Snapshot | undefined; damaged: readonly DamagedSnapshot[]; wal: WalState }): RecoveryPlan {
  const { snapshot, damaged, wal } = input;
  const newestDamaged = damaged[0];
  if (!snapshot && newestDamaged) {
    throw new SnapshotCorruptionError(
      `Cannot load snapshot ${newestDamaged.file}: ${newestDamaged.reason}; no older valid snapshot exists, so the state machine cannot be rebuilt; refusing to start`,
      newestDamaged.file,
    );
  }
  const s = snapshot?.meta.index ?? 0;
  const t = snapshot?.meta.term ?? 0;
  const x = wal.snapshotIndex;
  const run = new WalRun(wal);
  const termInWal = (index: LogIndex): Term | undefined => (index === x ? wal.snapshotTerm : run.term(index));
  const warnings: string[] = [];
  let log: LogAfterSnapshot;
  let walFix: WalFix | undefined;

  if (s === x) {
    if (s > 0 && t !== wal.snapshotTerm) {
      throw new StorageMismatchError(`The snapshot at index ${s} has term ${t}, but the WAL records it with term ${wal.snapshotTerm}; refusing to start`);
    }
    log = run.after(s);
  } else if (s > x) {
    if (termInWal(s) === t) {
      log = run.after(s);
      walFix = { kind: 'compact', index: s, term: t };
    } else {
      log = { entries: [], lastIndex: s };
      walFix = { kind: 'restore', index: s, term: t };
    }
  } else {
    const first = run.first();
    const covered = first !== undefined && first <= s + 1 && (first === s + 1 || termInWal(s) === t);
    const why = newestDamaged ? `the newest snapshot file ${newestDamaged.file} is damaged (${newestDamaged.reason})` : `no snapshot file at index ${x} exists`;
    const older = snapshot ? `the older snapshot at index ${s}` : 'an empty state';
    if (!covered) {
      const message = `The WAL records a snapshot at index ${x}, but ${why}, and the WAL no longer holds entries ${s + 1}..${x} to rebuild it from ${older}; refusing to start`;
      if (newestDamaged) throw new SnapshotCorruptionError(message, newestDamaged.file);
      throw new StorageMismatchError(message);
    }
    warnings.push(`SNAPSHOT FALLBACK: ${why}; starting from ${older} and replaying entries ${s + 1}..${x} from the WAL instead`);
    log = run.after(s);
  }
  for (const d of damaged) {
    if (s >= x)
      warnings.push(`SNAPSHOT DAMAGED: ${d.file} (${d.reason}); the WAL still holds everything after the snapshot at index ${s}, so starting from that one`);
  }

  const lastIndex = log.lastIndex;
  const hardState: HardState = wal.hardState;
  if (hardState.commit > lastIndex) {
    // This node's own evidence that it lost entries it acknowledged (a WAL cut by
    // keel repair, say): going on would let it vote and serve without entries a
    // majority counted on (§5.4). A peer's word is never taken for it (RaftNode.step).
    throw new StorageMismatchError(
      `The hard state says entries up to ${hardState.commit} are committed, but the log ends at ${lastIndex}; refusing to start: ${lostAcknowledgedEntriesAdvice}`,
    );
  }
  return {
    persisted: { hardState, snapshot, entries: log.entries, ...(log.onDisk ? { onDisk: log.onDisk } : {}) },
    walFix,
    quarantine: damaged.map((d) => d.file),
    warnings,
  };
}

interface LogAfterSnapshot {
  readonly onDisk?: PersistedState['onDisk'];
  readonly entries: Entry[];
  readonly lastIndex: LogIndex;
}

/** The run of entries the WAL holds: its spilled front (on disk only), then those in memory. */
class WalRun {
  private readonly memory: Entry[];

  constructor(private readonly wal: WalState) {
    this.memory = [...wal.compacted, ...wal.entries];
  }

  first(): LogIndex | undefined {
    return this.wal.spilled?.terms.first() ?? this.memory[0]?.index;
  }

  term(index: LogIndex): Term | undefined {
    const spilled = this.wal.spilled?.terms.term(index);
    if (spilled !== undefined) return spilled;
    const first = this.memory[0];
    return first && index >= first.index ? this.memory[index - first.index]?.term : undefined;
  }

  /** The entries after `index`, as the log of a node whose snapshot is at `index`. */
  after(index: LogIndex): LogAfterSnapshot {
    const entries = this.memory.filter((e) => e.index > index);
    const spilled = this.wal.spilled;
    const lastIndex = Math.max(index, this.memory[this.memory.length - 1]?.index ?? 0, spilled?.terms.last() ?? 0);
    if (!spilled || spilled.terms.last() <= index) return { entries, lastIndex };
    const onDisk = { terms: spilled.terms.from(index + 1), configEntries: spilled.configEntries.filter((e) => e.index > index) };
    return { onDisk, entries, lastIndex };
  }
}
