/**
 * What a leader knows about one follower's log, and how it feeds it (the
 * nextIndex/matchIndex of Figure 2, plus the flow control of etcd-io/raft):
 *   - probe:     we do not know where the logs agree; send one append at a time and
 *                back off on rejection until one is accepted;
 *   - replicate: the logs agree up to `match`; stream appends optimistically,
 *                at most `inflightMessagesMax` unacknowledged at once, holding at
 *                most `inflightBytesMax` entry bytes (etcd-io/raft's
 *                MaxInflightBytes: what a follower and the wire buffer is bounded
 *                in bytes, so large entries cannot queue far ahead of a heartbeat);
 *   - snapshot:  the entries it needs are compacted; send the snapshot in chunks.
 */
import type { LogIndex } from './types.js';
import { assert } from '../lib/index.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match: LogIndex = 0;
  next: LogIndex;
  state: ProgressState = 'probe';
  /** probe: an append is outstanding, wait for its answer (or a heartbeat answer). */
  probeSent = false;
  /** replicate: the last index and entry bytes of each unacknowledged append, oldest first. */
  readonly inflights: { readonly lastIndex: LogIndex; readonly bytes: number }[] = [];
  /** The entry bytes of `inflights`. */
  inflightBytes = 0;
  /** Heard from since the last check-quorum round (thesis §6.2). */
  recentActive = true;
  /** snapshot: the index of the snapshot being sent and the byte offsets sent/acknowledged. */
  snapshotIndex: LogIndex = 0;
  snapshotSentOffset = 0;
  snapshotAckedOffset = 0;
  /** The leader's heartbeat round when the last chunk was sent. */
  snapshotSentRound = 0;
  /** The newest heartbeat round this follower has answered. */
  heartbeatSeqAcked = 0;
  /** `next` when the latest heartbeat round was sent: an answer to that round showing
   * a shorter log means appends sent before it were lost. */
  nextAtHeartbeat: LogIndex = 0;

  constructor(
    next: LogIndex,
    private readonly inflightMessagesMax: number,
    private readonly inflightBytesMax: number,
  ) {
    this.next = next;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.length >= this.inflightMessagesMax || this.inflightBytes >= this.inflightBytesMax;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot's entries.
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.snapshotIndex + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.clearInflights();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.clearInflights();
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.state = 'snapshot';
    this.snapshotIndex = snapshotIndex;
    this.snapshotSentOffset = 0;
    this.snapshotAckedOffset = 0;
    this.clearInflights();
  }

  /** Records that an append ending at `lastIndex`, carrying `bytes` of entries, was sent. */
  sentEntries(lastIndex: LogIndex, bytes: number): void {
    if (this.state === 'replicate') {
      // Only an append that carries entries takes a slot of the window (as in
      // etcd-io/raft's Inflights). An empty one (a commit update) has nothing to
      // acknowledge, and were it lost its slot would never be freed: the heartbeat
      // answers cannot show the loss, since the follower's log is not behind `next`.
      if (lastIndex < this.next) return;
      assert(!this.isPaused(), 'sent an append past the in-flight window');
      this.next = lastIndex + 1;
      this.inflights.push({ lastIndex, bytes });
      this.inflightBytes += bytes;
    } else {
      this.probeSent = true;
    }
  }

  /** Frees the oldest slot of a full in-flight window (replicate state). */
  freeFirstInflightIfFull(): void {
    if (this.state === 'replicate' && this.isPaused()) this.freeFirstInflight();
  }

  /** The follower holds our log up to `index`. False when that is old news. */
  maybeUpdate(index: LogIndex): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflights.length > 0 && (this.inflights[0] as { lastIndex: LogIndex }).lastIndex <= index) this.freeFirstInflight();
    return updated;
  }

  private freeFirstInflight(): void {
    const freed = this.inflights.shift();
    if (freed) this.inflightBytes -= freed.bytes;
  }

  private clearInflights(): void {
    this.inflights.length = 0;
    this.inflightBytes = 0;
  }

  /**
   * The follower rejected an append at `rejected`; it may agree with us up to
   * `matchHint`. Returns false for a stale rejection (one that answers an append we
   * have since moved past), which must be ignored.
   */
  maybeDecreaseTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
