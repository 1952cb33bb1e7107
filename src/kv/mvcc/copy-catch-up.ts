/**
 * A defragmentation's copy brought up to date before the swap (MvccStore.defragment).
 *
 * The copy is taken from one read view while the store goes on applying; whatever it
 * applied meanwhile must be applied to the copy again before the copy can take the
 * store's place, and the swap holds the node (no applies, no reads, no Raft messages
 * sent) for as long as that takes. At 4 GiB, a copy took 40-51 s and applying again
 * what came during it held a member for 3-10 s. So the copy is opened as a store of its
 * own and caught up here, while the node goes on, in rounds: each round applies what
 * the store applied since the last one, a slice of the event loop at a time. A round
 * takes less time than the one before (the copy applies without answering anyone),
 * so the gap shrinks, and the swap is left the last few entries.
 */
import { inBatches } from '../../lib/index.js';
import type { LogIndex } from '../../raft/index.js';
import type { ApplyItem, MvccStore, RedoSource } from './mvcc-store.js';

/** At most this many entries are left to be applied again inside the swap's hold. */
export const heldEntriesMax = 256;
/** Rounds before the swap takes whatever is left: a store written faster than the copy catches up still gets defragmented. */
const catchUpRoundsMax = 8;
/** Entries per write transaction of the copy. */
const catchUpBatchEntries = 64;

export interface CatchUp {
  /** The store's applied index now: what the copy must reach. */
  readonly target: () => LogIndex;
  readonly redo: RedoSource;
  /** Work done between two turns of the event loop. */
  readonly sliceMs: number;
  readonly between: () => Promise<void>;
}

/**
 * Applies to `copy` what the store applied since it was taken, until it is within
 * heldEntriesMax of the store, catchUpRoundsMax rounds are done, or `redo` no longer
 * holds what it lacks (the swap then finds that out too, and copies again inside the
 * hold). Returns the entries applied. Leaves `copy` open: the caller makes it durable
 * and closes it.
 */
export async function catchUpCopy(copy: MvccStore, how: CatchUp): Promise<number> {
  let applied = 0;
  for (let round = 0; round < catchUpRoundsMax; round++) {
    const from = copy.appliedIndex();
    const through = how.target();
    if (through - from <= heldEntriesMax) break;
    const items = how.redo(from, through);
    if (items === undefined) break;
    await applyInSlices(copy, items, how);
    applied += copy.appliedIndex() - from;
    // A snapshot from the leader may have replaced the log meanwhile: the items ended short.
    if (copy.appliedIndex() !== through) break;
  }
  return applied;
}

async function applyInSlices(copy: MvccStore, items: Iterable<ApplyItem>, how: CatchUp): Promise<void> {
  let sliceStart = performance.now();
  for (const batch of inBatches(items, catchUpBatchEntries)) {
    copy.applyBatch(batch, { prevValues: false });
    if (performance.now() - sliceStart < how.sliceMs) continue;
    await how.between();
    sliceStart = performance.now();
  }
}
