/**
 * Requests waiting for the log: writes until their entry applies, reads until their
 * ReadIndex comes back and the state machine catches up to it. Each has a deadline;
 * the node's tick sweeps expired ones.
 */
import type { LogIndex, NodeId } from '../raft/index.js';
import { KeelError } from './errors.js';

interface Waiter<T> {
  readonly deadlineMs: number;
  readonly resolve: (value: T) => void;
  readonly reject: (error: KeelError) => void;
}

export interface PendingWrite<T> extends Waiter<T> {
  /** Where the leader appended it (undefined when forwarded to another leader). */
  readonly index: LogIndex | undefined;
  /** The size of its log entry, counted against the node's bound on bytes in flight. */
  readonly bytes: number;
  /** The leader a follower forwarded it to (0 when this node appended it as leader). */
  readonly forwardedTo: NodeId;
}

export class PendingWrites<T> {
  private readonly byId = new Map<string, PendingWrite<T>>();
  /** Leader-local writes by log index, to notice when another entry took their place. */
  private readonly byIndex = new Map<LogIndex, string>();
  private bytesWaiting = 0;

  get size(): number {
    return this.byId.size;
  }

  /** The entry bytes of every write waiting. */
  get bytes(): number {
    return this.bytesWaiting;
  }

  add(requestId: string, write: PendingWrite<T>): void {
    this.byId.set(requestId, write);
    this.bytesWaiting += write.bytes;
    if (write.index !== undefined) this.byIndex.set(write.index, requestId);
  }

  /** The entry at `index` applied, carrying `requestId` (or none). */
  applied(index: LogIndex, requestId: string | undefined, result: () => T): void {
    const expected = this.byIndex.get(index);
    if (expected !== undefined) {
      this.byIndex.delete(index);
      if (expected !== requestId) {
        // Another leader's entry took this index: ours was truncated and never applies.
        this.take(expected)?.reject(new KeelError('LEADER_CHANGED', 'leadership changed before the write committed; it was not applied', 'not-applied'));
      }
    }
    if (requestId !== undefined) this.take(requestId)?.resolve(result());
  }

  expire(nowMs: number): void {
    for (const [id, write] of this.byId) {
      if (write.deadlineMs <= nowMs) {
        this.take(id)?.reject(new KeelError('TIMEOUT', 'the write timed out; it may or may not have been applied', 'unknown'));
      }
    }
  }

  rejectAll(error: KeelError): void {
    for (const id of [...this.byId.keys()]) this.take(id)?.reject(error);
  }

  /**
   * The leader is now `leader`: writes forwarded to another leader may have been lost
   * with it (a forward is dropped without a word by a leader that died or stepped
   * down). Whether they will still apply cannot be known (a forward may yet bounce
   * to the new leader), so they fail now with an unknown outcome rather than wait for
   * their deadline: the client retries at once (exactly once with a session).
   */
  leaderChanged(leader: NodeId): void {
    for (const [id, write] of [...this.byId]) {
      if (write.index === undefined && write.forwardedTo !== leader) {
        this.take(id)?.reject(
          new KeelError(
            'LEADER_CHANGED',
            `the write was forwarded to node ${write.forwardedTo}, which is no longer the leader; it may or may not have been applied`,
            'unknown',
          ),
        );
      }
    }
  }

  private take(requestId: string): PendingWrite<T> | undefined {
    const write = this.byId.get(requestId);
    if (!write) return undefined;
    this.byId.delete(requestId);
    this.bytesWaiting -= write.bytes;
    if (write.index !== undefined && this.byIndex.get(write.index) === requestId) this.byIndex.delete(write.index);
    return write;
  }
}

export type PendingRead = Waiter<void>;

export class PendingReads {
  /** Waiting for the leader to confirm a read index. */
  private readonly unconfirmed = new Map<string, PendingRead>();
  /** Confirmed, waiting for the state machine to apply up to their index (sorted by index). */
  private readonly confirmed: { index: LogIndex; read: PendingRead }[] = [];

  get size(): number {
    return this.unconfirmed.size + this.confirmed.length;
  }

  add(readId: string, read: PendingRead): void {
    this.unconfirmed.set(readId, read);
  }

  confirm(readId: string, index: LogIndex, appliedIndex: LogIndex): void {
    const read = this.unconfirmed.get(readId);
    if (!read) return;
    this.unconfirmed.delete(readId);
    if (index <= appliedIndex) {
      read.resolve();
      return;
    }
    let at = this.confirmed.length;
    while (at > 0 && (this.confirmed[at - 1] as { index: LogIndex }).index > index) at--;
    this.confirmed.splice(at, 0, { index, read });
  }

  appliedTo(appliedIndex: LogIndex): void {
    while (this.confirmed.length > 0 && (this.confirmed[0] as { index: LogIndex }).index <= appliedIndex) {
      (this.confirmed.shift() as { read: PendingRead }).read.resolve();
    }
  }

  expire(nowMs: number): void {
    const timeout = (): KeelError => new KeelError('TIMEOUT', 'the read timed out waiting for the leader to confirm it; it is safe to retry');
    for (const [id, read] of this.unconfirmed) {
      if (read.deadlineMs <= nowMs) {
        this.unconfirmed.delete(id);
        read.reject(timeout());
      }
    }
    for (let i = this.confirmed.length - 1; i >= 0; i--) {
      const item = this.confirmed[i] as { read: PendingRead };
      if (item.read.deadlineMs <= nowMs) {
        this.confirmed.splice(i, 1);
        item.read.reject(timeout());
      }
    }
  }

  rejectAll(error: KeelError): void {
    for (const read of this.unconfirmed.values()) read.reject(error);
    this.unconfirmed.clear();
    for (const { read } of this.confirmed.splice(0)) read.reject(error);
  }
}
