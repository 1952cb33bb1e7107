/**
 * The bounded queue of encoded messages waiting to be written to one peer.
 *
 * When it is full, the OLDEST message is dropped to make room. Raft tolerates lost
 * messages (the leader retries appends and heartbeats, candidates retry elections),
 * and the newest messages are the useful ones: they carry the current term and
 * commit index, the latest heartbeat round and the appends the follower will need
 * next, while the oldest are the most likely to be stale (an old term's votes, appends
 * the leader has since resent). Keeping the oldest would make a peer that comes back
 * first chew through a backlog of obsolete traffic.
 *
 * Two limits, both counted: messages (`messagesMax`) and payload bytes (`bytesMax`),
 * so a queue of large appends cannot hold gigabytes. A single message is always
 * accepted (the transport never enqueues one larger than a frame, and `bytesMax` is
 * at least a frame).
 */
import { assert } from '../lib/index.js';

export interface PeerQueueOptions {
  readonly messagesMax: number;
  readonly bytesMax: number;
}

/** What the queue holds: anything with a size in bytes (a frame's payload). */
export interface Sized {
  readonly length: number;
}

export class PeerQueue<T extends Sized> {
  private readonly messagesMax: number;
  private readonly bytesMax: number;
  /** A ring buffer: `length` items from `head`. */
  private readonly items: (T | undefined)[];
  private head = 0;
  private length = 0;
  private byteCount = 0;

  constructor(options: PeerQueueOptions) {
    assert(Number.isSafeInteger(options.messagesMax) && options.messagesMax >= 1, () => `messagesMax must be a positive integer, got ${options.messagesMax}`);
    assert(Number.isSafeInteger(options.bytesMax) && options.bytesMax >= 1, () => `bytesMax must be a positive integer, got ${options.bytesMax}`);
    this.messagesMax = options.messagesMax;
    this.bytesMax = options.bytesMax;
    this.items = new Array<T | undefined>(options.messagesMax);
  }

  get size(): number {
    return this.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Appends `payload`; returns how many of the oldest messages were dropped for it. */
  push(payload: T): number {
    assert(payload.length <= this.bytesMax, () => `a ${payload.length}-byte message can never fit a queue of ${this.bytesMax} bytes`);
    let dropped = 0;
    while (this.length === this.messagesMax || (this.length > 0 && this.byteCount + payload.length > this.bytesMax)) {
      this.shift();
      dropped++;
    }
    this.items[(this.head + this.length) % this.messagesMax] = payload;
    this.length++;
    this.byteCount += payload.length;
    return dropped;
  }

  /** Removes and returns the oldest messages, at least one (if any) and then as many
   * as fit in `bytesMax` bytes. */
  take(bytesMax: number): T[] {
    const taken: T[] = [];
    let bytes = 0;
    while (this.length > 0) {
      const next = this.items[this.head] as T;
      if (taken.length > 0 && bytes + next.length > bytesMax) break;
      taken.push(this.shift());
      bytes += next.length;
    }
    return taken;
  }

  /** Empties the queue; returns how many messages it held. */
  clear(): number {
    const count = this.length;
    while (this.length > 0) this.shift();
    return count;
  }

  private shift(): T {
    assert(this.length > 0, 'shift from an empty queue');
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.messagesMax;
    this.length--;
    this.byteCount -= item.length;
    return item;
  }
}
