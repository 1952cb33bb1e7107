/**
 * Linearizable reads that arrive in one turn of the event loop share one ReadIndex
 * (thesis §6.4), as etcd's reads share its linearizableReadLoop's: the replica asks the
 * core once for all of them when it next takes a Ready. Before, each read was a request
 * of its own: on a follower a `readIndex` message to the leader and a
 * `readIndexResponse` back per read, on the leader an entry per read in the core's
 * queue.
 *
 * Sharing is safe because the one ReadIndex is asked after every read of the batch
 * arrived: the leader records its commit index on receiving it (or, on the leader, when
 * it is asked), which covers every write acknowledged before any of those reads began.
 */
import type { KeelError } from './errors.js';

export interface BatchedRead {
  readonly deadlineMs: number;
  readonly resolve: () => void;
  readonly reject: (error: KeelError) => void;
  /** A read that met no leader waits for an election once; on its second try it fails. */
  readonly mayWaitForLeader: boolean;
}

export class ReadBatch {
  private reads: BatchedRead[] = [];

  get size(): number {
    return this.reads.length;
  }

  /** Adds a read to the batch; true when it is the first (the caller schedules the ask). */
  join(read: BatchedRead): boolean {
    this.reads.push(read);
    return this.reads.length === 1;
  }

  /** The reads to ask for now; the batch starts empty again. */
  take(): BatchedRead[] {
    const reads = this.reads;
    this.reads = [];
    return reads;
  }

  rejectAll(error: KeelError): void {
    for (const read of this.take()) read.reject(error);
  }
}

/** One waiter for the whole batch: the earliest deadline, every read settled together. */
export function asOneRead(reads: readonly BatchedRead[]): { deadlineMs: number; resolve: () => void; reject: (error: KeelError) => void } {
  let deadlineMs = Number.POSITIVE_INFINITY;
  for (const read of reads) deadlineMs = Math.min(deadlineMs, read.deadlineMs);
  return {
    deadlineMs,
    resolve: () => {
      for (const read of reads) read.resolve();
    },
    reject: (error) => {
      for (const read of reads) read.reject(error);
    },
  };
}
