/**
 * The leader's queue of linearizable reads waiting for confirmation (thesis §6.4).
 *
 * A read arriving while heartbeat round r is the latest sent is tagged r+1: it may be
 * served at the commit index it saw once a majority has answered a round >= r+1,
 * because those answers prove nobody had replaced this leader when the read arrived.
 * Every read that arrives during one round rides the next round together, so a
 * burst of reads costs one round of heartbeats, not one each.
 */
import type { LogIndex, NodeId } from './types.js';

export interface PendingRead {
  readonly readId: string;
  /** Who asked: the leader itself, or the follower that forwarded it. */
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly seq: number;
}

export class ReadIndexQueue {
  private readonly reads: PendingRead[] = [];

  get length(): number {
    return this.reads.length;
  }

  enqueue(read: PendingRead): void {
    this.reads.push(read);
  }

  /** Removes and returns the reads confirmed by a majority having answered round `seq`. */
  release(confirmedSeq: number): PendingRead[] {
    let count = 0;
    while (count < this.reads.length && (this.reads[count] as PendingRead).seq <= confirmedSeq) count++;
    return this.reads.splice(0, count);
  }

  /** Whether some read waits for a round later than `seq`. */
  waitsAfter(seq: number): boolean {
    const newest = this.reads[this.reads.length - 1];
    return newest !== undefined && newest.seq > seq;
  }

  clear(): void {
    this.reads.length = 0;
  }
}
