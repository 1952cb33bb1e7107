/**
 * What one HTTP/2 connection's calls hold of requests still arriving, bounded: a
 * message begun counts the length its prefix announced, and a unary call's whole
 * message counts until the client ends its side (until then no handler has it).
 *
 * A call whose bytes do not fit waits, its stream paused: Node then stops giving that
 * stream flow-control credit, so the client can send it at most one stream window
 * (64 KiB) more, and the call goes on once earlier calls' messages have reached their
 * handlers. Waiting, not refusing, is what lets a client interleave many large puts
 * on one connection (the write budget, connection-budget.ts, decides which are taken).
 * Node still credits the connection as a whole for every byte it reads, so the calls
 * holding the budget always receive the rest of their messages: no call waits on a
 * paused one.
 *
 * A connection holding nothing is let one message through however large (the request
 * limit bounds it), the rule every byte bound in Keel follows; calls wait in order.
 */
export class ArrivingBytes {
  private held = 0;
  private readonly waiting: ArrivingShare[] = [];

  constructor(readonly bytesMax: number) {}

  /** A call's share, holding nothing yet; `onGranted` runs when a wait of its ends. */
  share(onGranted: () => void): ArrivingShare {
    return new ArrivingShare(this, onGranted);
  }

  /** Bytes held now by every call of the connection. */
  get heldBytes(): number {
    return this.held;
  }

  /** Calls waiting, unread, for theirs. */
  get waitingCalls(): number {
    return this.waiting.length;
  }

  /** @internal Sets `share` to hold `bytes`: at once if it fits, else once earlier ones are done. */
  change(share: ArrivingShare, bytes: number): boolean {
    this.leaveQueue(share);
    // Less is a release. More is a new message: what the share held has reached its
    // handler, so it is given up first; keeping it while waiting could wait on calls
    // that wait on it. A share that waits or is granted so holds nothing before.
    const kept = bytes <= share.held ? bytes : 0;
    this.held -= share.held - kept;
    share.held = kept;
    this.grantWaiting();
    if (kept === bytes) return true;
    share.wanted = bytes;
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.grant(share);
      return true;
    }
    this.waiting.push(share);
    return false;
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.bytesMax;
  }

  private grant(share: ArrivingShare): void {
    this.held += share.wanted;
    share.held = share.wanted;
  }

  private grantWaiting(): void {
    for (;;) {
      const next = this.waiting[0];
      if (next === undefined || !this.fits(next.wanted)) return;
      this.waiting.shift();
      this.grant(next);
      next.granted();
    }
  }

  private leaveQueue(share: ArrivingShare): void {
    const at = this.waiting.indexOf(share);
    if (at >= 0) this.waiting.splice(at, 1);
  }
}

/** One call's part of a connection's ArrivingBytes. */
export class ArrivingShare {
  /** @internal */ held = 0;
  /** @internal What a waiting share waits to hold. */ wanted = 0;

  constructor(
    private readonly budget: ArrivingBytes,
    /** @internal */ readonly granted: () => void,
  ) {}

  /** Holds `bytes` from now: true when held at once; false when the call must wait, until `granted` runs. */
  hold(bytes: number): boolean {
    return this.budget.change(this, bytes);
  }

  /** Holds nothing any more, waiting included. */
  release(): void {
    this.budget.change(this, 0);
  }
}
