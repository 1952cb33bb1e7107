import type { HardState, LogIndex, Ready, SnapshotMeta, Term } from '../raft/index.js';
import type { InspectedCore } from '../replica/index.js';
import type { DurableView } from './safety.js';

/**
 * What a replica's Raft storage has made durable, as its Ready loop reports it: each
 * Ready's snapshot, entries and hard state once saveReady returned, each snapshot of its
 * own once saved. After a crash the view is rebuilt from what the restarted core
 * recovered from the simulated disk, which may hold more (a torn write's prefix).
 * The safety monitor checks every message against it.
 */
export class SyncedLog implements DurableView {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snapshot: SnapshotMeta = { index: 0, term: 0, config: { voters: [], learners: [] } };
  /** terms[i] is the term of the entry at snapshot.index + 1 + i. */
  private terms: Term[] = [];

  lastIndex(): LogIndex {
    return this.snapshot.index + this.terms.length;
  }

  snapshotIndex(): LogIndex {
    return this.snapshot.index;
  }

  term(index: LogIndex): Term | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index || index > this.lastIndex()) return undefined;
    return this.terms[index - this.snapshot.index - 1];
  }

  /** A Ready's writes are durable. */
  persisted(ready: Ready): void {
    if (ready.snapshot !== undefined) this.compacted(ready.snapshot.meta);
    for (const entry of ready.entries) {
      const offset = entry.index - this.snapshot.index - 1;
      if (offset < 0) continue;
      this.terms.length = Math.min(this.terms.length, offset);
      this.terms.push(entry.term);
    }
    if (ready.hardState !== undefined) this.hardState = ready.hardState;
  }

  /** A snapshot is durable: the log before it is gone (all of it when it disagrees there). */
  compacted(meta: SnapshotMeta): void {
    if (meta.index <= this.snapshot.index) return;
    const keep = this.term(meta.index) === meta.term ? this.terms.slice(meta.index - this.snapshot.index) : [];
    this.snapshot = meta;
    this.terms = keep;
  }

  /** What a restarted core recovered. */
  recovered(core: InspectedCore): void {
    const status = core.status();
    this.hardState = { term: status.term, vote: status.vote, commit: status.commit };
    this.snapshot = core.currentSnapshot()?.meta ?? { index: status.firstIndex - 1, term: 0, config: { voters: [], learners: [] } };
    this.terms = core.entriesFrom(status.firstIndex).map((entry) => entry.term);
  }
}
