/**
 * The lessor: in-memory lease deadlines, on every node, fed by what the log applies.
 * Only the leader acts on them (etcd's lessor does the same: every member keeps the
 * leases, the primary lessor alone expires them):
 *
 *   - a grant or keep-alive applied here sets deadline = now + TTL, on this node's
 *     monotonic clock (never a wall clock, which may jump);
 *   - the leader also renews in memory, with no log entry (node-leases.ts says when):
 *     deadline = max(deadline, arrival + TTL), `arrival` being when the keep-alive
 *     reached this node. Followers never hear of such a renewal, which is safe because
 *     only the leader expires leases and a new leader starts every TTL afresh;
 *   - on becoming leader every lease gets a fresh full TTL (etcd's lessor.Promote): the
 *     new leader cannot know when the old one last renewed, and a client keeping its
 *     lease alive must not lose it to a leader change. A lease may live up to one TTL
 *     (plus the election) longer than it would have; it never dies sooner;
 *   - the leader proposes a revoke for each lease past its deadline, conditional on the
 *     renewal it saw (kv/lease-executor.ts): a keep-alive already in the log before the
 *     revoke wins, so an acknowledged keep-alive is never undone by an expiry decided
 *     earlier.
 *
 * Followers' deadlines are estimates (they apply the same entries a moment after the
 * leader); they answer TimeToLive without a round trip to the leader.
 *
 * Time is passed in (milliseconds); this file reads no clock.
 */
import type { Lease } from '../kv/index.js';

interface Tracked {
  readonly ttlMs: number;
  readonly renewedIndex: number;
  deadlineMs: number;
  /** When the leader last proposed this lease's expiry (not yet applied). */
  expiryProposedAtMs: number | undefined;
}

export interface Expiry {
  readonly id: number;
  readonly renewedIndex: number;
}

export class Lessor {
  private readonly leases = new Map<number, Tracked>();

  constructor(
    /** An expiry proposal not applied after this long (lost to a leader change) is proposed again. */
    private readonly expiryRetryMs: number,
  ) {}

  get size(): number {
    return this.leases.size;
  }

  /** Starts over from the store's leases (at start, after a snapshot install), each with a full TTL. */
  reset(leases: readonly Lease[], nowMs: number): void {
    this.leases.clear();
    for (const lease of leases) this.renewed(lease, nowMs);
  }

  /** A grant or a keep-alive applied. */
  renewed(lease: Lease, nowMs: number): void {
    const ttlMs = lease.ttl * 1000;
    this.leases.set(lease.id, { ttlMs, renewedIndex: lease.renewedIndex, deadlineMs: nowMs + ttlMs, expiryProposedAtMs: undefined });
  }

  revoked(id: number): void {
    this.leases.delete(id);
  }

  /**
   * The leader renews `id` in memory for a keep-alive that arrived at `arrivedMs`;
   * returns the lease's TTL in seconds, or undefined when it cannot be renewed here:
   * unknown (the store answers LEASE_NOT_FOUND), or with an expiry proposed and not yet
   * applied. The keep-alive must then go through the log, which orders it against
   * that revoke (kv/lease-executor.ts), so a renewal is never answered and undone.
   */
  renewInMemory(id: number, arrivedMs: number): number | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.expiryProposedAtMs !== undefined) return undefined;
    lease.deadlineMs = Math.max(lease.deadlineMs, arrivedMs + lease.ttlMs);
    return lease.ttlMs / 1000;
  }

  /**
   * This node became leader: every lease starts a full TTL now, and `extensionMs` more,
   * so that no renewal an earlier leader answered runs out later than here
   * (node-leases.ts, leaseExtensionMs).
   */
  promote(nowMs: number, extensionMs: number): void {
    for (const lease of this.leases.values()) {
      lease.deadlineMs = nowMs + lease.ttlMs + extensionMs;
      lease.expiryProposedAtMs = undefined;
    }
  }

  /** Seconds left, rounded up (etcd's TTL in LeaseTimeToLive), or undefined for an unknown lease. */
  remainingSeconds(id: number, nowMs: number): number | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    return Math.max(0, Math.ceil((lease.deadlineMs - nowMs) / 1000));
  }

  /**
   * Leases past their deadline whose expiry is not already on its way, at most `max`
   * (etcd bounds revokes per second the same way, so a mass expiry does not flood the
   * log); each returned one counts as proposed now.
   */
  takeExpired(nowMs: number, max: number): Expiry[] {
    const out: Expiry[] = [];
    for (const [id, lease] of this.leases) {
      if (out.length >= max) break;
      if (lease.deadlineMs > nowMs) continue;
      if (lease.expiryProposedAtMs !== undefined && nowMs - lease.expiryProposedAtMs < this.expiryRetryMs) continue;
      lease.expiryProposedAtMs = nowMs;
      out.push({ id, renewedIndex: lease.renewedIndex });
    }
    return out;
  }
}
