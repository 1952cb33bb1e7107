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
  const all: Entry[] = [...wal.compacted, ...wal.entries];
  const termInWal = (index: LogIndex): Term | undefined => {
    if (index === x) return wal.snapshotTerm;
    const first = all[0];
    return first && index >= first.index ? all[index - first.index]?.term : undefined;
  };
  const warnings: string[] = [];
  let entries: Entry[];
  let walFix: WalFix | undefined;

  if (s === x) {
    if (s > 0 && t !== wal.snapshotTerm) {
      throw new StorageMismatchError(`The snapshot at index ${s} has term ${t}, but the WAL records it with term ${wal.snapshotTerm}; refusing to start`);
    }
    entries = wal.entries;
  } else if (s > x) {
    if (termInWal(s) === t) {
      entries = all.filter((e) => e.index > s);
      walFix = { kind: 'compact', index: s, term: t };
    } else {
      entries = [];
      walFix = { kind: 'restore', index: s, term: t };
    }
  } else {
    const first = all[0];
    const covered = first !== undefined && first.index <= s + 1 && (first.index === s + 1 || termInWal(s) === t);
    const why = newestDamaged ? `the newest snapshot file ${newestDamaged.file} is damaged (${newestDamaged.reason})` : `no snapshot file at index ${x} exists`;
    const older = snapshot ? `the older snapshot at index ${s}` : 'an empty state';
    if (!covered) {
      const message = `The WAL records a snapshot at index ${x}, but ${why}, and the WAL no longer holds entries ${s + 1}..${x} to rebuild it from ${older}; refusing to start`;
      if (newestDamaged) throw new SnapshotCorruptionError(message, newestDamaged.file);
      throw new StorageMismatchError(message);
    }
    warnings.push(`SNAPSHOT FALLBACK: ${why}; starting from ${older} and replaying entries ${s + 1}..${x} from the WAL instead`);
    entries = all.filter((e) => e.index > s);
  }
  for (const d of damaged) {
    if (s >= x)
      warnings.push(`SNAPSHOT DAMAGED: ${d.file} (${d.reason}); the WAL still holds everything after the snapshot at index ${s}, so starting from that one`);
  }

  const lastIndex = s + entries.length;
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
    persisted: { hardState, snapshot, entries },
    walFix,
    quarantine: damaged.map((d) => d.file),
    warnings,
  };
}
