/**
 * When this node sent its heartbeat rounds, so that a leader knows how recently a
 * majority confirmed it still led: the leader lease its in-memory lease renewals rest
 * on (thesis §6.4.1; node-leases.ts says why it is safe).
 *
 * A round is dated when its first heartbeat leaves this node (a round sent again keeps
 * its first date): before any follower received it, so a lease counted from that date
 * never lasts longer than it should. The core numbers rounds once for the node's lifetime
 * (RaftNode.leadershipConfirmed), so a round of an earlier leadership is never taken
 * for one of this one. Rounds no majority answers (a leader cut off) are forgotten past
 * `roundsMax`; a forgotten round confirmed later has no date, and no lease comes of it.
 */
interface DatedRound {
  readonly round: number;
  readonly sentMs: number;
}

export class LeadershipRounds {
  /** Rounds sent and not yet known to be confirmed, oldest first. */
  private readonly unconfirmed: DatedRound[] = [];
  private newestConfirmed: DatedRound | undefined;

  constructor(private readonly roundsMax = 64) {}

  /** A heartbeat of `round` is being sent now. */
  sent(round: number, nowMs: number): void {
    const newest = this.unconfirmed[this.unconfirmed.length - 1] ?? this.newestConfirmed;
    if (newest !== undefined && newest.round >= round) return;
    this.unconfirmed.push({ round, sentMs: nowMs });
    if (this.unconfirmed.length > this.roundsMax) this.unconfirmed.shift();
  }

  /** When `round`, which a majority has answered, was sent; undefined if it was never dated or is forgotten. */
  sentAt(round: number): number | undefined {
    while (this.unconfirmed.length > 0 && (this.unconfirmed[0] as DatedRound).round <= round) this.newestConfirmed = this.unconfirmed.shift();
    return this.newestConfirmed?.round === round ? this.newestConfirmed.sentMs : undefined;
  }
}
